import { once } from "node:events";
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import net from "node:net";
import { PassThrough } from "node:stream";
import { createLogger, type Logger } from "@paimon/core/logger";
import { createRedis } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import fc from "fast-check";
import { SignJWT } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { createApp } from "./app";
import { parseViewerAddress } from "./http/client-address";
import { createTestApp, TEST_JWT_SECRET } from "./testing";

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

/** A logger whose lines the test reads back. */
function capturingLogger(): { logger: Logger; lines: () => { level: string; message: string; code?: string }[] } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return {
    logger: createLogger({ service: "paimon-api", environment: "test", level: "debug", stream }),
    lines: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: string; message: string; code?: string }),
  };
}

/** Listens on a free loopback port; closed by the returned function. */
async function listen(handler: ReturnType<typeof createApp>): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = handler.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * Sends `count` pipelined GETs on one connection, the n-th with the headers `headersOf(n)`, and
 * resolves with how many answers each status got once all `count` are in.
 */
async function pipelined(port: number, count: number, headersOf: (n: number) => string): Promise<Map<number, number>> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  const statuses = new Map<number, number>();
  let answered = 0;
  let carry = "";
  const done = new Promise<void>((resolve, reject) => {
    socket.on("error", reject);
    socket.on("close", () => {
      reject(new Error(`connection closed after ${String(answered)} of ${String(count)} answers`));
    });
    socket.on("data", (chunk: Buffer) => {
      const text = carry + chunk.toString("latin1");
      const pattern = /HTTP\/1\.1 (\d{3}) /g;
      let last = 0;
      for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
        const status = Number(match[1]);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        answered += 1;
        last = pattern.lastIndex;
      }
      // A status line split across two chunks is matched with the next one.
      carry = text.slice(Math.max(last, text.length - 16));
      if (answered === count) resolve();
    });
  });
  const requests: string[] = [];
  for (let n = 0; n < count; n += 1) requests.push(`GET /v1/limited HTTP/1.1\r\nHost: api\r\n${headersOf(n)}\r\n`);
  socket.write(requests.join(""));
  try {
    await done;
  } finally {
    socket.destroy();
  }
  return statuses;
}

/** The n-th of a flood's spoofed X-Forwarded-For chains, each distinct from the others (n < 2^24). */
const spoofed = (n: number) =>
  `X-Forwarded-For: 10.${String((n >> 16) & 255)}.${String((n >> 8) & 255)}.${String(n & 255)}, 192.0.2.1\r\n`;

