import { Migrator, NO_MIGRATIONS, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database";
import { METRICS_MIGRATIONS, MIGRATIONS, migrateMetricsToLatest, migrateToLatest } from "./index";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await database.drop();
});

describe("migrations", () => {
  it("when applied to an empty database, then every table exists", async () => {
    const result = await migrateToLatest(database.db);
    expect(result.results?.map((r) => [r.migrationName, r.status])).toEqual(
      Object.keys(MIGRATIONS).map((name) => [name, "Success"]),
    );
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(
      database.db,
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual([
      "chain_blocks",
      "chain_events",
      "fund_snapshots",
      "outbox",
      "rebalance_executions",
      "rebalance_legs_confirmed",
      "redemptions",
      "schedule_runs",
      "signer_lanes",
      "sync_checkpoints",
      "tx_attempts",
      "tx_intents",
    ]);
  });

  it("when run again, then nothing is applied and nothing fails", async () => {
    const result = await migrateToLatest(database.db);
    expect(result.results).toEqual([]);
  });

  it("when rolled all the way back, then every migration reverses, and applying again succeeds", async () => {
    const migrator = new Migrator({
      db: database.db,
      provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) },
    });
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => r.status)).toEqual(Object.keys(MIGRATIONS).map(() => "Success"));
    const again = await migrateToLatest(database.db);
    expect(again.results?.map((r) => r.migrationName)).toEqual(Object.keys(MIGRATIONS));
  });

  it("then time series have a time index where TimescaleDB is absent", async () => {
    const indexes = await sql<{ indexname: string }>`
      select indexname from pg_indexes where tablename = 'fund_snapshots' order by 1`.execute(database.db);
    const hasTimescale = await sql<{
      present: boolean;
    }>`select exists (select 1 from pg_extension where extname = 'timescaledb') as present`.execute(database.db);
    if (!hasTimescale.rows[0]?.present) {
      expect(indexes.rows.map((row) => row.indexname)).toEqual(expect.arrayContaining(["fund_snapshots_time"]));
    }
  });

  it("when the metrics migrations run on the same database, then they keep to the metrics schema, twice over", async () => {
    const first = await migrateMetricsToLatest(database.metricsDb);
    expect(first.results?.map((r) => [r.migrationName, r.status])).toEqual(
      Object.keys(METRICS_MIGRATIONS).map((name) => [name, "Success"]),
    );
    expect((await migrateMetricsToLatest(database.metricsDb)).results).toEqual([]);
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'metrics' and table_name not like 'kysely_%' order by 1`.execute(
      database.db,
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(["assessed_blocks", "fund_daily", "risk_assessments"]);
    const migrator = new Migrator({
      db: database.metricsDb,
      migrationTableSchema: "metrics",
      provider: { getMigrations: () => Promise.resolve({ ...METRICS_MIGRATIONS }) },
    });
    expect((await migrator.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
    expect((await migrateMetricsToLatest(database.metricsDb)).results?.map((r) => r.status)).toEqual(["Success"]);
  });

  it("then an event is stored once: the same chain, block hash and log index is refused", async () => {
    const event = {
      chain_id: 56,
      block_number: "100",
      block_hash: "0xabc",
      log_index: 0,
      tx_hash: "0xdef",
      event_type: "Deposit",
      payload: JSON.stringify({ assets: "1" }),
    };
    await database.db.insertInto("chain_events").values(event).execute();
    const again = await database.db
      .insertInto("chain_events")
      .values(event)
      .onConflict((c) => c.doNothing())
      .executeTakeFirst();
    expect(again.numInsertedOrUpdatedRows).toBe(0n);
  });

  it("then amounts keep every digit: NUMERIC in, decimal strings out", async () => {
    await database.db
      .insertInto("fund_snapshots")
      .values({
        recorded_at: new Date("2026-01-01T00:00:00Z"),
        block_number: "1",
        nav: "123456789012345678901234.123456789012345678",
        l1_value: "1",
        l2_value: "2",
        l3_value: "3",
      })
      .execute();
    const row = await database.db
      .selectFrom("fund_snapshots")
      .select(["nav", "block_number"])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ nav: "123456789012345678901234.123456789012345678", block_number: "1" });
  });

  it("then a redemption's channel and status are constrained", async () => {
    await expect(
      database.db
        .insertInto("redemptions")
        .values({
          id: "1",
          chain_id: 56,
          owner: "0x1",
          shares: "1",
          assets: "1",
          channel: "express" as "instant",
          status: "requested",
          requested_block: "1",
          requested_tx: "0x",
        })
        .execute(),
    ).rejects.toThrow(/redemptions_channel_check|check constraint/);
  });
});
