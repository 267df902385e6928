/**
 * The listener's writes. Each batch — a final block range, or one block at the tip — is one
 * transaction: its events (inserted idempotently, unique by chain, block hash and log index),
 * what they derive (redemptions, fund snapshots), the work they cause
 * (outbox rows), the block's hash for reorganisation checks, and the new cursor. A crash at any
 * point leaves either all of it or none of it. A reorganisation is undone the same way: one
 * transaction removes the orphaned events, everything derived from them and their unsent work,
 * and moves the cursor back to the common ancestor.
 */
import { LISTENER_CHECKPOINT, type Database } from "@paimon/core/db";
import { queuedJob, type QueuedJob } from "@paimon/core/queues";
import { sql, type Kysely, type Transaction } from "kysely";
import type { ChainEvent } from "./events";
import type { BlockHeader } from "./rpc";

export const CHECKPOINT = LISTENER_CHECKPOINT;

export interface Cursor {
  readonly number: bigint;
  /** Undefined before the first block is processed. */
  readonly hash: string | undefined;
}

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
}

/** Remembered blocks this far below finality stay, for a reorg check on a lagging node. */
const BLOCK_MEMORY_BELOW_FINAL = 64n;

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
  await db
    .updateTable("sync_checkpoints")
    .set({ updated_at: sql<Date>`now()` })
    .where("name", "=", CHECKPOINT)
    .execute();
}

/** A remembered block: its hash, and whether it was final when last checked. */
export async function storedBlock(
  db: Kysely<Database>,
  chainId: number,
  number: bigint,
): Promise<{ hash: string; final: boolean } | undefined> {
  const row = await db
    .selectFrom("chain_blocks")
    .select(["block_hash", "final"])
    .where("chain_id", "=", chainId)
    .where("block_number", "=", number.toString())
    .executeTakeFirst();
  return row && { hash: row.block_hash, final: row.final };
}

/**
 * Flags the remembered blocks up to `through` as final. Called only once the chain up to our
 * cursor has been checked against the node: from then on a change to them halts the listener.
 */
export async function markFinal(db: Kysely<Database>, chainId: number, through: bigint): Promise<void> {
  await db
    .updateTable("chain_blocks")
    .set({ final: true })
    .where("chain_id", "=", chainId)
    .where("block_number", "<=", through.toString())
    .where("final", "=", false)
    .execute();
}

/** The listener cannot go on, whatever it retries: it exits and says why. */
export class FatalListenerError extends Error {}

/** Commits one batch; returns how many of its events were new (a replay finds none). */
export async function commitBatch(db: Kysely<Database>, batch: Batch): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const fresh = await insertEvents(trx, batch);
    await derive(trx, batch, fresh);
    await enqueueRisk(trx, batch, fresh);
    if (batch.blocks.length > 0) {
      await trx
        .insertInto("chain_blocks")
        .values(
          batch.blocks.map((block) => ({
            chain_id: batch.chainId,
            block_number: block.number.toString(),
            block_hash: block.hash,
            parent_hash: block.parentHash,
            final: block.number <= batch.finalized,
          })),
        )
        .onConflict((oc) =>
          oc.columns(["chain_id", "block_number"]).doUpdateSet((eb) => ({
            block_hash: eb.ref("excluded.block_hash"),
            parent_hash: eb.ref("excluded.parent_hash"),
          })),
        )
        .execute();
    }
    // The batch extends a chain whose every link was checked, so what is final on the node now
    // is final in what we remember too.
    await markFinal(trx, batch.chainId, batch.finalized);
    await trx
      .deleteFrom("chain_blocks")
      .where("chain_id", "=", batch.chainId)
      .where("block_number", "<", (batch.finalized - BLOCK_MEMORY_BELOW_FINAL).toString())
      .execute();
    await trx
      .insertInto("sync_checkpoints")
      .values({
        name: CHECKPOINT,
        chain_id: batch.chainId,
        block_number: batch.cursor.number.toString(),
        block_hash: batch.cursor.hash,
      })
      .onConflict((oc) =>
        oc.column("name").doUpdateSet({
          block_number: batch.cursor.number.toString(),
          block_hash: batch.cursor.hash,
          updated_at: sql<Date>`now()`,
        }),
      )
      .execute();
    return fresh.length;
  });
}

/**
 * Inserts the batch's events, returning those that were new. Rows travel as one array per column
 * (`unnest`): a constant number of parameters however large the batch, which PostgreSQL parses
 * and plans once — several times faster than multi-row VALUES on a backfill.
 */
