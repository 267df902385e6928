/**
 * What the workers read of the fund's database: the fund at a block (the layers of the latest
 * snapshot at or before it, and the redemptions pending then), the listener's last committed
 * block, and what is final. Reading "at a block" rather than "now" makes an assessment of a block
 * the same whenever it is made — a notice replayed after a crash, or handled late, changes nothing.
 */
import { LISTENER_CHECKPOINT, type Channel, type Database } from "@paimon/core/db";
import { formatUnits, toUnits, type FundState } from "@paimon/core/fund";
import { sql, type Kysely, type Transaction } from "kysely";

export interface BlockRef {
  readonly chainId: number;
  readonly number: bigint;
  readonly hash: string;
}

export interface FundStateAt extends FundState {
  /** Pending redemptions by channel. */
  readonly pendingByChannel: Readonly<Record<Channel, number>>;
}

export async function fundStateAt(
  db: Kysely<Database> | Transaction<Database>,
  chainId: number,
  block: bigint,
): Promise<FundStateAt> {
  const at = block.toString();
  const [snapshot, pending] = await Promise.all([
    db
      .selectFrom("fund_snapshots")
      .select(["l1_value", "l2_value", "l3_value"])
      .where("chain_id", "=", chainId)
      .where("block_number", "<=", at)
      .orderBy("block_number", "desc")
      .orderBy("log_index", "desc")
      .limit(1)
      .executeTakeFirst(),
    // Two index-served halves: still unresolved, or resolved only after the block.
    sql<{ channel: Channel; count: number; assets: string }>`
      select channel, count(*)::int as count, coalesce(sum(assets), 0)::text as assets from (
        select channel, assets from redemptions
        where chain_id = ${chainId} and resolved_block is null and requested_block <= ${at}
        union all
        select channel, assets from redemptions
        where chain_id = ${chainId} and resolved_block > ${at} and requested_block <= ${at}
      ) as pending
      group by channel`.execute(db),
  ]);
  const byChannel = { instant: 0, standard: 0 };
  let count = 0;
  let assets = 0n;
  for (const row of pending.rows) {
    byChannel[row.channel] = row.count;
    count += row.count;
    assets += toUnits(row.assets);
  }
  return {
    l1: snapshot?.l1_value ?? "0",
    l2: snapshot?.l2_value ?? "0",
    l3: snapshot?.l3_value ?? "0",
    pendingAssets: formatUnits(assets),
    pendingCount: count,
    pendingByChannel: byChannel,
  };
}

/** The last block the listener committed, or undefined before its first. */
export async function latestCommittedBlock(db: Kysely<Database>): Promise<BlockRef | undefined> {
  const row = await db
    .selectFrom("sync_checkpoints")
    .select(["chain_id", "block_number", "block_hash"])
    .where("name", "=", LISTENER_CHECKPOINT)
    .executeTakeFirst();
  return row && { chainId: row.chain_id, number: BigInt(row.block_number), hash: row.block_hash };
}

/**
 * Whether the events of block `hash` are still on the canonical chain as the listener knows it: a
 * reorganisation deletes an orphaned block's events, so a notice for it finds none.
 */
export async function blockIsCanonical(
  db: Kysely<Database> | Transaction<Database>,
  chainId: number,
  hash: string,
): Promise<boolean> {
  const row = await db
    .selectFrom("chain_events")
    .select("log_index")
    .where("chain_id", "=", chainId)
    .where("block_hash", "=", hash)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The newest block the listener has seen become final (below it, nothing is ever rolled back). */
export async function finalBlock(db: Kysely<Database>, chainId: number): Promise<bigint | undefined> {
  const row = await db
    .selectFrom("chain_blocks")
    .select((eb) => eb.fn.max<string | null>("block_number").as("final"))
    .where("chain_id", "=", chainId)
    .where("final", "=", true)
    .executeTakeFirst();
  const final = row?.final ?? null;
  return final === null ? undefined : BigInt(final);
}

/**
 * The newest block whose events changed the fund, as the listener has committed so far: an
 * assessment of an older block is history (a backfill, a late notice), not the fund as it is.
 */
export async function latestEventBlock(db: Kysely<Database>, chainId: number): Promise<bigint | undefined> {
  const row = await db
    .selectFrom("chain_events")
    .select((eb) => eb.fn.max<string | null>("block_number").as("latest"))
    .where("chain_id", "=", chainId)
    .executeTakeFirst();
  const latest = row?.latest ?? null;
  return latest === null ? undefined : BigInt(latest);
}
