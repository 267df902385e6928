import { randomBytes, randomUUID } from "node:crypto";
import { createRedis } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import type { TxIntentStatus, TxPurpose } from "@paimon/core/db";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { createApp } from "./app";
import { createTestApp, openApiChecker } from "./testing";

let database: TestDatabase;
const redis = createRedis("redis://127.0.0.1:6379", { keyPrefix: `paimon-test:${randomBytes(6).toString("hex")}:` });
let app: ReturnType<typeof createApp>;
const checkAgainstDocument = openApiChecker();

beforeAll(async () => {
  database = await createTestDatabase();
  await redis.connect();
  ({ app } = createTestApp({ db: database.db, metricsDb: database.metricsDb, redis }));
});
afterAll(async () => {
  await redis.quit();
  await database.drop();
});

const SIGNER = "0x" + "5".repeat(40);
const FUND = "0x" + "f".repeat(40);
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
/** Every signed attempt's raw bytes: none of them may appear in any response. */
const raws: string[] = [];

interface Transaction {
  id: string;
  purpose: TxPurpose;
  status: TxIntentStatus;
  nonce: string | null;
  rebalance_leg: number | null;
  redemption_id: string | null;
  data?: string;
  attempts?: { seq: number; kind: string; max_fee_per_gas: string; broadcast_at: string | null }[];
}
interface Page {
  data: Transaction[];
  next_cursor: string | null;
}
const codeOf = (response: request.Response) => (response.body as { error: { code: string } }).error.code;

/** GETs `url`, checks the answer against the OpenAPI document (under `template`) and that no raw bytes leak. */
async function get(url: string, template: string, status: number): Promise<request.Response> {
  const response = await request(app).get(url).expect(status);
  checkAgainstDocument({ method: "get", path: template }, response);
  expect(response.text).not.toMatch(/"raw"/);
  for (const raw of raws) expect(response.text).not.toContain(raw);
  return response;
}

let nextHash = 1;
async function intent(values: {
  purpose: TxPurpose;
  status: TxIntentStatus;
  nonce?: number | null;
  createdAt: string;
  execution?: { id: string; leg: number };
  redemptionId?: string;
  chainId?: number;
  attempts?: { kind: "original" | "replacement" | "cancel"; maxFee: string; tip: string; broadcast: boolean }[];
}): Promise<string> {
  const id = randomUUID();
  const nonce = values.nonce === undefined ? null : values.nonce;
  const mined = ["mined", "confirmed", "reverted", "cancelled"].includes(values.status);
  await database.db
    .insertInto("tx_intents")
    .values({
      id,
      idempotency_key: `key-${id}`,
      purpose: values.purpose,
      chain_id: values.chainId ?? 56,
      signer: SIGNER,
      to_address: values.purpose === "noop" ? SIGNER : FUND,
      data: values.purpose === "noop" ? "0x" : `0xdeadbeef${"00".repeat(32)}`,
      value: "0",
      gas_limit: "210000",
      status: values.status,
      nonce,
      replacements: (values.attempts ?? []).filter((attempt) => attempt.kind === "replacement").length,
      deadline: new Date("2026-11-28T11:00:00Z"),
      mined_hash: mined ? hash(nextHash) : null,
      mined_block: mined ? "4242" : null,
      error: values.status === "reverted" ? "execution reverted" : null,
      rebalance_execution_id: values.execution?.id ?? null,
      rebalance_leg: values.execution?.leg ?? null,
      redemption_id: values.redemptionId ?? null,
      created_at: values.createdAt,
      updated_at: values.createdAt,
      completed_at: ["confirmed", "reverted", "cancelled", "failed"].includes(values.status) ? new Date() : null,
    })
    .execute();
  for (const [seq, attempt] of (values.attempts ?? []).entries()) {
    const raw = `0x02f8${randomBytes(40).toString("hex")}`;
    raws.push(raw);
    await database.db
      .insertInto("tx_attempts")
      .values({
        intent_id: id,
        seq,
        kind: attempt.kind,
        nonce: nonce ?? 0,
        hash: hash(nextHash++),
        raw,
        tx_type: 2,
        max_fee_per_gas: attempt.maxFee,
        max_priority_fee_per_gas: attempt.tip,
        broadcast_at: attempt.broadcast ? new Date("2026-11-28T10:00:05Z") : null,
        last_error: attempt.broadcast ? null : "nonce too low",
      })
      .execute();
  }
  return id;
}

const executing = randomUUID();
const cancelled = randomUUID();
const ids: Record<string, string> = {};

