import type { Database, TxAttemptRow, TxIntentRow, TxIntentStatus, TxPurpose } from "@paimon/core/db";
import { sql, type Kysely } from "kysely";

/** What a transaction shows: every column but the calldata (`data`, the detail's alone) and `gas_limit`. */
const INTENT_COLUMNS = [
  "id",
  "idempotency_key",
  "purpose",
  "chain_id",
  "signer",
  "to_address",
  "value",
  "nonce",
  "status",
  "replacements",
  "deadline",
  "mined_hash",
  "mined_block",
  "error",
  "rebalance_execution_id",
  "rebalance_leg",
  "redemption_id",
  "created_at",
  "updated_at",
  "completed_at",
] as const satisfies readonly (keyof TxIntentRow)[];

/** An attempt's columns, never its signed bytes (`raw`). */
const ATTEMPT_COLUMNS = [
  "intent_id",
  "seq",
  "kind",
  "nonce",
  "hash",
  "tx_type",
  "max_fee_per_gas",
  "max_priority_fee_per_gas",
  "created_at",
  "broadcast_at",
  "last_error",
] as const satisfies readonly (keyof TxAttemptRow)[];

export type IntentRow = Pick<TxIntentRow, (typeof INTENT_COLUMNS)[number]>;
export type AttemptRow = Pick<TxAttemptRow, (typeof ATTEMPT_COLUMNS)[number]>;

/**
 * A keyset position: created_at to the microsecond, as PostgreSQL stores it (a JavaScript Date
 * holds milliseconds, and a cursor rounded to them would skip rows created in the same millisecond).
 */
export interface TransactionPosition {
  readonly createdAt: string;
  readonly id: string;
}

export interface TransactionFilter {
  readonly status?: TxIntentStatus | undefined;
  readonly purpose?: TxPurpose | undefined;
  /** Rows strictly after this position in descending (created_at, id) order. */
  readonly after?: TransactionPosition | undefined;
  readonly limit: number;
}

/** Newest first, keyset-paginated on (created_at, id); each row carries its position. */
export function listTransactions(db: Kysely<Database>, filter: TransactionFilter) {
  let query = db
    .selectFrom("tx_intents")
    .select(INTENT_COLUMNS)
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("position"));
  if (filter.status) query = query.where("status", "=", filter.status);
  if (filter.purpose) query = query.where("purpose", "=", filter.purpose);
  if (filter.after) {
    const createdAt = sql<Date>`cast(${filter.after.createdAt} as timestamptz)`;
    const id = filter.after.id;
    query = query.where((eb) =>
      eb.or([eb("created_at", "<", createdAt), eb.and([eb("created_at", "=", createdAt), eb("id", "<", id)])]),
    );
  }
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
}

export function findTransaction(db: Kysely<Database>, id: string) {
  return db.selectFrom("tx_intents").select(INTENT_COLUMNS).select("data").where("id", "=", id).executeTakeFirst();
}

/** An execution's intents, by leg (then oldest first, should a leg have had more than one). */
export function executionTransactions(db: Kysely<Database>, executionId: string) {
  return db
    .selectFrom("tx_intents")
    .select(INTENT_COLUMNS)
    .where("rebalance_execution_id", "=", executionId)
    .orderBy("rebalance_leg")
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

/** The newest settlement intent of a redemption, if any. */
export function latestSettlement(db: Kysely<Database>, redemption: { readonly id: string; readonly chainId: number }) {
  return db
    .selectFrom("tx_intents")
    .select(INTENT_COLUMNS)
    .where("purpose", "=", "settlement")
    .where("chain_id", "=", redemption.chainId)
    .where("redemption_id", "=", redemption.id)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** The attempts of these intents, each intent's by seq. */
export async function attemptsOf(
  db: Kysely<Database>,
  intentIds: readonly string[],
): Promise<Map<string, AttemptRow[]>> {
  const byIntent = new Map<string, AttemptRow[]>(intentIds.map((id) => [id, []]));
  if (intentIds.length === 0) return byIntent;
  const rows = await db
    .selectFrom("tx_attempts")
    .select(ATTEMPT_COLUMNS)
    .where("intent_id", "in", intentIds)
    .orderBy("intent_id")
    .orderBy("seq")
    .execute();
  for (const row of rows) byIntent.get(row.intent_id)?.push(row);
  return byIntent;
}
