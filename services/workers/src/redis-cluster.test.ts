/**
 * The services' own Redis clients and queues on a real Redis Cluster — production's ElastiCache
 * cluster mode — with production's configuration (`REDIS_CLUSTER=true`, a hash-tagged
 * `QUEUE_PREFIX`): the listener's relay enqueues, the risk monitor consumes, the scheduler's job
 * schedulers run, the API's readiness pings; and a prefix without a hash tag is refused.
 */
import { randomBytes } from "node:crypto";
import { createRedis } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { startRedisCluster, type RedisCluster } from "@paimon/core/testing/redis-cluster";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadRiskConfig } from "./config";
import { riskHistory } from "./risk/history";
import { commitHistory, countAssessments, spawnWorker, stopWorker, workerEnv } from "./testing";

let database: TestDatabase;
let cluster: RedisCluster;
beforeAll(async () => {
  [database, cluster] = await Promise.all([createTestDatabase(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await cluster.stop();
  await database.drop();
});

const clusterEnv = (overrides: Record<string, string> = {}) =>
  workerEnv(database, {
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: "true",
    QUEUE_PREFIX: `{paimon-test-${randomBytes(4).toString("hex")}}`,
    ...overrides,
  });

describe("on a Redis Cluster", () => {
  it("when the listener relays block notices, then the risk monitor consumes every one", async () => {
    const env = clusterEnv({ RISK_IDLE_ASSESS_MS: "3600000" });
    const worker = spawnWorker("risk", env);
    try {
      await commitHistory(database.db, env.QUEUE_PREFIX, riskHistory(60), {
        redis: { url: cluster.url, cluster: true },
      });
      await vi.waitFor(
        async () => {
          expect(await countAssessments(database)).toBe(60);
        },
        { timeout: 60_000, interval: 100 },
      );
    } finally {
      expect((await stopWorker(worker)).code).toBe(0);
    }
    expect(worker.lines().filter((line) => line["level"] === "error")).toEqual([]);
  });

  it("when the scheduler runs, then its job schedulers fire slot after slot", async () => {
    const env = clusterEnv({
      REBALANCE_CHECK_CRON: "* * * * * *",
      SETTLEMENT_CUTOFF_CRON: "0 0 1 1 *",
      FUND_SNAPSHOT_CRON: "0 0 1 1 *",
      BACKUP_CHECK_CRON: "0 0 1 1 *",
    });
    const started = new Date();
    const scheduler = spawnWorker("scheduler", env);
    try {
      await vi.waitFor(
        async () => {
          const runs = await database.db
            .selectFrom("schedule_runs")
            .select("slot")
            .where("schedule", "=", "rebalance-check")
            .where("slot", ">", started)
            .execute();
          expect(runs.length).toBeGreaterThanOrEqual(2);
        },
        { timeout: 60_000, interval: 100 },
      );
    } finally {
      expect((await stopWorker(scheduler)).code).toBe(0);
    }
  });

  it("then the API's readiness client pings it", async () => {
    const redis = createRedis(cluster.url, { cluster: true });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe("PONG");
      await redis.set("{paimon-test}:probe", "1");
      expect(await redis.get("{paimon-test}:probe")).toBe("1");
    } finally {
      redis.disconnect();
    }
  });

  it("when a client is not told the cluster is one, then keys on another shard fail with MOVED (why REDIS_CLUSTER exists)", async () => {
    const single = createRedis(cluster.url);
    try {
      await single.connect();
      const keys = Array.from({ length: 20 }, (_, i) => `probe-${String(i)}`);
      const results = await Promise.allSettled(keys.map((key) => single.set(key, "1")));
      expect(results.some((result) => result.status === "rejected" && String(result.reason).includes("MOVED"))).toBe(
        true,
      );
    } finally {
      single.disconnect();
    }
  });

  it("when a queue prefix has no hash tag, then the configuration is refused, naming QUEUE_PREFIX", () => {
    expect(() => loadRiskConfig({ ...clusterEnv(), QUEUE_PREFIX: "paimon" })).toThrow(
      "QUEUE_PREFIX: must contain a hash tag such as {paimon} when REDIS_CLUSTER is true",
    );
    expect(() => loadRiskConfig({ ...clusterEnv(), REDIS_CLUSTER: "yes" })).toThrow(
      /REDIS_CLUSTER: must be "true" or "false"/,
    );
  });
});
