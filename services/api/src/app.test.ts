import { readFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Registry } from "prom-client";
import { createRedis } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "./app";
import { createTestApp, openApiChecker } from "./testing";
import { recordAssessment } from "@paimon/core/assessments";
import { assessRisk, ratio } from "@paimon/core/fund";
import { openApiDocument } from "./openapi";
import { listQuery } from "./redemptions/redemptions.routes";

let database: TestDatabase;
const prefix = `paimon-test:${randomBytes(6).toString("hex")}:`;
const redis = createRedis("redis://127.0.0.1:6379", { keyPrefix: prefix });
let app: ReturnType<typeof createApp>;
let accepting = true;
let registry: Registry;
const checkAgainstDocument = openApiChecker();

beforeAll(async () => {
  database = await createTestDatabase();
  await redis.connect();
  ({ app, registry } = createTestApp({
    db: database.db,
    metricsDb: database.metricsDb,
    redis,
    maxChainSyncAgeSeconds: 60,
    accepting: () => accepting,
  }));
});
afterAll(async () => {
  await redis.quit();
  await database.drop();
});

interface Body {
  error: { code: string; message: string; details?: unknown; request_id?: string };
  failed?: Record<string, string>;
}
/** A response's JSON body, typed for the assertions. */
const bodyOf = (response: request.Response) => response.body as Body;

const checkpoint = (updatedAt: Date) =>
  database.db
    .insertInto("sync_checkpoints")
    .values({ name: "event-listener", chain_id: 56, block_number: "100", block_hash: "0xabc", updated_at: updatedAt })
    .onConflict((c) => c.column("name").doUpdateSet({ updated_at: updatedAt }))
    .execute();

describe("health", () => {
  it("when the process serves, then /health answers 200", async () => {
    await request(app).get("/health").expect(200, { status: "ok" });
  });

  it("when PostgreSQL, Redis and the chain sync are fresh, then /health/ready is 200", async () => {
    await checkpoint(new Date());
    await request(app).get("/health/ready").expect(200, { status: "ready" });
  });

  it("when the chain sync is stale, then readiness stays 200 and reports it as degraded: every replica serves the same data", async () => {
    await checkpoint(new Date(Date.now() - 600_000));
    const response = await request(app).get("/health/ready").expect(200);
    expect(response.body).toEqual({
      status: "ready",
      degraded: { chain_sync: expect.stringMatching(/^last block processed \d+ s ago$/) as string },
    });
    await checkpoint(new Date());
    await request(app).get("/health/ready").expect(200, { status: "ready" });
  });

  it("when shutdown has begun, then readiness fails first", async () => {
    accepting = false;
    const response = await request(app).get("/health/ready").expect(503);
    expect(bodyOf(response).failed).toEqual({ shutdown: "shutting down" });
    accepting = true;
  });
});

