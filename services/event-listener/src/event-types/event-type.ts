/**
 * One kind of fund event, whole: its fields, how they are read from the contract's log, what it
 * changes in the books, and the exact inverse of that change — side by side, so that a new event
 * type is one file (listed in `index.ts`) and its undo cannot drift away from its effect.
 *
 * Both halves are set-based: `apply` gets every new event of its type in a batch at once (a
 * backfill range may hold thousands) and `undo` every orphaned one, each in as few statements as
 * the change allows. `apply` builds its rows before the batch's transaction opens — while a
 * backfill's previous range commits — and the store writes them inside it; `undo` runs inside the
 * rollback's transaction.
 */
import type { Database } from "@paimon/core/db";
import type { Transaction } from "kysely";
import type { OutboxEntry } from "../outbox-rows";

/** An event and where it sits on chain. */
export interface Located<E> {
  readonly blockNumber: bigint;
  readonly blockHash: string;
  readonly logIndex: number;
  readonly txHash: string;
  readonly event: E;
}

export interface ApplyContext {
  readonly chainId: number;
  /** When a block was made (the chain's clock, not ours); known for the blocks of `stamped` types. */
  readonly blockTime: (block: bigint) => Date;
}

/**
 * How a batch's rows are inserted. `new`: as plain inserts, for a batch none of whose rows can be
 * stored yet — a row that is there after all fails the insert with a unique violation, and the
 * store writes the batch again as a `replay`. `replay`: a row already there stays as it was (`on
 * conflict do nothing`), which makes PostgreSQL insert each row speculatively: on a backfill's
 * range, a third to a half more of each insert's time.
 */
export type WriteMode = "new" | "replay";

/** What new events change in the books: their rows, ready to write, and the work they cause. */
export interface Effect {
  readonly work: readonly OutboxEntry[];
  /** Writes the rows, inside the batch's transaction (in the order the types are listed). */
  write(trx: Transaction<Database>, mode: WriteMode): Promise<void>;
}

/** An effect that writes nothing of its own. */
export const noEffect = (work: readonly OutboxEntry[] = []): Effect => ({ work, write: () => Promise.resolve() });

export interface UndoContext {
  readonly trx: Transaction<Database>;
  readonly chainId: number;
}

export interface EventType<E extends { readonly type: string }> {
  /** The contract event's name, which is also the decoded event's `type`. */
  readonly type: E["type"];
  /**
   * Whether `apply` stamps rows with the block's time: the follower then fetches the header of
   * every block holding such an event (other blocks' headers are not needed).
   */
  readonly stamped: boolean;
  /**
   * The event from the log's arguments, in the ABI's declaration order: integers as bigints,
   * addresses and bytes32 as 0x-prefixed hex.
   */
  decode(args: readonly unknown[]): E;
  /**
   * What the batch's new events of this type change, built now and written in the batch's
   * transaction, and the work they cause (committed to the outbox with them). Types are applied in
   * the order `index.ts` lists them.
   */
  apply(context: ApplyContext, events: readonly Located<E>[]): Effect;
  /**
   * The exact inverse of `apply` for orphaned events of this type. Their unsent work goes with
   * their block (the store removes an orphaned block's outbox rows); types are undone in reverse.
   */
  undo(context: UndoContext, orphaned: readonly Located<E>[]): Promise<void>;
}

/** Declares an event type (an identity that keeps the event's type in view where it is written). */
export const defineEventType = <E extends { readonly type: string }>(type: EventType<E>): EventType<E> => type;
