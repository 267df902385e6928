/**
 * Each schedule's work in process, on a real database: what a cut-off hands over, the daily
 * snapshot, the scheduled rebalance check, the backups' freshness read from a Pushgateway's text;
 * and a slot delivered late is superseded by the newest due one.
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { DEFAULT_RISK_POLICY } from "@paimon/core/fund";
import { createLogger } from "@paimon/core/logger";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createWorkerMetrics } from "../metrics";
import { commitHistory, REDIS_URL, testQueues, workerEnv } from "../testing";
import { lastBackupSuccesses, scheduledJobs, type JobSettings } from "./jobs";
import { runSlot } from "./runs";
import { createScheduler } from "./scheduler";

const logger = createLogger({ service: "test", environment: "test", stream: new PassThrough() });
const NOW = new Date("2026-12-01T12:00:00Z");
const settings = (overrides: Partial<JobSettings> = {}): JobSettings => ({
  policy: DEFAULT_RISK_POLICY,
  rebalanceDrift: "0.02",
  pushgatewayUrl: undefined,
  backupMaxAgeSeconds: { postgres: 26 * 3600, secrets: 26 * 3600, timescaledb: 26 * 3600, redis: 75 * 60 },
  now: () => NOW,
  ...overrides,
});

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  for (const table of ["schedule_runs", "outbox", "rebalance_executions", "redemptions"] as const) {
    await database.db.deleteFrom(table).execute();
  }
});

const run = (schedule: keyof ReturnType<typeof scheduledJobs>, slot: Date, jobSettings = settings()) =>
  runSlot(database.db, schedule, slot, (trx) =>
    scheduledJobs(jobSettings)[schedule]({ trx, slot, metricsDb: database.metricsDb, logger }),
  );

describe("the settlement cut-off", () => {
  it("then the standard redemptions requested before it are handed over as one job, once", async () => {
    const redemption = (id: string, channel: "instant" | "standard", status: "requested" | "settled", at: string) => ({
      id,
      chain_id: 31337,
      owner: `0x${"ab".repeat(20)}`,
      shares: "10",
      assets: "10.5",
      channel,
      status,
      requested_block: "1",
      requested_tx: "0x",
      created_at: new Date(at),
    });
    await database.db
      .insertInto("redemptions")
      .values([
        redemption("1", "standard", "requested", "2026-11-30T10:00:00Z"),
        redemption("2", "standard", "requested", "2026-11-30T15:59:59Z"),
        redemption("3", "standard", "requested", "2026-11-30T16:00:01Z"),
        redemption("4", "instant", "requested", "2026-11-30T10:00:00Z"),
        redemption("5", "standard", "settled", "2026-11-30T10:00:00Z"),
      ])
      .execute();
    const slot = new Date("2026-11-30T16:00:00Z");
    expect(await run("settlement-cutoff", slot)).toMatchObject({
      outcome: "ran",
      result: { redemptions: 2, assets: "21.000000000000000000" },
    });
    expect(await run("settlement-cutoff", slot)).toEqual({ outcome: "already_ran" });
    const outbox = await database.db.selectFrom("outbox").selectAll().execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      queue: "settlements",
      job_id: `cutoff-${String(slot.getTime())}`,
      payload: { kind: "cutoff", cutoffAt: slot.toISOString(), redemptions: 2, assets: "21.000000000000000000" },
    });
  });

  it("when its work fails, then the slot's run row rolls back with it and the slot can run again", async () => {
    const slot = new Date("2026-11-29T16:00:00Z");
    await expect(
      runSlot(database.db, "settlement-cutoff", slot, () => Promise.reject(new Error("database hiccup"))),
    ).rejects.toThrow("database hiccup");
    expect(await run("settlement-cutoff", slot)).toMatchObject({ outcome: "ran" });
  });
});

describe("the daily snapshot and the rebalance check", () => {
  it("then the snapshot records the latest committed block's state once, and a drifted allocation raises one scheduled rebalance", async () => {
    const prefix = workerEnv(database).QUEUE_PREFIX;
    const queues = testQueues(prefix);
    try {
      // L2 at 26 % of NAV: inside its band, but 4 points from its target.
      await commitHistory(database.db, prefix, [{ number: 40, layers: { l1: "100000", l2: "260000", l3: "640000" } }]);
    } finally {
      await queues.clean();
    }
    const slot = new Date("2026-12-01T00:00:00Z");
    expect(await run("fund-snapshot", slot)).toMatchObject({
      outcome: "ran",
      result: { block_number: "40", level: 1 },
    });
    await run("fund-snapshot", slot);
    expect(await database.metricsDb.selectFrom("fund_daily").select(["slot", "nav", "level"]).execute()).toEqual([
      { slot, nav: "1000000.000000000000000000", level: 1 },
    ]);

    const check = await run("rebalance-check", new Date("2026-12-01T06:00:00Z"));
    expect(check.result).toMatchObject({ layer: "L2", drift: "0.040000000000000000" });
    const raised = check.result?.["raised"];
    expect(raised).toEqual(expect.any(String));
    // While that one is open, the next check raises nothing.
    expect((await run("rebalance-check", new Date("2026-12-01T12:00:00Z"))).result).toMatchObject({ raised: null });
    const executions = await database.db.selectFrom("rebalance_executions").selectAll().execute();
    expect(executions).toMatchObject([{ id: raised, trigger: "scheduled", status: "pending" }]);
    expect(executions[0]?.reason).toMatch(/L2 is 0.260000 of NAV, 0.30 is its target/);
    expect(
      await database.db.selectFrom("outbox").select(["queue", "job_id"]).where("queue", "=", "rebalance").execute(),
    ).toEqual([{ queue: "rebalance", job_id: `rebalance-${String(raised)}` }]);
    // Within the allowed drift, nothing is raised.
    await database.db.updateTable("rebalance_executions").set({ status: "succeeded" }).execute();
    const loose = await run("rebalance-check", new Date("2026-12-01T18:00:00Z"), settings({ rebalanceDrift: "0.05" }));
    expect(loose.result).toMatchObject({ raised: null });
  });
});

describe("the backup-freshness check", () => {
  let server: Server;
  let body = "";
  let status = 200;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.writeHead(request.url === "/metrics" ? status : 404, { "content-type": "text/plain" });
      response.end(body);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  });
  afterAll(() => {
    server.close();
  });
  const url = () => `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const at = (secondsAgo: number) => NOW.getTime() / 1000 - secondsAgo;

  it("then each kind's last success is read from the Pushgateway and judged against its maximum age", async () => {
    body = [
      "# TYPE paimon_backup_last_success_timestamp_seconds gauge",
      `paimon_backup_last_success_timestamp_seconds{instance="",job="paimon-backup",kind="postgres"} ${String(at(3600))}`,
      `paimon_backup_last_success_timestamp_seconds{instance="",job="paimon-backup",kind="redis"} ${String(at(2 * 3600))}`,
      `paimon_backup_last_success_timestamp_seconds{job="paimon-backup",kind="secrets"} ${String(at(600))}`,
      'push_time_seconds{job="paimon-backup",kind="postgres"} 1.7e9',
    ].join("\n");
    status = 200;
    const result = await run("backup-freshness", new Date("2026-12-01T11:15:00Z"), settings({ pushgatewayUrl: url() }));
    expect(result.result).toMatchObject({
      checked: true,
      stale: ["redis", "timescaledb"],
      kinds: {
        postgres: { age_seconds: 3600, fresh: true },
        redis: { age_seconds: 7200, max_age_seconds: 4500, fresh: false },
        secrets: { fresh: true },
        timescaledb: { last_success: null, fresh: false },
      },
    });
  });

  it("when the Pushgateway does not answer, then the check fails to be retried, and records nothing", async () => {
    status = 503;
    const slot = new Date("2026-12-01T10:15:00Z");
    await expect(run("backup-freshness", slot, settings({ pushgatewayUrl: url() }))).rejects.toMatchObject({
      code: "pushgateway_unreachable",
      retryable: true,
    });
    expect(await database.db.selectFrom("schedule_runs").selectAll().execute()).toEqual([]);
  });

  it("when no Pushgateway is configured, then the check says it could not look", async () => {
    expect((await run("backup-freshness", new Date("2026-12-01T09:15:00Z"))).result).toMatchObject({ checked: false });
  });

  it("then the exposition parser takes the newest value of each kind and ignores other metrics", () => {
    const text =
      'paimon_backup_last_success_timestamp_seconds{kind="redis"} 5\npaimon_backup_last_success_timestamp_seconds{kind="redis",x="y"} 7\nother{kind="redis"} 9';
    expect(lastBackupSuccesses(text)).toEqual(new Map([["redis", 7]]));
  });
});

describe("a slot delivered after a newer one fell due", () => {
  it("then it is recorded superseded and the newest slot runs in its place, once", async () => {
    const prefix = workerEnv(database).QUEUE_PREFIX;
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queues = testQueues(prefix);
    const pattern = "0 16 * * *";
    const scheduler = createScheduler({
      db: database.db,
      metricsDb: database.metricsDb,
      connection,
      prefix,
      logger,
      metrics: createWorkerMetrics("scheduler", { defaultMetrics: false }).metrics,
      timings: {
        "settlement-cutoff": { pattern, timeZone: "UTC" },
        "fund-snapshot": { pattern, timeZone: "UTC" },
        "rebalance-check": { pattern, timeZone: "UTC" },
        "backup-freshness": { pattern, timeZone: "UTC" },
      },
      jobs: settings(),
      now: () => NOW,
    });
    try {
      const stale = { opts: { prevMillis: Date.parse("2026-11-28T16:00:00Z") } };
      const first = await scheduler.handle({ schedule: "settlement-cutoff" }, stale);
      expect(first).toMatchObject({ slot: "2026-11-30T16:00:00.000Z", outcome: "ran" });
      const again = await scheduler.handle(
        { schedule: "settlement-cutoff", slot: "2026-11-30T16:00:00.000Z" },
        { opts: {} },
      );
      expect(again).toMatchObject({ outcome: "already_ran" });
      const runs = await database.db.selectFrom("schedule_runs").select(["slot", "outcome"]).orderBy("slot").execute();
      expect(runs).toEqual([
        { slot: new Date("2026-11-28T16:00:00Z"), outcome: "superseded" },
        { slot: new Date("2026-11-30T16:00:00Z"), outcome: "ran" },
      ]);
    } finally {
      await scheduler.close();
      await queues.clean();
      connection.disconnect();
    }
  });
});