beforeAll(async () => {
  await database.db
    .insertInto("rebalance_executions")
    .values([
      {
        id: executing,
        trigger: "threshold",
        status: "executing",
        reason: "L1 below band",
        plan: JSON.stringify([
          { from: "L3", to: "L1", amount: "50000.000000" },
          { from: "L2", to: "L1", amount: "20000.000000" },
        ]),
        balances: JSON.stringify({ l1: "30000", l2: "370000", l3: "600000", block: "4200" }),
        created_at: "2026-11-28T10:00:00Z",
      },
      {
        id: cancelled,
        trigger: "manual",
        status: "cancelled",
        requested_by: "ops@paimon.fund",
        reason: "test",
        plan: JSON.stringify([]),
        balances: null,
        created_at: "2026-11-28T09:00:00Z",
      },
    ])
    .execute();
  // Leg 1 is stored before leg 0: the detail orders them by leg, not by age.
  ids["leg1"] = await intent({
    purpose: "rebalance",
    status: "cancelled",
    nonce: 8,
    createdAt: "2026-11-28T10:00:01.000001Z",
    execution: { id: executing, leg: 1 },
    attempts: [
      { kind: "original", maxFee: "3000000000", tip: "1000000000", broadcast: true },
      {
        kind: "cancel",
        maxFee: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        tip: "1100000000",
        broadcast: true,
      },
    ],
  });
  ids["leg0"] = await intent({
    purpose: "rebalance",
    status: "mined",
    nonce: 7,
    createdAt: "2026-11-28T10:00:01.000002Z",
    execution: { id: executing, leg: 0 },
    attempts: [
      { kind: "original", maxFee: "3000000000", tip: "1000000000", broadcast: true },
      { kind: "replacement", maxFee: "3300000000", tip: "1100000000", broadcast: false },
    ],
  });
  // Two settlements of redemption 7, the newer confirmed; one of another chain's redemption 7 is not its.
  ids["settlementOld"] = await intent({
    purpose: "settlement",
    status: "reverted",
    nonce: 5,
    createdAt: "2026-11-28T10:00:02.000000Z",
    redemptionId: "7",
    attempts: [{ kind: "original", maxFee: "3000000000", tip: "1000000000", broadcast: true }],
  });
  ids["settlementNew"] = await intent({
    purpose: "settlement",
    status: "confirmed",
    nonce: 6,
    createdAt: "2026-11-28T10:00:03.000000Z",
    redemptionId: "7",
    attempts: [{ kind: "original", maxFee: "3000000000", tip: "1000000000", broadcast: true }],
  });
  ids["otherChain"] = await intent({
    purpose: "settlement",
    status: "pending",
    createdAt: "2026-11-28T10:00:04.000000Z",
    redemptionId: "7",
    chainId: 97,
  });
  ids["failed"] = await intent({ purpose: "settlement", status: "failed", createdAt: "2026-11-28T10:00:04.500000Z" });
  // Six no-ops within one millisecond (and two at the very same instant): a page boundary among them
  // must neither skip nor repeat one.
  for (const [index, createdAt] of [
    "2026-11-28T10:00:05.123001Z",
    "2026-11-28T10:00:05.123002Z",
    "2026-11-28T10:00:05.123002Z",
    "2026-11-28T10:00:05.123500Z",
    "2026-11-28T10:00:05.123998Z",
    "2026-11-28T10:00:05.123999Z",
  ].entries()) {
    ids[`noop${index}`] = await intent({
      purpose: "noop",
      status: "confirmed",
      nonce: 100 + index,
      createdAt,
      attempts: [{ kind: "original", maxFee: "3000000000", tip: "1000000000", broadcast: true }],
    });
  }
  await database.db
    .insertInto("redemptions")
    .values(
      ["7", "8"].map((id) => ({
        id,
        chain_id: 56,
        owner: "0x" + "a".repeat(40),
        shares: "10",
        assets: "9.5",
        channel: "instant" as const,
        status: "requested" as const,
        requested_block: "1000",
        requested_tx: hash(9000 + Number(id)),
      })),
    )
    .execute();
});

