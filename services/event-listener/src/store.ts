/**
 * The listener's transactions. Each batch — a final block range, or one block at the tip — is one
 * transaction: its events (event-log.ts), what each type of them changes in the books and the
 * work it causes (event-types/, outbox-rows.ts), the blocks to check the chain against
 * (block-memory.ts) and the new cursor (checkpoint.ts). A crash at any point leaves either all of
 * it or none of it. A reorganisation is undone the same way: one transaction removes the orphaned
 * events, has each type undo what it derived, takes back their unsent work and moves the cursor
 * back to the common ancestor.
 *
 * A batch costs a fixed number of statements whatever its size: one per table written, each
 * with every row of the batch in one parameter — built before the transaction opens.
 */
import { notifyChainCommit } from "@paimon/core/commit-signal";
import type { Database } from "@paimon/core/db";
import { sql, type Kysely, type Transaction } from "kysely";
import { forgetBlocksAbove, rememberBlocks } from "./block-memory";
import { advanceCursor, rewindCursor } from "./checkpoint";
import { deleteEventsAbove, prepareEvents, type PreparedEvents } from "./event-log";
import { ALL_EVENT_TYPES, type Effect, type WriteMode } from "./event-types";
import type { ChainEvent } from "./events";
import { deleteUnsentAbove, prepareOutbox, riskNotices, type PreparedOutbox } from "./outbox-rows";
import type { BlockHeader } from "./rpc";

export interface Batch {
  readonly chainId: number;
  readonly events: readonly ChainEvent[];
  /** Timestamps (seconds) of the blocks with events that are stamped with their block's time. */
  readonly timestamps: ReadonlyMap<bigint, number>;
  /** Blocks to remember for reorganisation checks (the tip's blocks, a range's last block). */
  readonly blocks: readonly BlockHeader[];
  readonly cursor: { readonly number: bigint; readonly hash: string };
  /** Blocks at or below this are final: older remembered blocks are forgotten. */
  readonly finalized: bigint;
  /** These events and timestamps, `prepare`d ahead (while the batch before commits); else prepared here. */
  readonly prepared?: Prepared;
}

/**
 * A batch's rows and work, built before its transaction opens, as if every event were new. Built
 * while the range before it commits, the batch's own transaction is then the database's time only.
 */
export interface Prepared {
  readonly stored: PreparedEvents;
  readonly effects: readonly Effect[];
  readonly outbox: PreparedOutbox;
}

function prepareEffects(
  chainId: number,
  timestamps: ReadonlyMap<bigint, number>,
  fresh: readonly ChainEvent[],
): Omit<Prepared, "stored"> {
  const blockTime = (block: bigint) => {
    const seconds = timestamps.get(block);
    if (seconds === undefined) throw new Error(`no timestamp for block ${block.toString()}`);
    return new Date(seconds * 1000);
  };
  const effects = ALL_EVENT_TYPES.flatMap((type) => {
    const events = fresh.filter((e) => e.event.type === type.type);
    return events.length > 0 ? [type.apply({ chainId, blockTime }, events)] : [];
  });
  const work = [...effects.flatMap((effect) => effect.work), ...riskNotices(chainId, fresh)];
  return { effects, outbox: prepareOutbox(chainId, work) };
}

/** Builds a batch's statements from its events and their blocks' timestamps (see `Prepared`). */
export function prepare(
  chainId: number,
  events: readonly ChainEvent[],
  timestamps: ReadonlyMap<bigint, number>,
): Prepared {
  const stored = prepareEvents(chainId, events);
  return { stored, ...prepareEffects(chainId, timestamps, stored.events) };
}

/**
 * The unique keys a batch may legitimately find taken: an event stored already (a batch replayed,
 * or read again from an earlier start) and a job whose outbox row outlived a rollback (a block
 * back after a reorganisation, its risk notice sent). Any other key taken — a redemption id of a
 * new event, say — is a defect or a second chain's rows, and fails the commit.
 */
const REPLAYABLE_KEYS = new Set(["chain_events_pkey", "outbox_job_id_key"]);

