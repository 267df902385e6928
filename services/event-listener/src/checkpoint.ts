/**
 * The listener's cursor: the last block it committed (number and hash), one row in
 * `sync_checkpoints` that the API and the workers read too. It moves only inside the transaction
 * that commits the block's events (or undoes a reorganisation), so it never runs ahead of what is
 * stored.
 */
import { notifyChainCommit } from "@paimon/core/commit-signal";
import { LISTENER_CHECKPOINT, type Database } from "@paimon/core/db";
import { sql, type Kysely, type Transaction } from "kysely";
import { AppError } from "@paimon/core/errors";

export const CHECKPOINT = LISTENER_CHECKPOINT;

export interface Cursor {
  readonly number: bigint;
  /** Undefined before the first block is processed. */
  readonly hash: string | undefined;
}

/** The listener cannot go on, whatever it retries: it exits and says why. */
export class FatalListenerError extends AppError {
  constructor(message: string) {
    super("listener_fatal", message, { retryable: false });
    this.name = "FatalListenerError";
  }
}

export async function readCursor(db: Kysely<Database>, chainId: number, startBlock: number): Promise<Cursor> {
  const row = await db
    .selectFrom("sync_checkpoints")
    .select(["chain_id", "block_number", "block_hash"])
    .where("name", "=", CHECKPOINT)
    .executeTakeFirst();
  if (!row) return { number: BigInt(startBlock) - 1n, hash: undefined };
  if (row.chain_id !== chainId) {
    throw new FatalListenerError(
      `the database follows chain ${String(row.chain_id)}, but CHAIN_ID is ${String(chainId)}`,
    );
  }
  return { number: BigInt(row.block_number), hash: row.block_hash };
}

/** Marks the cursor as fresh: the listener is at the head (readiness reads `updated_at`). */
export async function touchCursor(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable("sync_checkpoints")
      .set({ updated_at: sql<Date>`now()` })
      .where("name", "=", CHECKPOINT)
      .execute();
    await notifyChainCommit(trx);
  });
}

/** Moves the cursor forward to the batch's last block (creating it on the first batch). */
export async function advanceCursor(
  trx: Transaction<Database>,
  chainId: number,
  cursor: { readonly number: bigint; readonly hash: string },
): Promise<void> {
  await trx
    .insertInto("sync_checkpoints")
    .values({ name: CHECKPOINT, chain_id: chainId, block_number: cursor.number.toString(), block_hash: cursor.hash })
    .onConflict((oc) =>
      oc.column("name").doUpdateSet({
        block_number: cursor.number.toString(),
        block_hash: cursor.hash,
        updated_at: sql<Date>`now()`,
      }),
    )
    .execute();
}

/** Moves the cursor back to a reorganisation's common ancestor. */
export async function rewindCursor(
  trx: Transaction<Database>,
  ancestor: { readonly number: bigint; readonly hash: string },
): Promise<void> {
  await trx
    .updateTable("sync_checkpoints")
    .set({ block_number: ancestor.number.toString(), block_hash: ancestor.hash, updated_at: sql<Date>`now()` })
    .where("name", "=", CHECKPOINT)
    .execute();
}
