/**
 * The risk monitor in process, on a real database: what a notice stores and exports, a replay, an
 * orphaned block, a backlog of older notices, the threshold intent (one while open), and the
 * redemption totals counted only up to the final block.
 */
import { PassThrough } from "node:stream";
import { DEFAULT_RISK_POLICY } from "@paimon/core/fund";
import { createLogger } from "@paimon/core/logger";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { sampleValue } from "@paimon/core/testing/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkerMetrics } from "../metrics";
import { blockHash, commitHistory, testQueues, TEST_CHAIN_ID, workerEnv } from "../testing";
import { rollBack } from "@paimon/event-listener/store";
import { raiseRebalance } from "../rebalance/intents";
import { createRiskMonitor } from "./risk-monitor";

const logger = createLogger({ service: "test", environment: "test", stream: new PassThrough() });
let database: TestDatabase;
let prefix: string;
let queues: ReturnType<typeof testQueues>;
beforeAll(async () => {
  database = await createTestDatabase();
  prefix = workerEnv(database).QUEUE_PREFIX;
  queues = testQueues(prefix);
});
afterAll(async () => {
  await queues.clean();
  await database.drop();
});

const monitorWith = () => {
  const { registry, metrics } = createWorkerMetrics("risk", { defaultMetrics: false });
  const monitor = createRiskMonitor({
    db: database.db,
    metricsDb: database.metricsDb,
    logger,
    metrics,
    policy: DEFAULT_RISK_POLICY,
  });
  return { monitor, scrape: () => registry.metrics() };
};
const notice = (number: number) => ({
  chainId: TEST_CHAIN_ID,
  blockNumber: String(number),
  blockHash: blockHash(number),
});
const thresholdIntents = () =>
  database.db.selectFrom("rebalance_executions").selectAll().where("trigger", "=", "threshold").execute();