/** PostgreSQL's unique_violation on one of the keys a replay may find taken. */
const isReplayConflict = (error: unknown) =>
  typeof error === "object" &&
  error !== null &&
  "code" in error &&
  error.code === "23505" &&
  "constraint" in error &&
  typeof error.constraint === "string" &&
  REPLAYABLE_KEYS.has(error.constraint);

/**
 * Writes the batch's rows as new (plain inserts) under a savepoint: what a batch after the cursor
 * always is. Returns false, rolled back to the savepoint, when some row was stored already (a
 * batch replayed, or read again from an earlier start) — the rows are then written as a replay.
 */
async function writeAsNew(trx: Transaction<Database>, prepared: Prepared): Promise<boolean> {
  await sql`savepoint batch_rows`.execute(trx);
  try {
    await prepared.stored.write(trx, "new");
    for (const effect of prepared.effects) await effect.write(trx, "new");
    await prepared.outbox.write(trx, "new");
  } catch (error) {
    if (!isReplayConflict(error)) throw error;
    await sql`rollback to savepoint batch_rows`.execute(trx);
    return false;
  }
  await sql`release savepoint batch_rows`.execute(trx);
  return true;
}

/**
 * From how many events a batch's rows are first tried as plain inserts (`writeAsNew`). The
 * savepoint costs two round trips, which a backfill range's thousands of rows repay many times
 * over; a block at the tip, a few rows, goes straight to inserts that keep what is there.
 */
export const PLAIN_INSERTS_FROM_EVENTS = 64;

/** Commits one batch; returns how many of its events were new (a replay finds none). */
export async function commitBatch(
  db: Kysely<Database>,
  batch: Batch,
  options: {
    /** @default PLAIN_INSERTS_FROM_EVENTS (the store's tests take both paths with any batch) */
    readonly plainInsertsFrom?: number;
    /** Told how the rows went in: as new (plain inserts), or as a replay that keeps what is there. */
    readonly written?: (how: WriteMode) => void;
  } = {},
): Promise<number> {
  const { chainId } = batch;
  const prepared = batch.prepared ?? prepare(chainId, batch.events, batch.timestamps);
  const plain = prepared.stored.events.length >= (options.plainInsertsFrom ?? PLAIN_INSERTS_FROM_EVENTS);
  return db.transaction().execute(async (trx) => {
    let fresh = prepared.stored.events;
    const asNew = plain && (await writeAsNew(trx, prepared));
    options.written?.(asNew ? "new" : "replay");
    if (!asNew) {
      fresh = await prepared.stored.write(trx, "replay");
      // Some of the events were stored already: only the new ones take effect.
      const { effects, outbox } =
        fresh.length === prepared.stored.events.length ? prepared : prepareEffects(chainId, batch.timestamps, fresh);
      for (const effect of effects) await effect.write(trx, "replay");
      await outbox.write(trx, "replay");
    }
    await rememberBlocks(trx, chainId, batch.blocks, batch.finalized);
    await advanceCursor(trx, chainId, batch.cursor);
    // Readers holding responses per block hear of it once this commits (never if it rolls back).
    await notifyChainCommit(trx);
    return fresh.length;
  });
}

/**
 * Undoes every block above `ancestor`: their events go, each type undoes what they derived (in
 * the reverse of the order they are applied in), and their unsent work goes with their blocks (a
 * rebalance leg's own receipt is the rebalance worker's to follow). Returns how many events were
 * removed.
 */
export async function rollBack(
  db: Kysely<Database>,
  chainId: number,
  ancestor: { readonly number: bigint; readonly hash: string },
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const orphaned = await deleteEventsAbove(trx, chainId, ancestor.number);
    for (const type of [...ALL_EVENT_TYPES].reverse()) {
      const events = orphaned.filter((e) => e.event.type === type.type);
      if (events.length > 0) await type.undo({ trx, chainId }, events);
    }
    await deleteUnsentAbove(trx, chainId, ancestor.number);
    await forgetBlocksAbove(trx, chainId, ancestor.number);
    await rewindCursor(trx, ancestor);
    await notifyChainCommit(trx);
    return orphaned.length;
  });
}
