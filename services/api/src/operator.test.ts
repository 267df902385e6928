import { randomBytes, randomUUID } from "node:crypto";
import { createRedis } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { SignJWT } from "jose";
import { recordAssessment } from "@paimon/core/assessments";
import { assessRisk } from "@paimon/core/fund";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "./app";
import { createTestApp, openApiChecker } from "./testing";

const JWT_SECRET = "operator-test-secret-long-enough-for-hs256";
const ORIGIN_SECRET = "origin-secret-from-cloudfront";
let database: TestDatabase;
const redis = createRedis("redis://127.0.0.1:6379", { keyPrefix: `paimon-test:${randomBytes(6).toString("hex")}:` });
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  await redis.connect();
  ({ app } = createTestApp({
    db: database.db,
    metricsDb: database.metricsDb,
    redis,
    jwtSecret: JWT_SECRET,
    originVerifySecret: ORIGIN_SECRET,
  }));
});
afterAll(async () => {
  await redis.quit();
  await database.drop();
});

async function token(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresIn?: string | number; subject?: string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(options.subject ?? "ops@paimon.fund")
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "5m")
    .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

const post = (headers: Record<string, string>, body: unknown = { reason: "L1 below band" }) => {
  let call = request(app)
    .post("/v1/rebalances")
    .set("x-origin-verify", ORIGIN_SECRET)
    .set("content-type", "application/json");
  for (const [name, value] of Object.entries(headers)) call = call.set(name, value);
  return call.send(JSON.stringify(body));
};
const codeOf = (response: request.Response) => (response.body as { error: { code: string } }).error.code;