describe("GET /v1/fund", () => {
  it("when nothing is recorded yet, then it is 404 fund_not_indexed", async () => {
    const response = await request(app).get("/v1/fund").expect(404);
    expect(bodyOf(response).error.code).toBe("fund_not_indexed");
  });

  it("then it returns NAV, layers with exact ratios, the risk level with its reasons, and the as-of block", async () => {
    await database.db
      .insertInto("fund_snapshots")
      .values({
        recorded_at: new Date("2026-11-28T10:00:00Z"),
        block_number: "4200",
        nav: "1000000",
        l1_value: "100000",
        l2_value: "300000",
        l3_value: "600000",
      })
      .execute();
    const state = { l1: "100000", l2: "300000", l3: "600000", pendingAssets: "8000", pendingCount: 2 };
    await recordAssessment(database.metricsDb, {
      chainId: 56,
      blockNumber: "4200",
      blockHash: `0x${"42".repeat(32)}`,
      trigger: "block",
      assessedAt: new Date("2026-11-28T10:00:01Z"),
      state,
      assessment: assessRisk(state),
    });
    const committed = new Date(Date.now() - 42_000);
    await checkpoint(committed);
    const response = await request(app).get("/v1/fund").expect(200);
    checkAgainstDocument({ method: "get", path: "/v1/fund" }, response);
    // The data's age, from the checkpoint (seconds may tick between the write and the read).
    expect(Number(response.headers["paimon-data-age"])).toBeGreaterThanOrEqual(42);
    expect(Number(response.headers["paimon-data-age"])).toBeLessThan(42 + 30);
    expect(response.body).toEqual({
      nav: "1000000.000000000000000000",
      as_of_block: "4200",
      as_of: "2026-11-28T10:00:00.000Z",
      layers: [
        { layer: "L1", value: "100000.000000000000000000", ratio: "0.100000" },
        { layer: "L2", value: "300000.000000000000000000", ratio: "0.300000" },
        { layer: "L3", value: "600000.000000000000000000", ratio: "0.600000" },
      ],
      risk: {
        level: 1,
        reasons: [
          {
            rule: "within_limits",
            level: 1,
            message: "L1 is 10.00 % of NAV and covers the pending redemptions 12.50 times",
          },
        ],
        ratios: { L1: "0.100000", L2: "0.300000", L3: "0.600000" },
        redemption_coverage: "12.500000",
        pending_redemptions: { count: 2, assets: "8000.000000000000000000" },
        out_of_band: [],
        block_number: "4200",
        assessed_at: "2026-11-28T10:00:01.000Z",
      },
      chain_sync: { block_number: "100", updated_at: committed.toISOString() },
    });
  });

  it("when the chain follower falls behind, then the fund is still served, with the age of its data growing", async () => {
    await checkpoint(new Date(Date.now() - 3_600_000));
    const response = await request(app).get("/v1/fund").expect(200);
    expect(Number(response.headers["paimon-data-age"])).toBeGreaterThanOrEqual(3_600);
    const redemptions = await request(app).get("/v1/redemptions").expect(200);
    expect(Number(redemptions.headers["paimon-data-age"])).toBeGreaterThanOrEqual(3_600);
    await checkpoint(new Date());
  });

  it("then ratios are computed on decimals, never floats", () => {
    expect(ratio("1", "3")).toBe("0.333333");
    expect(ratio("0.1", "0.3")).toBe("0.333333");
    expect(ratio("5", "0")).toBeUndefined();
  });
});

describe("GET /v1/redemptions", () => {
  beforeAll(async () => {
    const owners = ["0x" + "a".repeat(40), "0x" + "b".repeat(40)];
    await database.db
      .insertInto("redemptions")
      .values(
        Array.from({ length: 25 }, (_, index) => ({
          id: String(index + 1),
          chain_id: 56,
          owner: owners[index % 2]!,
          shares: "10",
          assets: "9.5",
          channel: index % 3 === 0 ? ("instant" as const) : ("standard" as const),
          status: index < 20 ? ("requested" as const) : ("settled" as const),
          requested_block: String(1000 + index),
          requested_tx: `0x${index.toString(16).padStart(64, "0")}`,
          created_at: new Date(Date.UTC(2026, 10, 28, 0, 0, index)),
        })),
      )
      .execute();
  });

  it("when paging with limit and cursor, then every row comes once, newest first, and the last page has no cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: request.Response = await request(app)
        .get("/v1/redemptions")
        .query({ limit: 10, ...(cursor ? { cursor } : {}) })
        .expect(200);
      checkAgainstDocument({ method: "get", path: "/v1/redemptions" }, response);
      const body = response.body as { data: { id: string }[]; next_cursor: string | null };
      seen.push(...body.data.map((row) => row.id));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, index) => String(25 - index)));
  });

  it("when filtering by status, channel and owner, then only matching rows return", async () => {
    const response = await request(app)
      .get("/v1/redemptions")
      .query({ status: "requested", channel: "instant", owner: "0x" + "A".repeat(40), limit: 100 })
      .expect(200);
    const ids = (response.body as { data: { id: string; status: string; channel: string; owner: string }[] }).data;
    expect(ids.length).toBeGreaterThan(0);
    expect(
      ids.every(
        (row) => row.status === "requested" && row.channel === "instant" && row.owner === "0x" + "a".repeat(40),
      ),
    ).toBe(true);
  });

  it("when one redemption is asked for, then it returns it, 404 when unknown", async () => {
    const found = await request(app).get("/v1/redemptions/7").expect(200);
    expect(found.body).toMatchObject({
      id: "7",
      assets: "9.500000000000000000",
      requested_block: "1006",
      settlement: null,
    });
    checkAgainstDocument({ method: "get", path: "/v1/redemptions/{id}" }, found);
    const missing = await request(app).get("/v1/redemptions/999").expect(404);
    checkAgainstDocument({ method: "get", path: "/v1/redemptions/{id}" }, missing);
    expect(bodyOf(missing).error.code).toBe("redemption_not_found");
  });
});

