/**
 * The outbox rows a commit writes, and what a rollback takes back: work is committed in the same
 * transaction as the events that cause it, remembering their block, and relayed to its queue
 * afterwards (relay.ts).
 */
import type { Database } from "@paimon/core/db";
import { queuedJob, type QueuedJob } from "@paimon/core/queues";
import { sql, type Transaction } from "kysely";
import type { WriteMode } from "./event-types";
import type { ChainEvent } from "./events";
import { jsonRows } from "./json-rows";

/** A job and the block whose events caused it. */
export interface OutboxEntry {
  readonly job: QueuedJob;
  readonly blockNumber: bigint;
  readonly blockHash: string;
  /** Irreversible work waits until the block is final. */
  readonly awaitFinality: boolean;
}

export interface PreparedOutbox {
  write(trx: Transaction<Database>, mode: WriteMode): Promise<void>;
}

/**
 * The batch's work, ready to add in one statement (built before the batch's transaction opens); a
 * job already there (a replay) stays as it was.
 */
export function prepareOutbox(chainId: number, entries: readonly OutboxEntry[]): PreparedOutbox {
  if (entries.length === 0) return { write: () => Promise.resolve() };
  const columns = [
    ["queue", "text"],
    ["job_id", "text"],
    ["priority", "integer"],
    ["payload", "jsonb"],
    ["block_number", "bigint"],
    ["block_hash", "text"],
    ["await_finality", "boolean"],
  ] as const;
  const rows = jsonRows("t", columns, entries, (e) => [
    e.job.queue,
    e.job.jobId,
    e.job.priority,
    e.job.payload,
    e.blockNumber.toString(),
    e.blockHash,
    e.awaitFinality,
  ]);
  const insert = sql`
    insert into outbox (queue, job_id, priority, payload, chain_id, block_number, block_hash, await_finality)
    select t.queue, t.job_id, t.priority, t.payload, ${chainId}, t.block_number, t.block_hash, t.await_finality
    from ${rows}`;
  return {
    write: async (trx, mode) => {
      await (mode === "new" ? insert : sql`${insert} on conflict (job_id) do nothing`).execute(trx);
    },
  };
}

/** The risk monitor hears of every block that moved money at once, final or not: one notice per block. */
export function riskNotices(chainId: number, fresh: readonly ChainEvent[]): OutboxEntry[] {
  const blocks = new Map<string, ChainEvent>();
  for (const e of fresh) blocks.set(e.blockHash, e);
  return [...blocks.values()].map((e) => ({
    job: queuedJob("risk", { chainId, blockNumber: e.blockNumber.toString(), blockHash: e.blockHash }),
    blockNumber: e.blockNumber,
    blockHash: e.blockHash,
    awaitFinality: false,
  }));
}

/**
 * Takes back the unsent work of every block above `above`. Sent work stays: what reached a queue
 * is its worker's to reconcile (a rebalance leg's receipt, a settlement checked on chain first).
 */
export async function deleteUnsentAbove(trx: Transaction<Database>, chainId: number, above: bigint): Promise<void> {
  await trx
    .deleteFrom("outbox")
    .where("chain_id", "=", chainId)
    .where("block_number", ">", above.toString())
    .where("sent_at", "is", null)
    .execute();
}
