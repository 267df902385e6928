import { randomBytes } from "node:crypto";
import { createDatabase, type Database } from "@paimon/core/db";
import { createRedis, type RedisClient } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { createTcpProxy, type TcpProxy } from "@paimon/core/testing/tcp-proxy";
import type { Kysely } from "kysely";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { createApp } from "./app";
import { READINESS_DATABASE_BOUND_MS } from "./health";
import { createTestApp } from "./testing";

let database: TestDatabase;
let postgresProxy: TcpProxy;
let redisProxy: TcpProxy;
let db: Kysely<Database>;
let redis: RedisClient;
let app: ReturnType<typeof createApp>;

/** What a loaded machine may add to a bounded wait: this process can be held up for 15 s at a time. */
const SLACK_MS = 30_000;

beforeAll(async () => {
  database = await createTestDatabase();
  postgresProxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
  redisProxy = await createTcpProxy({ host: "127.0.0.1", port: 6379 });
  db = createDatabase(postgresProxy.through(database.url), { maxConnections: 2 });
  redis = createRedis(`redis://127.0.0.1:${redisProxy.port}`, {
    keyPrefix: `paimon-test:${randomBytes(6).toString("hex")}:`,
  });
  redis.on("error", () => undefined);
  await redis.connect();
  ({ app } = createTestApp({ db, metricsDb: database.metricsDb, redis }));
});
afterAll(async () => {
  redis.disconnect();
  await db.destroy();
  await redisProxy.close();
  await postgresProxy.close();
  await database.drop();
});

interface Readiness {
  status: "ready" | "unavailable";
  failed?: Record<string, string>;
  degraded?: Record<string, string>;
}

/** Polls readiness until it matches (recovery takes the clients' reconnect time, not a fixed sleep). */
async function readinessUntil(
  predicate: (status: number, body: Readiness) => boolean,
): Promise<{ status: number; body: Readiness }> {
  let last: { status: number; body: Readiness } | undefined;
  await vi.waitFor(
    async () => {
      const response = await request(app).get("/health/ready");
      last = { status: response.status, body: response.body as Readiness };
      expect(predicate(last.status, last.body), JSON.stringify(last)).toBe(true);
    },
    { timeout: 30_000, interval: 50 },
  );
  if (!last) throw new Error("readiness never answered");
  return last;
}

describe("readiness says whether this instance can serve", () => {
  it("when PostgreSQL becomes unreachable, then readiness is 503 naming postgres, and 200 once it is back", async () => {
    await readinessUntil((status) => status === 200);
    await postgresProxy.cut();
    const down = await readinessUntil((status, body) => status === 503 && body.failed?.["postgres"] !== undefined);
    expect(Object.keys(down.body.failed ?? {})).toEqual(["postgres"]);
    await postgresProxy.restore();
    await readinessUntil((status) => status === 200);
  });

  it("when PostgreSQL stops answering (a stalled network), then readiness is 503 naming postgres within its bound, and 200 once it answers again", async () => {
    await readinessUntil((status) => status === 200);
    await postgresProxy.set("blackhole");
    try {
      const started = performance.now();
      const response = await request(app).get("/health/ready");
      // The answer names its own bound, 2 s, inside the probe's 3 s; the clock, with a loaded
      // machine's slack, shows that nothing else was waited for (the pool has no query timeout).
      expect(performance.now() - started).toBeLessThan(READINESS_DATABASE_BOUND_MS + SLACK_MS);
      expect(response.status).toBe(503);
      expect((response.body as Readiness).failed).toEqual({
        postgres: `timed out after ${READINESS_DATABASE_BOUND_MS} ms`,
      });
    } finally {
      await postgresProxy.set("forward");
    }
    await readinessUntil((status) => status === 200);
  });

  it("when Redis becomes unreachable, then readiness stays 200 and reports redis as degraded, until it is back", async () => {
    await readinessUntil((status, body) => status === 200 && body.degraded === undefined);
    await redisProxy.cut();
    // Every replica shares this Redis: failing readiness would take them all out of the balancer at once.
    const degraded = await readinessUntil((_status, body) => body.degraded?.["redis"] !== undefined);
    expect(degraded.status).toBe(200);
    expect(degraded.body).toEqual({ status: "ready", degraded: { redis: expect.any(String) as string } });
    await redisProxy.restore();
    await readinessUntil((status, body) => status === 200 && body.degraded === undefined);
  });

  it("when Redis stops answering (a stalled network), then readiness still answers 200 in time, reporting redis degraded", async () => {
    await readinessUntil((status, body) => status === 200 && body.degraded === undefined);
    await redisProxy.set("blackhole");
    try {
      const started = performance.now();
      const response = await request(app).get("/health/ready").expect(200);
      expect(performance.now() - started).toBeLessThan(READINESS_DATABASE_BOUND_MS + SLACK_MS);
      // Redis's own bound ended the wait, not the client's longer command timeout.
      expect((response.body as Readiness).degraded?.["redis"]).toMatch(/^timed out after \d+ ms$/);
    } finally {
      await redisProxy.set("forward");
    }
    await readinessUntil((status, body) => status === 200 && body.degraded === undefined);
  });

  it("when a dependency is down, then liveness still answers 200: the process is alive", async () => {
    await redisProxy.cut();
    await request(app).get("/health").expect(200);
    await redisProxy.restore();
    await readinessUntil((status, body) => status === 200 && body.degraded === undefined);
  });
});