describe("bad input gets a clear 4xx with one JSON shape, never a stack trace", () => {
  const cases: [string, () => request.Test, number, string][] = [
    [
      "malformed JSON",
      () => request(app).post("/v1/redemptions").set("content-type", "application/json").send('{"a":'),
      400,
      "invalid_json",
    ],
    [
      "an oversize body",
      () =>
        request(app)
          .post("/v1/redemptions")
          .set("content-type", "application/json")
          .send(JSON.stringify({ a: "x".repeat(20_000) })),
      413,
      "payload_too_large",
    ],
    [
      "a body that is not JSON",
      () => request(app).post("/v1/redemptions").set("content-type", "text/plain").send("hello"),
      415,
      "unsupported_media_type",
    ],
    [
      "a non-UTF-8 charset",
      () => request(app).post("/v1/redemptions").set("content-type", "application/json; charset=latin1").send("{}"),
      415,
      "unsupported_charset",
    ],
    ["an unknown query field", () => request(app).get("/v1/redemptions?colour=red"), 400, "invalid_query"],
    ["a limit of zero", () => request(app).get("/v1/redemptions?limit=0"), 400, "invalid_query"],
    ["a limit above the maximum", () => request(app).get("/v1/redemptions?limit=101"), 400, "invalid_query"],
    ["a status that does not exist", () => request(app).get("/v1/redemptions?status=lost"), 400, "invalid_query"],
    ["an owner that is not an address", () => request(app).get("/v1/redemptions?owner=0x12"), 400, "invalid_query"],
    ["a repeated parameter", () => request(app).get("/v1/redemptions?limit=1&limit=2"), 400, "invalid_query"],
    ["a forged cursor", () => request(app).get("/v1/redemptions?cursor=bm90LWEtY3Vyc29y"), 400, "invalid_cursor"],
    ["a non-numeric id", () => request(app).get("/v1/redemptions/abc"), 400, "invalid_id"],
    ["malformed percent-encoding in a path id", () => request(app).get("/v1/redemptions/%ZZ"), 400, "invalid_path"],
    ["an encoded lone surrogate in a path id", () => request(app).get("/v1/rebalances/%ED%A0%80"), 400, "invalid_path"],
    ["an unknown route", () => request(app).get("/v1/nothing"), 404, "not_found"],
  ];
  it.each(cases)("when given %s, then it answers %i %s", async (_name, send, status, code) => {
    const response = await send().expect(status);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      error: {
        code,
        message: expect.any(String) as string,
        request_id: expect.any(String) as string,
        ...(bodyOf(response).error.details ? { details: bodyOf(response).error.details } : {}),
      },
    });
    expect(response.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });
});

describe("metrics", () => {
  it("then requests are counted under their route template, not their raw path", async () => {
    await request(app).get("/v1/redemptions/3").expect(200);
    const text = await registry.metrics();
    expect(text).toContain('route="/v1/redemptions/:id"');
    expect(text).not.toContain('route="/v1/redemptions/3"');
    const served = await request(app).get("/metrics").expect(200);
    expect(served.text).toContain("paimon_http_request_duration_seconds_bucket");
  });
});

describe("GET /openapi.json", () => {
  it("then it serves the document built from the validating schemas, the same as the committed file", async () => {
    const served = await request(app).get("/openapi.json").expect(200);
    expect(served.body).toEqual(openApiDocument());
    const committed = JSON.parse(readFileSync(path.join(__dirname, "..", "openapi.json"), "utf8")) as unknown;
    expect(committed).toEqual(openApiDocument());
    const parameters = (served.body as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> }).paths[
      "/v1/redemptions"
    ]?.get?.parameters;
    expect(parameters?.map((parameter) => parameter.name)).toEqual(Object.keys(listQuery.shape));
  });
});
