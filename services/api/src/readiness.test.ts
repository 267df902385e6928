import { randomBytes } from "node:crypto";
import { createDatabase, type Database } from "@paimon/core/db";
import { createRedis, type RedisClient } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { createTcpProxy, type TcpProxy } from "@paimon/core/testing/tcp-proxy";

import type { Kysely } from "kysely";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "./app";
import { createTestApp } from "./testing";

let database: TestDatabase;
let postgresProxy: TcpProxy;
let redisProxy: TcpProxy;
let db: Kysely<Database>;
let redis: RedisClient;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  postgresProxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
  redisProxy = await createTcpProxy({ host: "127.0.0.1", port: 6379 });
  db = createDatabase(database.url.replace("127.0.0.1:5432", `127.0.0.1:${postgresProxy.port}`), { maxConnections: 2 });
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

/** Polls readiness until it matches (recovery takes the clients' reconnect time, not a fixed sleep). */
async function readinessUntil(
  predicate: (status: number, body: { failed?: Record<string, string> }) => boolean,
): Promise<{ status: number; body: { failed?: Record<string, string> } }> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const response = await request(app).get("/health/ready");
    const body = response.body as { failed?: Record<string, string> };
    if (predicate(response.status, body)) return { status: response.status, body };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("readiness never reached the expected state");
}

describe("readiness follows its dependencies", () => {
  it("when PostgreSQL becomes unreachable, then readiness is 503 naming postgres, and 200 once it is back", async () => {
    await readinessUntil((status) => status === 200);
    await postgresProxy.cut();
    const down = await readinessUntil((status, body) => status === 503 && body.failed?.["postgres"] !== undefined);
    expect(Object.keys(down.body.failed ?? {})).toEqual(["postgres"]);
    await postgresProxy.restore();
    await readinessUntil((status) => status === 200);
  });

  it("when Redis becomes unreachable, then readiness is 503 naming redis, and 200 once it is back", async () => {
    await redisProxy.cut();
    const down = await readinessUntil((status, body) => status === 503 && body.failed?.["redis"] !== undefined);
    expect(Object.keys(down.body.failed ?? {})).toEqual(["redis"]);
    await redisProxy.restore();
    await readinessUntil((status) => status === 200);
  });

  it("when a dependency is down, then liveness still answers 200: the process is alive", async () => {
    await redisProxy.cut();
    await request(app).get("/health").expect(200);
    await redisProxy.restore();
    await readinessUntil((status) => status === 200);
  });
});