describe("the risk monitor", () => {
  it("when a block's notice comes, then its assessment is stored once with its reasons, and the gauges show it", async () => {
    await commitHistory(database.db, prefix, [
      { number: 10, layers: { l1: "100000", l2: "300000", l3: "600000" } },
      {
        number: 11,
        layers: { l1: "100000", l2: "300000", l3: "600000" },
        requests: [{ id: "1", assets: "20000", channel: "instant" }],
      },
    ]);
    const { monitor, scrape } = monitorWith();
    expect(await monitor.handleNotice(notice(11))).toEqual({ outcome: "assessed", level: 1 });
    expect(await monitor.handleNotice(notice(11))).toEqual({ outcome: "already_assessed", level: 1 });
    const rows = await database.metricsDb.selectFrom("risk_assessments").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      block_number: "11",
      trigger: "block",
      level: 1,
      l1_ratio: "0.100000",
      pending_count: 1,
      redemption_coverage: "5.000000",
      out_of_band: [],
    });
    expect(rows[0]?.reasons.map((reason) => reason.rule)).toEqual(["within_limits"]);
    const text = await scrape();
    expect(sampleValue(text, "paimon_risk_level")).toBe(1);
    expect(sampleValue(text, "paimon_l1_ratio")).toBe(0.1);
    expect(sampleValue(text, "paimon_nav_usd")).toBe(1_000_000);
    expect(sampleValue(text, "paimon_l1_redemption_coverage")).toBe(5);
    expect(sampleValue(text, "paimon_pending_redemptions", { channel: "instant" })).toBe(1);
    expect(sampleValue(text, "paimon_risk_assessments_total", { trigger: "block" })).toBe(1);
  });

  it("when a notice names a block a reorganisation removed, then nothing is assessed", async () => {
    const { monitor } = monitorWith();
    expect(await monitor.handleNotice({ ...notice(11), blockHash: blockHash(11, 7) })).toEqual({ outcome: "orphaned" });
  });

  it("when the allocation leaves its band, then one threshold intent is raised, and no second while it is open", async () => {
    const low = { l1: "40000", l2: "300000", l3: "600000" };
    await commitHistory(database.db, prefix, [
      { number: 12, layers: low },
      { number: 13, layers: low },
    ]);
    const { monitor, scrape } = monitorWith();
    // An older notice handled late changes neither the gauges nor raises anything.
    expect(await monitor.handleNotice(notice(12))).toEqual({ outcome: "assessed", level: 3 });
    expect(await thresholdIntents()).toEqual([]);
    expect(await scrape()).not.toMatch(/^paimon_risk_level/m);
    const raised = await monitor.handleNotice(notice(13));
    expect(raised).toMatchObject({ outcome: "assessed", level: 3, intent: expect.any(String) as string });
    await commitHistory(database.db, prefix, [{ number: 14, layers: low }]);
    expect(await monitor.handleNotice(notice(14))).toEqual({ outcome: "assessed", level: 3 });
    const intents = await thresholdIntents();
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({
      status: "pending",
      idempotency_key: `threshold-${String(TEST_CHAIN_ID)}-${blockHash(13)}`,
    });
    expect(intents[0]?.reason).toMatch(/^block 13: L1 is 4\.26 % of NAV, outside its 8\.00 %–15\.00 % band/);
    expect(sampleValue(await scrape(), "paimon_risk_level")).toBe(3);

    // Once it has run, the next block out of band raises a new one.
    await database.db.updateTable("rebalance_executions").set({ status: "succeeded" }).execute();
    await commitHistory(database.db, prefix, [{ number: 15, layers: low }]);
    expect(await monitor.handleNotice(notice(15))).toMatchObject({ intent: expect.any(String) as string });
    expect(await thresholdIntents()).toHaveLength(2);
  });

  it("when no notice comes, then the latest committed block is assessed on the timer, once", async () => {
    await commitHistory(database.db, prefix, [{ number: 16, layers: { l1: "100000", l2: "300000", l3: "600000" } }]);
    const { monitor, scrape } = monitorWith();
    expect(await monitor.assessLatest()).toMatchObject({ outcome: "assessed" });
    expect(await monitor.assessLatest()).toMatchObject({ outcome: "already_assessed" });
    expect(await monitor.handleNotice(notice(16))).toMatchObject({ outcome: "already_assessed" });
    const row = await database.metricsDb
      .selectFrom("risk_assessments")
      .select(["trigger", "block_number"])
      .where("block_hash", "=", blockHash(16))
      .execute();
    expect(row).toEqual([{ trigger: "timer", block_number: "16" }]);
    expect(sampleValue(await scrape(), "paimon_risk_assessments_total", { trigger: "timer" })).toBe(1);
  });

  it("when a reorganisation orphans an assessed block, then its notice finds it gone and its assessment is forgotten", async () => {
    await commitHistory(database.db, prefix, [{ number: 30, layers: { l1: "100000", l2: "300000", l3: "600000" } }]);
    const { monitor } = monitorWith();
    expect(await monitor.handleNotice(notice(30))).toMatchObject({ outcome: "assessed" });
    // The listener's own roll-back, as a reorganisation makes it.
    await rollBack(database.db, TEST_CHAIN_ID, { number: 29n, hash: blockHash(29) });
    expect(await monitor.handleNotice(notice(30))).toEqual({ outcome: "orphaned" });
    expect(
      await database.metricsDb
        .selectFrom("risk_assessments")
        .select("block_number")
        .where("block_hash", "=", blockHash(30))
        .execute(),
    ).toEqual([]);
    // The block that replaces it on the new chain is assessed as any other.
    await commitHistory(database.db, prefix, [
      { number: 30, fork: 1, parentFork: 0, layers: { l1: "90000", l2: "300000", l3: "600000" } },
    ]);
    expect(await monitor.handleNotice({ ...notice(30), blockHash: blockHash(30, 1) })).toMatchObject({
      outcome: "assessed",
    });
  });

  it("when two threshold intents are raised at once, then one is raised and the other finds it open", async () => {
    await database.db.updateTable("rebalance_executions").set({ status: "succeeded" }).execute();
    const raise = (key: string) =>
      raiseRebalance(database.db, { trigger: "threshold", idempotencyKey: key, reason: "test" });
    const results = await Promise.all([raise("concurrent-a"), raise("concurrent-b"), raise("concurrent-c")]);
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
    expect(
      await database.db.selectFrom("rebalance_executions").select("id").where("status", "=", "pending").execute(),
    ).toHaveLength(1);
  });

  it("then the redemption totals count only what is final, by channel and status", async () => {
    await commitHistory(
      database.db,
      prefix,
      [
        {
          number: 40,
          layers: { l1: "100000", l2: "300000", l3: "600000" },
          requests: [{ id: "2", assets: "100", channel: "standard" }],
        },
      ],
      { finalized: 39n },
    );
    const { monitor, scrape } = monitorWith();
    await monitor.handleNotice(notice(40));
    const text = await scrape();
    // Request 1 (block 11) is final; request 2 (block 40) is not yet.
    expect(sampleValue(text, "paimon_redemption_requests_total", { channel: "instant", status: "requested" })).toBe(1);
    expect(sampleValue(text, "paimon_redemption_requests_total", { channel: "standard", status: "requested" })).toBe(0);
    expect(sampleValue(text, "paimon_pending_redemptions", { channel: "standard" })).toBe(1);
  });
});