describe("POST /v1/rebalances (operator API)", () => {
  it("when an operator triggers a rebalance, then it is accepted with its id and handed to the worker through the outbox", async () => {
    const response = await post({
      authorization: `Bearer ${await token({ role: "operator" })}`,
      "idempotency-key": "rebalance-0001",
    }).expect(202);
    const { id, created } = response.body as { id: string; created: boolean };
    expect(created).toBe(true);
    expect(response.headers["location"]).toBe(`/v1/rebalances/${id}`);
    const row = await database.db
      .selectFrom("rebalance_executions")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ trigger: "manual", status: "pending", requested_by: "ops@paimon.fund" });
    const outbox = await database.db
      .selectFrom("outbox")
      .selectAll()
      .where("job_id", "=", `rebalance-${id}`)
      .executeTakeFirstOrThrow();
    expect(outbox).toMatchObject({ queue: "rebalance", sent_at: null });
    const fetched = await request(app).get(`/v1/rebalances/${id}`).set("x-origin-verify", ORIGIN_SECRET).expect(200);
    expect(fetched.body).toMatchObject({ id, trigger: "manual", status: "pending", balances: null, transactions: [] });
    openApiChecker()({ method: "get", path: "/v1/rebalances/{id}" }, fetched);
  });

  it("when the same Idempotency-Key is sent again, then no second execution is created", async () => {
    const auth = `Bearer ${await token({ role: "operator" })}`;
    const [first, second] = await Promise.all([
      post({ authorization: auth, "idempotency-key": "rebalance-0002" }),
      post({ authorization: auth, "idempotency-key": "rebalance-0002" }),
    ]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect((first.body as { id: string }).id).toBe((second.body as { id: string }).id);
    const count = await database.db
      .selectFrom("rebalance_executions")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("idempotency_key", "=", "rebalance-0002")
      .executeTakeFirstOrThrow();
    expect(count.n).toBe("1");
  });

  it("when the same Idempotency-Key comes with a different body, then it is 422 idempotency_key_reused and nothing is created", async () => {
    const auth = `Bearer ${await token({ role: "operator" })}`;
    const first = await post({ authorization: auth, "idempotency-key": "rebalance-0004" }, { reason: "L1 low" }).expect(
      202,
    );
    const reused = await post(
      { authorization: auth, "idempotency-key": "rebalance-0004" },
      { reason: "L3 high" },
    ).expect(422);
    expect(codeOf(reused)).toBe("idempotency_key_reused");
    expect(reused.body).toMatchObject({ error: { details: { execution_id: (first.body as { id: string }).id } } });
    openApiChecker()({ method: "post", path: "/v1/rebalances" }, reused);
    // The same request again — its reason differently padded, as the schema trims it — is the first answer.
    const replay = await post(
      { authorization: auth, "idempotency-key": "rebalance-0004" },
      { reason: "  L1 low " },
    ).expect(202);
    expect(replay.body).toEqual({ id: (first.body as { id: string }).id, status: "pending", created: false });
    const rows = await database.db
      .selectFrom("rebalance_executions")
      .select(["reason", "request_hash"])
      .where("idempotency_key", "=", "rebalance-0004")
      .execute();
    expect(rows).toEqual([{ reason: "L1 low", request_hash: expect.stringMatching(/^[0-9a-f]{64}$/) as string }]);
  });

  it("when another operator sends the same Idempotency-Key, then it is that operator's own execution, not the first one's", async () => {
    const mine = await post({
      authorization: `Bearer ${await token({ role: "operator" })}`,
      "idempotency-key": "rebalance-0005",
    }).expect(202);
    const theirs = await post({
      authorization: `Bearer ${await token({ role: "operator" }, { subject: "other-ops@paimon.fund" })}`,
      "idempotency-key": "rebalance-0005",
    }).expect(202);
    expect(theirs.body).toMatchObject({ created: true });
    expect((theirs.body as { id: string }).id).not.toBe((mine.body as { id: string }).id);
    const rows = await database.db
      .selectFrom("rebalance_executions")
      .select("requested_by")
      .where("idempotency_key", "=", "rebalance-0005")
      .orderBy("requested_by")
      .execute();
    expect(rows).toEqual([{ requested_by: "ops@paimon.fund" }, { requested_by: "other-ops@paimon.fund" }]);
  });

  it("when an operator's key is one a worker will use, then the worker's execution is still created", async () => {
    // The risk monitor's key for a block: a valid Idempotency-Key, so an operator could send it first.
    const workerKey = `threshold-56-0x${"ab".repeat(32)}`;
    await post({ authorization: `Bearer ${await token({ role: "operator" })}`, "idempotency-key": workerKey }).expect(
      202,
    );
    // As the workers raise an intent (services/workers/src/rebalance/intents.ts): no conflict target.
    const raised = await database.db
      .insertInto("rebalance_executions")
      .values({
        id: randomUUID(),
        trigger: "threshold",
        status: "pending",
        idempotency_key: workerKey,
        reason: "L1 below band",
        plan: JSON.stringify([]),
      })
      .onConflict((conflict) => conflict.doNothing())
      .returning("id")
      .executeTakeFirst();
    expect(raised).toBeDefined();
    // The workers' own keys stay unique among themselves.
    const again = await database.db
      .insertInto("rebalance_executions")
      .values({
        id: randomUUID(),
        trigger: "threshold",
        status: "pending",
        idempotency_key: workerKey,
        reason: "L1 below band",
        plan: JSON.stringify([]),
      })
      .onConflict((conflict) => conflict.doNothing())
      .returning("id")
      .executeTakeFirst();
    expect(again).toBeUndefined();
  });

  it.each([
    ["no token", () => Promise.resolve({}), 401, "missing_token"],
    [
      "a forged token",
      async () => ({
        authorization: `Bearer ${await token({ role: "operator" }, { secret: "someone-else's-secret-long-enough" })}`,
      }),
      401,
      "invalid_token",
    ],
    [
      "an expired token",
      async () => ({
        authorization: `Bearer ${await token({ role: "operator" }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
      }),
      401,
      "token_expired",
    ],
    [
      "a token without the operator role",
      async () => ({ authorization: `Bearer ${await token({ role: "viewer" })}` }),
      403,
      "forbidden",
    ],
    ["a token that is not a JWT", () => Promise.resolve({ authorization: "Bearer not-a-jwt" }), 401, "missing_token"],
  ] as const)(
    "when the request carries %s, then it is %i %s and nothing is created",
    async (_name, headers, status, code) => {
      const before = await database.db
        .selectFrom("rebalance_executions")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      const response = await post({ ...(await headers()), "idempotency-key": `key-${status}-${code}` }).expect(status);
      expect(codeOf(response)).toBe(code);
      const after = await database.db
        .selectFrom("rebalance_executions")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      expect(after.n).toBe(before.n);
    },
  );

  it("when the Idempotency-Key is missing or the body has unknown fields, then it is 400", async () => {
    const auth = `Bearer ${await token({ role: "operator" })}`;
    expect(codeOf(await post({ authorization: auth }).expect(400))).toBe("invalid_idempotency_key");
    expect(
      codeOf(
        await post({ authorization: auth, "idempotency-key": "rebalance-0003" }, { reason: "x", amount: 5 }).expect(
          400,
        ),
      ),
    ).toBe("invalid_body");
  });

  it("when a request does not come through the edge, then it is refused; health is not behind the edge", async () => {
    const response = await request(app).get("/v1/rebalances").expect(403);
    expect(codeOf(response)).toBe("origin_not_allowed");
    await request(app).get("/health").expect(200);
  });
});

describe("GET /v1/risk", () => {
  it("when a range is asked for, then its assessments come newest first with their reasons", async () => {
    for (const [hour, block, l1] of [
      ["2026-11-27T10:00:00Z", "1", "60000"],
      ["2026-11-28T10:00:00Z", "2", "40000"],
    ] as const) {
      const state = { l1, l2: "300000", l3: "600000", pendingAssets: "30000", pendingCount: 3 };
      await recordAssessment(database.metricsDb, {
        chainId: 56,
        blockNumber: block,
        blockHash: `0x${block.repeat(64)}`,
        trigger: "block",
        assessedAt: new Date(hour),
        state,
        assessment: assessRisk(state),
      });
    }
    const response = await request(app)
      .get("/v1/risk")
      .query({ from: "2026-11-27T00:00:00Z", to: "2026-11-29T00:00:00Z" })
      .set("x-origin-verify", ORIGIN_SECRET)
      .expect(200);
    expect(
      (response.body as { data: { level: number; block_number: string; reasons: { rule: string }[] }[] }).data.map(
        (row) => [row.block_number, row.level, row.reasons.map((reason) => reason.rule)],
      ),
    ).toEqual([
      ["2", 3, ["l1_ratio_low", "l1_out_of_band", "redemption_coverage_low"]],
      ["1", 2, ["l1_ratio_low", "l1_out_of_band", "redemption_coverage_low"]],
    ]);
  });

  it.each([
    ["from after to", { from: "2026-11-29T00:00:00Z", to: "2026-11-27T00:00:00Z" }, "invalid_range"],
    ["more than 31 days", { from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z" }, "invalid_range"],
    ["a date that is not ISO 8601", { from: "yesterday", to: "2026-11-27T00:00:00Z" }, "invalid_query"],
  ])("when the range is %s, then it is 400", async (_name, range, code) => {
    const response = await request(app).get("/v1/risk").query(range).set("x-origin-verify", ORIGIN_SECRET).expect(400);
    expect(codeOf(response)).toBe(code);
  });
});
