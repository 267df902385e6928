import { z } from "zod";
import { DATA_AGE_HEADER } from "./http/data-age";
import { REBALANCE_STATUSES, rebalanceListQuery, triggerBody } from "./rebalances/rebalances.routes";
import { listQuery as redemptionListQuery } from "./redemptions/redemptions.routes";
import { riskQuery } from "./risk/risk.routes";
import { ATTEMPT_KINDS, TX_PURPOSES, TX_STATUSES, transactionListQuery } from "./transactions/transactions.routes";

type JsonSchema = Record<string, unknown>;

/** Query parameters of an OpenAPI operation, from the zod schema that validates them. */
function queryParameters(schema: z.ZodObject): object[] {
  const json = z.toJSONSchema(schema, { io: "input" }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: (json.required ?? []).includes(name),
    schema: property,
  }));
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});
const ok = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });
const json = (description: string, schema: JsonSchema) => ({
  description,
  content: { "application/json": { schema } },
});
/** A response of chain-indexed data, with how old that data is. */
const withDataAge = <R extends object>(response: R) => ({
  ...response,
  headers: {
    [DATA_AGE_HEADER]: {
      description:
        "Whole seconds since the chain follower last committed a block: how stale the chain-derived data is. " +
        "Absent while nothing is indexed yet.",
      schema: { type: "integer", minimum: 0 },
    },
  },
});
/** A response built once per commit (the fund, a list's first page): validators for a client to revalidate cheaply. */
const perBlock = <R extends { headers: Record<string, unknown> }>(response: R) => ({
  ...response,
  headers: {
    ...response.headers,
    ETag: {
      description: "a strong validator of the body; it changes when a commit changes the body",
      schema: { type: "string" },
    },
    "Cache-Control": {
      description: "`no-cache`: a client may keep the body but revalidates it (If-None-Match) before each reuse",
      schema: { type: "string" },
    },
  },
});
const notModified = {
  description: "the body the client holds (If-None-Match) is still the current one; no body",
};
/** What every /v1 operation may also answer. */
const v1 = <R extends Record<string, unknown>>(responses: R) => ({
  ...responses,
  "429": {
    ...errorResponse("rate limited (per client address): `rate_limited`"),
    headers: { "Retry-After": { schema: { type: "integer" } } },
  },
  "503": {
    ...errorResponse(
      "the database is unavailable or did not answer in time: `database_unavailable`, retryable after Retry-After",
    ),
    headers: { "Retry-After": { description: "seconds", schema: { type: "integer", minimum: 1 } } },
  },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: JsonSchema) => ({ anyOf: [schema, { type: "null" }] });

/** Integers of any size (wei, nonces, blocks) are decimal strings: JSON numbers would round them. */
const uint = { type: "string", pattern: "^\\d{1,78}$" };
const decimal = { type: "string", pattern: "^\\d{1,60}(\\.\\d{1,18})?$" };
const time = { type: "string", format: "date-time" };
const text = { type: "string" };
const hex = { type: "string", pattern: "^0x[0-9a-fA-F]*$" };
const object = (properties: Record<string, JsonSchema>, description?: string): JsonSchema => ({
  type: "object",
  ...(description ? { description } : {}),
  required: Object.keys(properties),
  properties,
  additionalProperties: false,
});

const attempt = object(
  {
    seq: { type: "integer", minimum: 0 },
    kind: { enum: [...ATTEMPT_KINDS] },
    nonce: uint,
    hash: hex,
    tx_type: { enum: [0, 2], description: "0: legacy (both fee fields hold its gas price); 2: EIP-1559" },
    max_fee_per_gas: { ...uint, description: "wei" },
    max_priority_fee_per_gas: { ...uint, description: "wei" },
    created_at: time,
    broadcast_at: nullable(time),
    last_error: nullable(text),
  },
  "One signed transaction of an intent (its raw bytes are never shown).",
);

/** A transaction intent's fields; the list and a rebalance add its attempts, the detail its calldata too. */
const transactionFields: Record<string, JsonSchema> = {
  id: { type: "string", format: "uuid" },
  idempotency_key: text,
  purpose: { enum: [...TX_PURPOSES] },
  chain_id: { type: "integer" },
  signer: hex,
  to: hex,
  value: { ...uint, description: "wei" },
  nonce: nullable(uint),
  status: {
    enum: [...TX_STATUSES],
    description:
      "pending: stored, no attempt accepted by a node yet; submitted: a node accepted one; mined: one has a receipt, " +
      "not yet final; confirmed, reverted, cancelled (its zero-value self-send mined), failed (no nonce of it ever " +
      "reached the chain): final",
  },
  replacements: { type: "integer", minimum: 0, description: "fee-bumped replacements signed (cancellation excluded)" },
  deadline: { ...time, description: "past it, an unmined intent is cancelled" },
  mined_hash: nullable(hex),
  mined_block: nullable(uint),
  error: nullable(text),
  rebalance_execution_id: nullable({ type: "string", format: "uuid" }),
  rebalance_leg: nullable({ type: "integer", minimum: 0 }),
  redemption_id: nullable(uint),
  created_at: time,
  updated_at: time,
  completed_at: nullable(time),
};
const attempts = { type: "array", items: ref("TransactionAttempt"), description: "by seq" };

const redemptionFields: Record<string, JsonSchema> = {
  id: uint,
  owner: hex,
  shares: decimal,
  assets: decimal,
  channel: { enum: ["instant", "standard"] },
  status: { enum: ["requested", "settled", "cancelled"] },
  requested_block: uint,
  requested_tx: hex,
  resolved_block: nullable(uint),
  created_at: time,
  updated_at: time,
};

const layer = { enum: ["L1", "L2", "L3"] };
const rebalanceFields: Record<string, JsonSchema> = {
  id: { type: "string", format: "uuid" },
  trigger: { enum: ["threshold", "scheduled", "manual"] },
  status: { enum: [...REBALANCE_STATUSES] },
  requested_by: nullable(text),
  reason: nullable(text),
  plan: { type: "array", items: object({ from: layer, to: layer, amount: decimal }) },
  error: nullable(text),
  balances: {
    description: "the on-chain layer balances (and head block) the plan was made from; null until planned",
    anyOf: [
      {
        type: "object",
        required: ["l1", "l2", "l3", "block"],
        properties: {
          l1: decimal,
          l2: decimal,
          l3: decimal,
          block: uint,
          skipped: { ...text, description: "why nothing was planned" },
        },
      },
      { type: "null" },
    ],
  },
  created_at: time,
  completed_at: nullable(time),
};

/**
 * The API's OpenAPI 3.1 document, built from the same zod schemas that validate requests, so
 * the document cannot describe parameters the API does not accept. Served at /openapi.json and
 * committed as services/api/openapi.json (checked fresh by `pnpm generate --check`).
 */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "Paimon fund API", version: "1.0.0", description: "The fund's read API and its operator API." },
    components: {
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string" },
                message: { type: "string" },
                details: {},
                request_id: { type: "string" },
              },
            },
          },
        },
        TransactionAttempt: attempt,
        Transaction: object({ ...transactionFields, attempts }, "A transaction intent of the operator's sender."),
        TransactionDetail: object(
          { ...transactionFields, data: { ...hex, description: "the calldata" }, attempts },
          "A transaction intent with its calldata.",
        ),
        TransactionSummary: object(transactionFields, "A transaction intent, without its attempts."),
        TransactionPage: object({ data: { type: "array", items: ref("Transaction") }, next_cursor: nullable(text) }),
        Redemption: object(redemptionFields),
        RedemptionDetail: object({
          ...redemptionFields,
          settlement: { ...nullable(ref("TransactionSummary")), description: "its newest settlement transaction" },
        }),
        RedemptionPage: object({ data: { type: "array", items: ref("Redemption") }, next_cursor: nullable(text) }),
        Rebalance: object(rebalanceFields),
        RebalanceDetail: object({
          ...rebalanceFields,
          transactions: { type: "array", items: ref("Transaction"), description: "its legs' transactions, by leg" },
        }),
        RebalanceList: object({ data: { type: "array", items: ref("Rebalance") } }),
        Fund: {
          type: "object",
          required: ["nav", "as_of_block", "as_of", "layers", "risk", "chain_sync"],
          properties: {
            nav: decimal,
            as_of_block: { ...uint, description: "the block of the latest snapshot" },
            as_of: { ...time, description: "when the latest snapshot was recorded" },
            layers: {
              type: "array",
              items: object({ layer, value: decimal, ratio: { type: "string", pattern: "^\\d+\\.\\d{6}$" } }),
            },
            risk: { description: "the latest risk assessment; null when the metrics database did not answer" },
            chain_sync: {
              ...nullable(object({ block_number: uint, updated_at: time })),
              description:
                "the last block the chain follower committed and when: the data is current up to this block (its " +
                "age is the Paimon-Data-Age header); null before the first",
            },
          },
          additionalProperties: false,
        },
        Readiness: {
          type: "object",
          required: ["status"],
          properties: {
            status: { enum: ["ready", "unavailable"] },
            failed: {
              type: "object",
              description: "why this instance cannot serve: `shutdown`, `postgres`",
              additionalProperties: text,
            },
            degraded: {
              type: "object",
              description:
                "what does not fail readiness: `redis` unreachable, `chain_sync` older than " +
                "MAX_CHAIN_SYNC_AGE_SECONDS (clients see the data's age in Paimon-Data-Age) — both shared by every " +
                "replica —, and `commit_signals`, this instance's connection for commit signals lost (its cached " +
                "responses re-check the checkpoint on their own meanwhile)",
              additionalProperties: text,
            },
          },
          additionalProperties: false,
        },
      },
      securitySchemes: {
        operator: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "HS256, role `operator`" },
      },
    },
    paths: {
      "/health": { get: { summary: "Liveness", responses: { "200": ok("the process serves") } } },
      "/health/ready": {
        get: {
          summary:
            "Readiness of this instance: not shutting down, and its PostgreSQL pool answers `select 1` within 2 s. " +
            "Redis and chain-sync staleness, shared by every replica, are reported under `degraded` and do not fail it.",
          responses: {
            "200": json("ready (perhaps degraded)", ref("Readiness")),
            "503": json("not ready: `failed` names why", ref("Readiness")),
          },
        },
      },
      "/v1/fund": {
        get: {
          summary:
            "NAV, the three liquidity layers, the risk level and its reasons, the as-of block, and how far the chain " +
            "follower has got",
          responses: v1({
            "200": perBlock(withDataAge(json("the fund, as of the last commit", ref("Fund")))),
            "304": notModified,
            "404": errorResponse("nothing indexed yet"),
          }),
        },
      },
      "/v1/redemptions": {
        get: {
          summary:
            "Redemptions, newest first, cursor-paginated. A first page (no cursor, no owner) is the one built at " +
            "the last commit, with an ETag; later pages and lists by owner are read per request.",
          parameters: queryParameters(redemptionListQuery),
          responses: v1({
            "200": perBlock(withDataAge(json("a page and its next_cursor", ref("RedemptionPage")))),
            "304": notModified,
            "400": errorResponse("invalid query or cursor"),
          }),
        },
      },
      "/v1/redemptions/{id}": {
        get: {
          summary: "One redemption",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: "^\\d{1,78}$" } }],
          responses: v1({
            "200": withDataAge(json("the redemption and its newest settlement transaction", ref("RedemptionDetail"))),
            "400": errorResponse(
              "invalid id (`invalid_id`), or a path that is not percent-encoded UTF-8 (`invalid_path`)",
            ),
            "404": withDataAge(errorResponse("unknown id")),
          }),
        },
      },
      "/v1/risk": {
        get: {
          summary: "Risk assessments over a time range (at most 31 days)",
          parameters: queryParameters(riskQuery),
          responses: v1({ "200": ok("the assessments"), "400": errorResponse("invalid range") }),
        },
      },
      "/v1/rebalances": {
        get: {
          summary: "Rebalance executions, newest first",
          parameters: queryParameters(rebalanceListQuery),
          responses: v1({
            "200": json("the executions", ref("RebalanceList")),
            "400": errorResponse("invalid query"),
          }),
        },
        post: {
          summary: "Trigger a manual rebalance (operator)",
          description:
            "Created once per operator and Idempotency-Key. The same key with the same body (after trimming) is " +
            "answered with the first execution (`created: false`); with a different body it is 422 " +
            "`idempotency_key_reused`. A key belongs to the operator who sent it: another operator's same key makes " +
            "another execution.",
          security: [{ operator: [] }],
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: true,
              schema: { type: "string", pattern: "^[A-Za-z0-9_-]{8,128}$" },
            },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: z.toJSONSchema(triggerBody, { io: "input" }) } },
          },
          responses: v1({
            "202": ok("accepted: the execution's id (the same for a repeated Idempotency-Key and body)"),
            "400": errorResponse(
              "invalid body or Idempotency-Key; a string with NUL or an unpaired surrogate is refused naming its field",
            ),
            "401": errorResponse("missing, invalid or expired token"),
            "403": errorResponse("not an operator"),
            "415": errorResponse("not application/json"),
            "422": errorResponse("`idempotency_key_reused`: this operator used the key with another body"),
          }),
        },
      },
      "/v1/rebalances/{id}": {
        get: {
          summary: "One rebalance execution, with its legs' transactions",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
          responses: v1({
            "200": json("the execution", ref("RebalanceDetail")),
            "400": errorResponse("invalid id"),
            "404": errorResponse("unknown id"),
          }),
        },
      },
      "/v1/transactions": {
        get: {
          summary: "The operator's transactions (rebalance legs, settlements, no-ops), newest first, cursor-paginated",
          parameters: queryParameters(transactionListQuery),
          responses: v1({
            "200": json("a page and its next_cursor", ref("TransactionPage")),
            "400": errorResponse("invalid query or cursor"),
          }),
        },
      },
      "/v1/transactions/{id}": {
        get: {
          summary: "One transaction, with its calldata and attempts",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
          responses: v1({
            "200": json("the transaction", ref("TransactionDetail")),
            "400": errorResponse("invalid id"),
            "404": errorResponse("unknown id"),
          }),
        },
      },
    },
  };
}
