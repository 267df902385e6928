import { AppError } from "@paimon/core/errors";
import type { Database, TxIntentStatus, TxPurpose } from "@paimon/core/db";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { cursorCodec, keysetPage } from "../http/pages";
import { everyOf, parse } from "../http/validate";
import {
  attemptsOf,
  findTransaction,
  listTransactions,
  type AttemptRow,
  type IntentRow,
  type TransactionPosition,
} from "./transactions.repository";

export const MAX_PAGE_SIZE = 100;

/** Every state of the sender's state machine (services/workers/src/sender/sender.ts). */
export const TX_STATUSES = everyOf<TxIntentStatus>()([
  "pending",
  "submitted",
  "mined",
  "confirmed",
  "reverted",
  "cancelled",
  "failed",
]);
export const TX_PURPOSES = everyOf<TxPurpose>()(["rebalance", "settlement", "noop"]);
export const ATTEMPT_KINDS = everyOf<AttemptRow["kind"]>()(["original", "replacement", "cancel"]);

const MICROSECOND_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/** The last row's (created_at to the microsecond, id). */
const cursors = cursorCodec(
  z
    .tuple([z.string().regex(MICROSECOND_ISO), z.uuid()])
    .refine(([createdAt]) => !Number.isNaN(Date.parse(createdAt)), { message: "not a time" }),
);

export const transactionListQuery = z.strictObject({
  status: z.enum(TX_STATUSES).optional(),
  purpose: z.enum(TX_PURPOSES).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  cursor: z.string().min(1).max(512).optional(),
});
const idParam = z.strictObject({ id: z.uuid() });
const cursorPosition = ([createdAt, id]: [string, string]): TransactionPosition => ({ createdAt, id });

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** An attempt as the API shows it: fees in wei as decimal strings, never the signed bytes. */
export const presentAttempt = (row: AttemptRow) => ({
  seq: row.seq,
  kind: row.kind,
  nonce: row.nonce,
  hash: row.hash,
  tx_type: row.tx_type,
  max_fee_per_gas: row.max_fee_per_gas,
  max_priority_fee_per_gas: row.max_priority_fee_per_gas,
  created_at: row.created_at.toISOString(),
  broadcast_at: iso(row.broadcast_at),
  last_error: row.last_error,
});

/** A transaction intent as the API shows it, without its attempts (a redemption's settlement). */
export const presentTransaction = (row: IntentRow) => ({
  id: row.id,
  idempotency_key: row.idempotency_key,
  purpose: row.purpose,
  chain_id: row.chain_id,
  signer: row.signer,
  to: row.to_address,
  value: row.value,
  nonce: row.nonce,
  status: row.status,
  replacements: row.replacements,
  deadline: row.deadline.toISOString(),
  mined_hash: row.mined_hash,
  mined_block: row.mined_block,
  error: row.error,
  rebalance_execution_id: row.rebalance_execution_id,
  rebalance_leg: row.rebalance_leg,
  redemption_id: row.redemption_id,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
  completed_at: iso(row.completed_at),
});

/** Intents with their attempts, in the intents' order (two queries, whatever their number). */
export async function presentWithAttempts(db: Kysely<Database>, rows: readonly IntentRow[]) {
  const attempts = await attemptsOf(
    db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({
    ...presentTransaction(row),
    attempts: (attempts.get(row.id) ?? []).map(presentAttempt),
  }));
}

/** `GET /v1/transactions` (filters, cursor pagination) and `GET /v1/transactions/:id` (with its calldata). */
export function transactionRoutes(db: Kysely<Database>): Router {
  const router = Router();
  router.get("/v1/transactions", async (request, response) => {
    const query = parse(transactionListQuery, request.query, "invalid_query");
    const rows = await listTransactions(db, {
      status: query.status,
      purpose: query.purpose,
      after: query.cursor ? cursorPosition(cursors.decode(query.cursor)) : undefined,
      limit: query.limit + 1,
    });
    const { page, nextCursor } = keysetPage(rows, query.limit, (last) => cursors.encode([last.position, last.id]));
    response.json({ data: await presentWithAttempts(db, page), next_cursor: nextCursor });
  });
  router.get("/v1/transactions/:id", async (request, response) => {
    const { id } = parse(idParam, request.params, "invalid_id");
    const row = await findTransaction(db, id);
    if (!row) throw new AppError("transaction_not_found", `no transaction ${id}`, { status: 404 });
    const [presented] = await presentWithAttempts(db, [row]);
    response.json({ ...presented, data: row.data });
  });
  return router;
}