describe("GET /v1/rebalances/:id", () => {
  it("when an execution has two legs, then it shows its balances and each leg's transaction by leg, with attempts by seq", async () => {
    const response = await get(`/v1/rebalances/${executing}`, "/v1/rebalances/{id}", 200);
    const body = response.body as { balances: unknown; transactions: Transaction[] };
    expect(body).toMatchObject({ id: executing, status: "executing", trigger: "threshold" });
    expect(body.balances).toEqual({ l1: "30000", l2: "370000", l3: "600000", block: "4200" });
    expect(body.transactions.map((tx) => [tx.id, tx.rebalance_leg, tx.status, tx.nonce])).toEqual([
      [ids["leg0"], 0, "mined", "7"],
      [ids["leg1"], 1, "cancelled", "8"],
    ]);
    const [leg0, leg1] = body.transactions;
    expect(leg0).toMatchObject({
      purpose: "rebalance",
      rebalance_execution_id: executing,
      signer: SIGNER,
      to: FUND,
      value: "0",
      replacements: 1,
      mined_block: "4242",
      deadline: "2026-11-28T11:00:00.000Z",
      created_at: "2026-11-28T10:00:01.000Z",
      completed_at: null,
    });
    expect(leg0!.attempts).toEqual([
      {
        seq: 0,
        kind: "original",
        nonce: "7",
        hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) as string,
        tx_type: 2,
        max_fee_per_gas: "3000000000",
        max_priority_fee_per_gas: "1000000000",
        created_at: expect.any(String) as string,
        broadcast_at: "2026-11-28T10:00:05.000Z",
        last_error: null,
      },
      expect.objectContaining({
        seq: 1,
        kind: "replacement",
        max_fee_per_gas: "3300000000",
        broadcast_at: null,
        last_error: "nonce too low",
      }) as unknown,
    ]);
    // Fees beyond 2^53 come as exact decimal strings.
    expect(leg1!.attempts!.map((attempt) => [attempt.kind, attempt.max_fee_per_gas])).toEqual([
      ["original", "3000000000"],
      ["cancel", "115792089237316195423570985008687907853269984665640564039457584007913129639935"],
    ]);
    expect(body.transactions.every((tx) => !("data" in tx))).toBe(true);
  });

  it("when an execution has no transactions, then its list is empty and balances null", async () => {
    const response = await get(`/v1/rebalances/${cancelled}`, "/v1/rebalances/{id}", 200);
    expect(response.body).toMatchObject({ id: cancelled, status: "cancelled", balances: null, transactions: [] });
  });

  it("when the id is not a uuid, then it is 400 invalid_id naming the field; unknown, 404", async () => {
    const invalid = await get("/v1/rebalances/not-a-uuid", "/v1/rebalances/{id}", 400);
    expect(invalid.body).toMatchObject({ error: { code: "invalid_id", details: { issues: [{ path: "id" }] } } });
    const missing = await get(`/v1/rebalances/${randomUUID()}`, "/v1/rebalances/{id}", 404);
    expect(codeOf(missing)).toBe("rebalance_not_found");
  });
});

describe("GET /v1/rebalances", () => {
  it("when listed, then each execution shows its balances, and no transactions", async () => {
    const response = await get("/v1/rebalances", "/v1/rebalances", 200);
    const data = (response.body as { data: { id: string; balances: unknown }[] }).data;
    expect(data.map((row) => [row.id, row.balances])).toEqual([
      [executing, { l1: "30000", l2: "370000", l3: "600000", block: "4200" }],
      [cancelled, null],
    ]);
    expect(data.every((row) => !("transactions" in row))).toBe(true);
  });

  it("when filtered by status cancelled, then only cancelled executions return", async () => {
    const response = await get("/v1/rebalances?status=cancelled", "/v1/rebalances", 200);
    expect((response.body as { data: { id: string }[] }).data.map((row) => row.id)).toEqual([cancelled]);
  });
});

