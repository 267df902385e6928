import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database";
import { DEMO_CHECKPOINT, loadDemoFund } from "./demo";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const AS_OF = new Date("2026-03-01T12:00:00.000Z");

async function counts() {
  const db = database.db;
  const assessments = await database.metricsDb
    .selectFrom("risk_assessments")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  const count = async (table: "fund_snapshots" | "redemptions" | "rebalance_executions") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    snapshots: await count("fund_snapshots"),
    riskAssessments: Number(assessments.n),
    redemptions: await count("redemptions"),
    rebalances: await count("rebalance_executions"),
  };
}

async function everyRow() {
  const db = database.db;
  return {
    snapshots: await db.selectFrom("fund_snapshots").selectAll().orderBy("id").execute(),
    risk: await database.metricsDb.selectFrom("risk_assessments").selectAll().orderBy("assessed_at").execute(),
    redemptions: await db.selectFrom("redemptions").selectAll().orderBy("id").execute(),
    rebalances: await db.selectFrom("rebalance_executions").selectAll().orderBy("id").execute(),
    checkpoints: await db.selectFrom("sync_checkpoints").selectAll().execute(),
  };
}

const latestSnapshot = () =>
  database.db
    .selectFrom("fund_snapshots")
    .selectAll()
    .orderBy("recorded_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirstOrThrow();

describe("loadDemoFund", () => {
  it("when loaded into an empty database, then it reports and holds two weeks of a ~10 M fund", async () => {
    const loaded = await loadDemoFund(database.db, database.metricsDb, { asOf: AS_OF });
    expect(loaded).toMatchObject({ asOf: AS_OF, snapshots: 336, redemptions: 2000, rebalances: 6 });
    expect(await counts()).toEqual({
      snapshots: loaded.snapshots,
      riskAssessments: loaded.riskAssessments,
      redemptions: loaded.redemptions,
      rebalances: loaded.rebalances,
    });
  });

  it("when loaded again with the same options, then every row is the same", async () => {
    const before = await everyRow();
    await loadDemoFund(database.db, database.metricsDb, { asOf: AS_OF });
    expect(await everyRow()).toEqual(before);
  });

  it("then the latest snapshot's layers sum to NAV and sit near 10/30/60 %", async () => {
    const latest = await latestSnapshot();
    expect(latest.recorded_at).toEqual(AS_OF);
    const exact = await sql<{ sums: boolean }>`
      select l1_value + l2_value + l3_value = nav as sums from fund_snapshots where id = ${latest.id}`.execute(
      database.db,
    );
    expect(exact.rows[0]?.sums).toBe(true);
    const nav = Number(latest.nav);
    expect(nav).toBeGreaterThan(9_500_000);
    expect(nav).toBeLessThan(10_500_000);
    expect(Number(latest.l1_value) / nav).toBeCloseTo(0.1, 1);
    expect(Number(latest.l2_value) / nav).toBeCloseTo(0.3, 1);
    expect(Number(latest.l3_value) / nav).toBeCloseTo(0.6, 1);
    const unbalanced = await sql<{ n: string }>`
      select count(*) as n from fund_snapshots where l1_value + l2_value + l3_value <> nav`.execute(database.db);
    expect(unbalanced.rows[0]?.n).toBe("0");
  });

  it("then the checkpoint is at the latest snapshot's block and time", async () => {
    const latest = await latestSnapshot();
    const checkpoint = await database.db
      .selectFrom("sync_checkpoints")
      .selectAll()
      .where("name", "=", DEMO_CHECKPOINT)
      .executeTakeFirstOrThrow();
    expect(checkpoint).toMatchObject({ chain_id: 56, block_number: latest.block_number, updated_at: AS_OF });
    expect(checkpoint.block_hash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("then redemptions span every status and channel, many owners, with valid addresses and blocks", async () => {
    const byKind = await database.db
      .selectFrom("redemptions")
      .select(["status", "channel", (eb) => eb.fn.countAll<string>().as("n")])
      .groupBy(["status", "channel"])
      .execute();
    const kinds = new Set(byKind.map((row) => `${row.status}/${row.channel}`));
    for (const kind of ["settled/instant", "settled/standard", "requested/standard", "cancelled/standard"])
      expect(kinds).toContain(kind);
    const rows = await database.db.selectFrom("redemptions").selectAll().execute();
    expect(new Set(rows.map((row) => row.owner)).size).toBeGreaterThan(100);
    for (const row of rows) {
      expect(row.owner).toMatch(/^0x[0-9a-f]{40}$/);
      expect(row.resolved_block === null).toBe(row.status === "requested");
      if (row.resolved_block !== null) expect(BigInt(row.resolved_block)).toBeGreaterThan(BigInt(row.requested_block));
      expect(row.created_at.getTime()).toBeLessThanOrEqual(AS_OF.getTime());
    }
  });

  it("then risk assessments give reasons, and the L1 dip raised the level", async () => {
    const assessments = await database.metricsDb.selectFrom("risk_assessments").selectAll().execute();
    for (const assessment of assessments) expect(assessment.reasons.length).toBeGreaterThanOrEqual(1);
    const dip = assessments.filter((a) => a.reasons.some((r) => r.rule === "l1_ratio_low"));
    expect(dip.length).toBeGreaterThan(0);
    for (const a of dip) {
      expect(a.level).toBeGreaterThanOrEqual(2);
      expect(Number(a.l1_ratio)).toBeLessThan(0.08);
    }
    const latest = await database.metricsDb
      .selectFrom("risk_assessments")
      .selectAll()
      .orderBy("assessed_at", "desc")
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(latest.assessed_at).toEqual(AS_OF);
    // The dip is over: L1 is back above its line (what still waits on it may keep the level raised).
    expect(latest.reasons.map((r) => r.rule)).not.toContain("l1_ratio_low");
    expect(latest.level).toBeLessThan(3);
  });

  it("when loaded again at another time, then the counts stay and the checkpoint is fresh", async () => {
    const before = await counts();
    const loaded = await loadDemoFund(database.db, database.metricsDb);
    expect(await counts()).toEqual(before);
    const checkpoint = await database.db.selectFrom("sync_checkpoints").select("updated_at").executeTakeFirstOrThrow();
    expect(Date.now() - checkpoint.updated_at.getTime()).toBeLessThan(60_000);
    expect((await latestSnapshot()).block_number).toBe(loaded.latestBlock);
  });

  it("when asked for no redemptions, then it refuses before writing", async () => {
    await expect(loadDemoFund(database.db, database.metricsDb, { redemptions: 0 })).rejects.toThrow(/positive integer/);
  });
});