async function insertEvents(trx: Transaction<Database>, batch: Batch): Promise<ChainEvent[]> {
  if (batch.events.length === 0) return [];
  // A node that repeats a log within one answer must not make it count twice.
  const e = [...new Map(batch.events.map((x) => [`${x.blockHash}/${String(x.logIndex)}`, x])).values()];
  const rows = await sql<{ block_hash: string; log_index: number }>`
    insert into chain_events (chain_id, block_number, block_hash, log_index, tx_hash, event_type, payload)
    select ${batch.chainId}, t.* from unnest(
      ${e.map((x) => x.blockNumber.toString())}::bigint[], ${e.map((x) => x.blockHash)}::text[],
      ${e.map((x) => x.logIndex)}::int[], ${e.map((x) => x.txHash)}::text[],
      ${e.map((x) => x.event.type)}::text[], ${e.map((x) => JSON.stringify(x.event))}::jsonb[]) as t
    on conflict (chain_id, block_hash, log_index) do nothing
    returning block_hash, log_index`.execute(trx);
  const fresh = new Set(rows.rows.map((row) => `${row.block_hash}/${String(row.log_index)}`));
  return e.filter((x) => fresh.has(`${x.blockHash}/${String(x.logIndex)}`));
}

/** When the block was made (the chain's clock, not ours). */
const blockTime = (batch: Batch, block: bigint) => {
  const seconds = batch.timestamps.get(block);
  if (seconds === undefined) throw new Error(`no timestamp for block ${block.toString()}`);
  return new Date(seconds * 1000);
};

/** Rows per multi-row VALUES statement (PostgreSQL allows 65,535 parameters in one). */
const CHUNK = 4_000;

async function insertChunked<T>(rows: readonly T[], insert: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < rows.length; start += CHUNK) await insert(rows.slice(start, start + CHUNK));
}

type Of<K extends ChainEvent["event"]["type"]> = ChainEvent & {
  readonly event: Extract<ChainEvent["event"], { type: K }>;
};
const ofType = <K extends ChainEvent["event"]["type"]>(events: readonly ChainEvent[], type: K) =>
  events.filter((e): e is Of<K> => e.event.type === type);

/**
 * What the batch's new events derive, in statements per kind rather than per event: requests
 * are inserted before settlements and cancellations are applied (a redemption is requested in
 * an earlier log than it is resolved, and resolves once).
 */
async function derive(trx: Transaction<Database>, batch: Batch, fresh: readonly ChainEvent[]): Promise<void> {
  const requested = ofType(fresh, "RedemptionRequested");
  if (requested.length > 0) {
    await sql`
      insert into redemptions
        (id, chain_id, owner, shares, assets, channel, status, requested_block, requested_tx, created_at)
      select t.id, ${batch.chainId}, t.owner, t.shares, t.assets, t.channel, 'requested', t.block, t.tx, t.at
      from unnest(
        ${requested.map((r) => r.event.id)}::text[], ${requested.map((r) => r.event.owner)}::text[],
        ${requested.map((r) => r.event.shares)}::numeric[], ${requested.map((r) => r.event.assets)}::numeric[],
        ${requested.map((r) => r.event.channel)}::text[], ${requested.map((r) => r.blockNumber.toString())}::bigint[],
        ${requested.map((r) => r.txHash)}::text[], ${requested.map((r) => blockTime(batch, r.blockNumber))}::timestamptz[]
      ) as t(id, owner, shares, assets, channel, block, tx, at)
      on conflict (id) do nothing`.execute(trx);
  }
  // Settling pays out: irreversible, so released only once the block is final.
  await insertOutbox(
    trx,
    requested.map(({ event, blockNumber, blockHash }) => ({
      job: queuedJob("settlements", {
        kind: "redemption",
        chainId: batch.chainId,
        redemptionId: event.id,
        channel: event.channel,
        owner: event.owner,
        assets: event.assets,
      }),
      chainId: batch.chainId,
      blockNumber,
      blockHash,
      awaitFinality: true,
    })),
  );
  for (const [type, status] of [
    ["RedemptionSettled", "settled"],
    ["RedemptionCancelled", "cancelled"],
  ] as const) {
    for (const { event, blockNumber } of ofType(fresh, type)) {
      await trx
        .updateTable("redemptions")
        .set({ status, resolved_block: blockNumber.toString(), updated_at: sql<Date>`now()` })
        .where("id", "=", event.id)
        .where("chain_id", "=", batch.chainId)
        .execute();
    }
  }
  await insertChunked(ofType(fresh, "LayerBalancesUpdated"), (chunk) =>
    trx
      .insertInto("fund_snapshots")
      .values(
        chunk.map(({ event, blockNumber, blockHash, logIndex }) => ({
          recorded_at: blockTime(batch, blockNumber),
          block_number: blockNumber.toString(),
          nav: event.nav,
          l1_value: event.l1,
          l2_value: event.l2,
          l3_value: event.l3,
          chain_id: batch.chainId,
          block_hash: blockHash,
          log_index: logIndex,
        })),
      )
      .execute(),
  );
  // An execution's status is the rebalance worker's, which sent its legs and follows their
  // receipts; the listener hands it each leg's event once final (rebalance-confirmations).
  const rebalances = ofType(fresh, "RebalanceExecuted");
  await insertOutbox(
    trx,
    rebalances.map(({ event, blockNumber, blockHash, txHash }) => ({
      job: queuedJob("rebalance-confirmations", {
        chainId: batch.chainId,
        executionId: event.executionId,
        fromLayer: event.fromLayer,
        toLayer: event.toLayer,
        amount: event.amount,
        blockNumber: blockNumber.toString(),
        txHash,
      }),
      chainId: batch.chainId,
      blockNumber,
      blockHash,
      awaitFinality: true,
    })),
  );
}

