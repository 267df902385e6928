/**
 * The events themselves (`chain_events`): each stored once, unique by chain, block hash and log
 * index, with its decoded payload — which is what a rollback reads to undo what it derived.
 */
import type { Database } from "@paimon/core/db";
import { sql, type Transaction } from "kysely";
import type { WriteMode } from "./event-types";
import type { ChainEvent, FundEvent } from "./events";
import { jsonRows } from "./json-rows";

const key = (e: { readonly blockHash: string; readonly logIndex: number }) => `${e.blockHash}/${String(e.logIndex)}`;

/** A batch's events, ready to insert (built before the batch's transaction opens). */
export interface PreparedEvents {
  /** The batch's events, each once. */
  readonly events: readonly ChainEvent[];
  /**
   * Inserts them, returning those that were new (a replay finds none), in the batch's order. As
   * `new`, every one of them is (or the insert fails with a unique violation).
   */
  write(trx: Transaction<Database>, mode: WriteMode): Promise<readonly ChainEvent[]>;
}

export function prepareEvents(chainId: number, events: readonly ChainEvent[]): PreparedEvents {
  // A node that repeats a log within one answer must not make it count twice.
  const unique = [...new Map(events.map((e) => [key(e), e])).values()];
  const columns = [
    ["block_number", "bigint"],
    ["block_hash", "text"],
    ["log_index", "integer"],
    ["tx_hash", "text"],
    ["event_type", "text"],
    ["payload", "jsonb"],
  ] as const;
  const rows = jsonRows("t", columns, unique, (e) => [
    e.blockNumber.toString(),
    e.blockHash,
    e.logIndex,
    e.txHash,
    e.event.type,
    e.event,
  ]);
  const insert = sql`
    insert into chain_events (chain_id, block_number, block_hash, log_index, tx_hash, event_type, payload)
    select ${chainId}, t.block_number, t.block_hash, t.log_index, t.tx_hash, t.event_type, t.payload
    from ${rows}`;
  return {
    events: unique,
    async write(trx, mode) {
      if (unique.length === 0) return [];
      if (mode === "new") {
        await insert.execute(trx);
        return unique;
      }
      const inserted = await sql<{ block_hash: string; log_index: number }>`
        ${insert} on conflict (chain_id, block_hash, log_index) do nothing
        returning block_hash, log_index`.execute(trx);
      if (inserted.rows.length === unique.length) return unique;
      const fresh = new Set(inserted.rows.map((row) => key({ blockHash: row.block_hash, logIndex: row.log_index })));
      return unique.filter((e) => fresh.has(key(e)));
    },
  };
}

/** Deletes the events of every block above `above`, returning them (oldest first) for their types to undo. */
export async function deleteEventsAbove(
  trx: Transaction<Database>,
  chainId: number,
  above: bigint,
): Promise<ChainEvent[]> {
  const rows = await trx
    .deleteFrom("chain_events")
    .where("chain_id", "=", chainId)
    .where("block_number", ">", above.toString())
    .returning(["block_number", "block_hash", "log_index", "tx_hash", "payload"])
    .execute();
  return rows
    .map((row) => ({
      blockNumber: BigInt(row.block_number),
      blockHash: row.block_hash,
      logIndex: row.log_index,
      txHash: row.tx_hash,
      // Written by insertEvents from a decoded event: the payload is that event.
      event: row.payload as FundEvent,
    }))
    .sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
}