describe("rate limiting", () => {
  it("when a client exceeds its requests per minute, then it gets 429 rate_limited in the usual shape; health is not limited", async () => {
    const { app: limited } = createTestApp({
      db: database.db,
      metricsDb: database.metricsDb,
      redis,
      rateLimitPerMinute: 2,
    });
    await request(limited).get("/v1/rebalances").expect(200);
    await request(limited).get("/v1/rebalances").expect(200);
    const refused = await request(limited).get("/v1/rebalances").expect(429);
    expect((refused.body as { error: { code: string } }).error.code).toBe("rate_limited");
    await request(limited).get("/health").expect(200);
  });

  // express-rate-limit's MemoryStore hands every request of one key the same counter object, read
  // after an await: of a burst that arrives in one read, all see the burst's total. So a flood is
  // checked for "at most the limit passed"; exact counts come from requests sent one at a time.
  // Fifty times the limit tells one key from one per request, and is answered in seconds even on a
  // loaded machine; the limiter's window (an hour in tests) cannot end meanwhile.
  it("when 5 000 requests each carry another spoofed X-Forwarded-For, then they share one key (the connection's peer) and are limited together", async () => {
    const { app: limited } = createTestApp({
      db: database.db,
      metricsDb: database.metricsDb,
      redis,
      rateLimitPerMinute: 100,
    });
    const server = await listen(limited);
    try {
      const statuses = await pipelined(server.port, 5_000, spoofed);
      // One key: at most 100 pass the limiter (to a 404: no such route), every other is refused.
      expect(statuses.get(404) ?? 0).toBeLessThanOrEqual(100);
      expect(statuses.get(429)).toBeGreaterThanOrEqual(4_900);
      expect([...statuses.keys()].filter((status) => status !== 404 && status !== 429)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("when requests come through the edge, then the key is the viewer CloudFront names, whatever X-Forwarded-For says", async () => {
    const origin = "origin-secret-from-cloudfront";
    const { app: limited } = createTestApp({
      db: database.db,
      metricsDb: database.metricsDb,
      redis,
      rateLimitPerMinute: 10,
      originVerifySecret: origin,
    });
    const edge = (viewer: string, forwardedFor = "192.0.2.1") =>
      request(limited)
        .get("/v1/limited")
        .set("x-origin-verify", origin)
        .set("cloudfront-viewer-address", viewer)
        .set("x-forwarded-for", forwardedFor);
    for (let n = 0; n < 10; n += 1) await edge("198.51.100.10:46532", `10.0.0.${String(n)}`).expect(404);
    await edge("198.51.100.10:46532", "10.0.0.99").expect(429);
    // The same viewer from another source port is the same client; another viewer has its own limit.
    await edge("198.51.100.10:50000").expect(429);
    await edge("198.51.100.11:46532").expect(404);
    // IPv6 viewers are keyed by their /56: one subscriber's addresses share one limit.
    for (let n = 0; n < 10; n += 1) await edge(`2001:db8:0:1::${String(n + 1)}:443`).expect(404);
    await edge("[2001:db8:0:2::99]:443").expect(429);
    await edge("[2001:db8:1::1]:443").expect(404);
    // Without the origin secret the request is refused before the limiter: its header is never read.
    await request(limited).get("/v1/limited").set("cloudfront-viewer-address", "203.0.113.1:1").expect(403);
    // A flood of spoofed chains from one viewer: one key, the viewer's.
    const server = await listen(limited);
    try {
      const statuses = await pipelined(
        server.port,
        5_000,
        (n) => `X-Origin-Verify: ${origin}\r\nCloudFront-Viewer-Address: 203.0.113.7:443\r\n${spoofed(n)}`,
      );
      expect(statuses.get(404) ?? 0).toBeLessThanOrEqual(10);
      expect(statuses.get(429)).toBeGreaterThanOrEqual(4_990);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("when there is no edge (development), then a client-written CloudFront-Viewer-Address is not believed either", async () => {
    const { app: limited } = createTestApp({
      db: database.db,
      metricsDb: database.metricsDb,
      redis,
      rateLimitPerMinute: 10,
    });
    const statuses: number[] = [];
    for (let n = 0; n < 12; n += 1) {
      const response = await request(limited)
        .get("/v1/limited")
        .set("cloudfront-viewer-address", `203.0.113.${String(n)}:443`)
        .set("x-forwarded-for", `203.0.113.${String(n)}`);
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(404), 429, 429]);
  });

  it.each([
    ["198.51.100.10:46532", "198.51.100.10"],
    ["2001:db8::1:443", "2001:db8::1"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[::1]:8080", "::1"],
    ["::ffff:192.0.2.1:80", "::ffff:192.0.2.1"],
    ["198.51.100.10", undefined],
    ["198.51.100.10:", undefined],
    ["not-an-ip:443", undefined],
    ["[2001:db8::1:443", undefined],
    ["", undefined],
  ])("when CloudFront-Viewer-Address is %j, then the viewer is %j", (header, viewer) => {
    expect(parseViewerAddress(header)).toBe(viewer);
  });
});

/** A string of any UTF-16 code units: NUL, lone surrogates and paired ones, controls, anything. */
const hostileText = fc.string({
  unit: fc.oneof(
    fc.constantFrom("\u0000", "\ud800", "\udfff", "\ud83d", "\ude00", "\ud83d\ude00", "%00", "\u202e", "\ufeff"),
    fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});
const illFormed = (text: string) =>
  text.includes("\u0000") || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

/** Percent-encodes each UTF-16 unit as it stands, a lone surrogate as its (invalid) UTF-8 bytes. */
const percentEncoded = (text: string) =>
  Array.from({ length: text.length }, (_, index) => text.charCodeAt(index))
    .map((unit) =>
      unit < 0x80
        ? `%${unit.toString(16).padStart(2, "0")}`
        : Buffer.from(String.fromCharCode(unit), "utf8").length === 3 && unit >= 0xd800 && unit <= 0xdfff
          ? [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 63), 0x80 | (unit & 63)]
              .map((byte) => `%${byte.toString(16)}`)
              .join("")
          : encodeURIComponent(String.fromCharCode(unit)),
    )
    .join("");

async function operatorToken(): Promise<string> {
  return new SignJWT({ role: "operator" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("fuzz@paimon.fund")
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

describe("hostile input", () => {
  it("when a string field of a body holds arbitrary text (NUL, lone surrogates…), then it never answers 5xx, and text PostgreSQL cannot store is a 400 naming the field", async () => {
    const auth = `Bearer ${await operatorToken()}`;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(hostileText, async (reason) => {
        n += 1;
        const response = await request(app)
          .post("/v1/rebalances")
          .set("content-type", "application/json")
          .set("authorization", auth)
          .set("idempotency-key", `fuzz-${randomBytes(8).toString("hex")}-${String(n)}`)
          .send(JSON.stringify({ reason }));
        await assertNeverFails(response);
        if (illFormed(reason)) {
          expect(response.status).toBe(400);
          const body = response.body as { error: { code: string; details: { issues: { path: string }[] } } };
          expect(body.error.code).toBe("invalid_body");
          expect(body.error.details.issues.map((issue) => issue.path)).toContain("reason");
        }
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ["a NUL", "stop\u0000now"],
    ["a lone high surrogate", "stop \ud800 now"],
    ["a lone low surrogate", "\udc00"],
  ])(
    "when the operator's reason holds %s, then it is 400 invalid_body naming reason, and nothing is stored",
    async (_name, reason) => {
      const key = `hostile-${randomBytes(8).toString("hex")}`;
      const response = await request(app)
        .post("/v1/rebalances")
        .set("content-type", "application/json")
        .set("authorization", `Bearer ${await operatorToken()}`)
        .set("idempotency-key", key)
        .send(JSON.stringify({ reason }))
        .expect(400);
      expect(response.body).toMatchObject({
        error: {
          code: "invalid_body",
          details: { issues: [{ path: "reason", message: expect.stringContaining("NUL") as string }] },
        },
      });
      const stored = await database.db
        .selectFrom("rebalance_executions")
        .select("id")
        .where("idempotency_key", "=", key)
        .execute();
      expect(stored).toEqual([]);
    },
  );

  it("when query values and path ids hold arbitrary percent-encoded bytes (NUL, encoded surrogates, bad escapes), then no endpoint answers 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("status", "channel", "owner", "purpose", "limit", "cursor", "from", "to"),
        hostileText,
        fc.oneof(hostileText.map(percentEncoded), fc.constantFrom("%ZZ", "%", "%E0%A4", "%C0%AF", "%ED%A0%80", "%00")),
        fc.constantFrom("/v1/redemptions", "/v1/risk", "/v1/rebalances", "/v1/transactions", "/v1/fund"),
        async (name, value, segment, path) => {
          await assertNeverFails(await request(app).get(`${path}?${name}=${percentEncoded(value)}`));
          if (path !== "/v1/fund" && path !== "/v1/risk")
            await assertNeverFails(await request(app).get(`${path}/${segment}`));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("when a path id is malformed percent-encoding, then it is 400 invalid_path, and nothing is logged as an error", async () => {
    const { logger, lines } = capturingLogger();
    const { app: logged } = createTestApp({ db: database.db, metricsDb: database.metricsDb, redis, logger });
    for (const path of ["/v1/redemptions/%ZZ", "/v1/rebalances/%E0%A4", "/v1/transactions/%"]) {
      const response = await request(logged).get(path).expect(400);
      expect((response.body as { error: { code: string } }).error.code).toBe("invalid_path");
    }
    expect(lines().filter((line) => line.level === "error")).toEqual([]);
  });

  it("when a client aborts in the middle of its body, then it is not logged as a failed request, only as a debug line", async () => {
    const { logger, lines } = capturingLogger();
    const { app: logged } = createTestApp({ db: database.db, metricsDb: database.metricsDb, redis, logger });
    const server = await listen(logged);
    try {
      const socket = net.connect(server.port, "127.0.0.1");
      await once(socket, "connect");
      socket.write(
        "POST /v1/rebalances HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" +
          '{"reason": "half a bo',
      );
      // The body is being read (headers parsed, bytes waiting) before the client goes away.
      socket.destroy();
      await vi.waitFor(
        () => {
          expect(lines().map((line) => line.message)).toContain("client aborted the request");
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(lines().filter((line) => line.level === "error" || line.level === "warn")).toEqual([]);
      expect(lines().find((line) => line.message === "client aborted the request")?.level).toBe("debug");
    } finally {
      await server.close();
    }
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