/** A job and the block whose events caused it. */
interface OutboxEntry {
  readonly job: QueuedJob;
  readonly chainId: number;
  readonly blockNumber: bigint;
  readonly blockHash: string;
  /** Irreversible work waits until the block is final. */
  readonly awaitFinality: boolean;
}

async function insertOutbox(trx: Transaction<Database>, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await sql`
    insert into outbox (queue, job_id, priority, payload, chain_id, block_number, block_hash, await_finality)
    select * from unnest(
      ${entries.map((e) => e.job.queue)}::text[], ${entries.map((e) => e.job.jobId)}::text[],
      ${entries.map((e) => e.job.priority)}::int[], ${entries.map((e) => JSON.stringify(e.job.payload))}::jsonb[],
      ${entries.map((e) => e.chainId)}::int[], ${entries.map((e) => e.blockNumber.toString())}::bigint[],
      ${entries.map((e) => e.blockHash)}::text[], ${entries.map((e) => e.awaitFinality)}::boolean[])
    on conflict (job_id) do nothing`.execute(trx);
}

/** The risk monitor hears of every block that moved money at once, final or not. */
async function enqueueRisk(trx: Transaction<Database>, batch: Batch, fresh: readonly ChainEvent[]): Promise<void> {
  const blocks = new Map<string, ChainEvent>();
  for (const e of fresh) blocks.set(e.blockHash, e);
  if (blocks.size === 0) return;
  await insertOutbox(
    trx,
    [...blocks.values()].map((e) => ({
      job: queuedJob("risk", { chainId: batch.chainId, blockNumber: e.blockNumber.toString(), blockHash: e.blockHash }),
      chainId: batch.chainId,
      blockNumber: e.blockNumber,
      blockHash: e.blockHash,
      awaitFinality: false,
    })),
  );
}

/**
 * Undoes every block above `ancestor`: their events go, and with them the redemptions they
 * requested, the settlements and cancellations they recorded (back to `requested`), the fund
 * snapshots and their unsent work (a rebalance leg's own receipt is the rebalance worker's to
 * follow). Returns how many events were removed.
 */
export async function rollBack(
  db: Kysely<Database>,
  chainId: number,
  ancestor: { readonly number: bigint; readonly hash: string },
): Promise<number> {
  const above = ancestor.number.toString();
  return db.transaction().execute(async (trx) => {
    const orphaned = await trx
      .deleteFrom("chain_events")
      .where("chain_id", "=", chainId)
      .where("block_number", ">", above)
      .returning(["event_type", "payload"])
      .execute();
    const ids = (type: string) =>
      orphaned.filter((row) => row.event_type === type).map((row) => (row.payload as { id: string }).id);
    const requested = ids("RedemptionRequested");
    const resolved = [...ids("RedemptionSettled"), ...ids("RedemptionCancelled")];
    if (requested.length > 0) {
      await trx.deleteFrom("redemptions").where("chain_id", "=", chainId).where("id", "in", requested).execute();
    }
    if (resolved.length > 0) {
      await trx
        .updateTable("redemptions")
        .set({ status: "requested", resolved_block: null, updated_at: sql<Date>`now()` })
        .where("chain_id", "=", chainId)
        .where("id", "in", resolved)
        .execute();
    }
    await trx.deleteFrom("fund_snapshots").where("chain_id", "=", chainId).where("block_number", ">", above).execute();
    await trx
      .deleteFrom("outbox")
      .where("chain_id", "=", chainId)
      .where("block_number", ">", above)
      .where("sent_at", "is", null)
      .execute();
    await trx.deleteFrom("chain_blocks").where("chain_id", "=", chainId).where("block_number", ">", above).execute();
    await trx
      .updateTable("sync_checkpoints")
      .set({ block_number: above, block_hash: ancestor.hash, updated_at: sql<Date>`now()` })
      .where("name", "=", CHECKPOINT)
      .execute();
    return orphaned.length;
  });
}