describe("GET /v1/transactions", () => {
  const all = () => Object.values(ids);

  it("when paging with limit and cursor, then every transaction comes once, newest first, even within one millisecond", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/transactions?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const body = (await get(url, "/v1/transactions", 200)).body as Page;
      expect(body.data.length).toBeLessThanOrEqual(2);
      expect(body.data.every((tx) => !("data" in tx) && Array.isArray(tx.attempts))).toBe(true);
      seen.push(...body.data.map((tx) => tx.id));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(Math.ceil(all().length / 2));
    expect(new Set(seen).size).toBe(all().length);
    expect(seen.slice(0, 6).sort()).toEqual(Array.from({ length: 6 }, (_, index) => ids[`noop${index}`]).sort());
    expect(seen.slice(0, 2)).toEqual([ids["noop5"], ids["noop4"]]);
    expect(seen.slice(6)).toEqual([
      ids["failed"],
      ids["otherChain"],
      ids["settlementNew"],
      ids["settlementOld"],
      ids["leg0"],
      ids["leg1"],
    ]);
  });

  it("when listed without a limit, then it returns 20 at most and the attempts of each", async () => {
    const body = (await get("/v1/transactions", "/v1/transactions", 200)).body as Page;
    expect(body.data).toHaveLength(all().length);
    expect(body.next_cursor).toBeNull();
    expect(body.data.find((tx) => tx.id === ids["leg0"])?.attempts?.map((attempt) => attempt.seq)).toEqual([0, 1]);
    expect(body.data.find((tx) => tx.id === ids["otherChain"])?.attempts).toEqual([]);
  });

  it.each([
    ["purpose=settlement", ["failed", "otherChain", "settlementNew", "settlementOld"]],
    ["status=cancelled", ["leg1"]],
    ["purpose=settlement&status=confirmed", ["settlementNew"]],
    ["purpose=rebalance&status=pending", []],
    ["status=mined&limit=1", ["leg0"]],
  ])("when filtered by %s, then only matching transactions return", async (query, expected) => {
    const body = (await get(`/v1/transactions?${query}`, "/v1/transactions", 200)).body as Page;
    expect(body.data.map((tx) => tx.id)).toEqual(expected.map((name) => ids[name]));
  });

  it.each([
    ["status=lost", "invalid_query"],
    ["purpose=payroll", "invalid_query"],
    ["limit=0", "invalid_query"],
    ["limit=101", "invalid_query"],
    ["colour=red", "invalid_query"],
    ["cursor=bm90LWEtY3Vyc29y", "invalid_cursor"],
    [
      `cursor=${Buffer.from(JSON.stringify(["2026-11-28T10:00:05.123Z", randomUUID()])).toString("base64url")}`,
      "invalid_cursor",
    ],
    [
      `cursor=${Buffer.from(JSON.stringify(["2026-13-45T10:00:05.123000Z", randomUUID()])).toString("base64url")}`,
      "invalid_cursor",
    ],
  ])("when the query is %s, then it is 400 %s", async (query, code) => {
    const response = await get(`/v1/transactions?${query}`, "/v1/transactions", 400);
    expect(codeOf(response)).toBe(code);
  });
});

describe("GET /v1/transactions/:id", () => {
  it("then it shows the transaction with its calldata and attempts by seq", async () => {
    const response = await get(`/v1/transactions/${ids["leg1"]}`, "/v1/transactions/{id}", 200);
    const body = response.body as Transaction;
    expect(body).toMatchObject({
      id: ids["leg1"],
      purpose: "rebalance",
      status: "cancelled",
      nonce: "8",
      rebalance_execution_id: executing,
      rebalance_leg: 1,
      redemption_id: null,
      data: `0xdeadbeef${"00".repeat(32)}`,
      completed_at: expect.any(String) as string,
    });
    expect(body.attempts?.map((attempt) => [attempt.seq, attempt.kind])).toEqual([
      [0, "original"],
      [1, "cancel"],
    ]);
  });

  it("when a transaction has no nonce yet, then nonce and mined fields are null", async () => {
    const response = await get(`/v1/transactions/${ids["failed"]}`, "/v1/transactions/{id}", 200);
    expect(response.body).toMatchObject({ nonce: null, mined_hash: null, mined_block: null, attempts: [] });
  });

  it("when the id is unknown, then it is 404 transaction_not_found", async () => {
    const response = await get(`/v1/transactions/${randomUUID()}`, "/v1/transactions/{id}", 404);
    expect(codeOf(response)).toBe("transaction_not_found");
  });

  it.each(["not-a-uuid", "123", "0x" + "a".repeat(64)])(
    "when the id is %s, then it is 400 invalid_id naming the field",
    async (id) => {
      const response = await get(`/v1/transactions/${id}`, "/v1/transactions/{id}", 400);
      expect(response.body).toMatchObject({
        error: { code: "invalid_id", details: { issues: [{ path: "id", message: expect.any(String) as string }] } },
      });
    },
  );
});

describe("GET /v1/redemptions/:id", () => {
  it("when a redemption was settled, then it shows its newest settlement of its chain, without attempts", async () => {
    const response = await get("/v1/redemptions/7", "/v1/redemptions/{id}", 200);
    const settlement = (response.body as { settlement: Transaction }).settlement;
    expect(settlement).toMatchObject({
      id: ids["settlementNew"],
      purpose: "settlement",
      status: "confirmed",
      redemption_id: "7",
      chain_id: 56,
    });
    expect(settlement).not.toHaveProperty("attempts");
    expect(settlement).not.toHaveProperty("data");
  });

  it("when a redemption has no settlement, then settlement is null", async () => {
    const response = await get("/v1/redemptions/8", "/v1/redemptions/{id}", 200);
    expect(response.body).toMatchObject({ id: "8", settlement: null });
  });
});
