import { randomBytes } from "node:crypto";
import { createRedis } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import fc from "fast-check";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "./app";
import { createTestApp } from "./testing";

let database: TestDatabase;
const redis = createRedis("redis://127.0.0.1:6379", { keyPrefix: `paimon-test:${randomBytes(6).toString("hex")}:` });
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  await redis.connect();
  ({ app } = createTestApp({ db: database.db, metricsDb: database.metricsDb, redis, rateLimitPerMinute: 1_000_000 }));
});
afterAll(async () => {
  await redis.quit();
  await database.drop();
});

/** Whatever a client sends, the API answers with a status below 500 and the one error shape. */
async function assertNeverFails(response: request.Response): Promise<void> {
  expect(response.status, response.text).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect((response.body as { error: { code: string } }).error.code).toMatch(/^[a-z_]+$/);
  }
  await Promise.resolve();
}

const value = fc.oneof(
  fc.string(),
  fc.integer().map(String),
  fc.constantFrom(
    "requested",
    "instant",
    "cancelled",
    "settlement",
    "0x" + "a".repeat(40),
    "-1",
    "1e999",
    "NaN",
    "%00",
    "../",
    "[]",
    "{}",
  ),
);

describe("rate limiting", () => {
  it("when a client exceeds its requests per minute, then it gets 429 rate_limited in the usual shape", async () => {
    const { app: limited } = createTestApp({
      db: database.db,
      metricsDb: database.metricsDb,
      redis,
      rateLimitPerMinute: 2,
    });
    const client = { "x-forwarded-for": "198.51.100.7" };
    await request(limited).get("/v1/rebalances").set(client).expect(200);
    await request(limited).get("/v1/rebalances").set(client).expect(200);
    const refused = await request(limited).get("/v1/rebalances").set(client).expect(429);
    expect((refused.body as { error: { code: string } }).error.code).toBe("rate_limited");
    await request(limited).get("/v1/rebalances").set({ "x-forwarded-for": "198.51.100.8" }).expect(200);
    await request(limited).get("/health").set(client).expect(200);
  });
});

describe("property-based fuzzing", () => {
  it("when the list endpoints get arbitrary query parameters, then they never answer 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.oneof(
            fc.constantFrom("status", "channel", "owner", "purpose", "limit", "cursor", "from", "to"),
            fc.string(),
          ),
          value,
          { maxKeys: 5 },
        ),
        fc.constantFrom("/v1/redemptions", "/v1/risk", "/v1/rebalances", "/v1/transactions", "/v1/fund"),
        async (query, path) => {
          await assertNeverFails(await request(app).get(path).query(query));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("when an operator endpoint gets arbitrary bodies and headers, then it never answers 5xx", async () => {
    const json = fc.jsonValue({ maxDepth: 6 });
    await fc.assert(
      fc.asyncProperty(json, fc.string(), fc.string(), async (body, key, authorization) => {
        const response = await request(app)
          .post("/v1/rebalances")
          .set("content-type", "application/json")
          .set("idempotency-key", key.replace(/[^\x20-\x7e]/g, ""))
          .set("authorization", authorization.replace(/[^\x20-\x7e]/g, ""))
          .send(JSON.stringify(body));
        await assertNeverFails(response);
        expect(response.status).not.toBe(202);
      }),
      { numRuns: 150 },
    );
  });

  it("when a body is deeply nested, then it is refused with 4xx, not a crash", async () => {
    const deep = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;
    const response = await request(app).post("/v1/rebalances").set("content-type", "application/json").send(deep);
    await assertNeverFails(response);
    expect(response.status).toBe(413);
  });

  it("when a path segment is arbitrary, then the id routes answer 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.constantFrom("/v1/redemptions/", "/v1/rebalances/", "/v1/transactions/"),
        async (segment, base) => {
          await assertNeverFails(await request(app).get(base + encodeURIComponent(segment)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
