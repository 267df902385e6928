/**
 * What the listener remembers of the chain to check it against the node: the hash and parent hash
 * of every block it processed that is not yet final (and the last block of each final range), and
 * whether each was final when last checked. A change to a remembered block that never was final is
 * an ordinary reorganisation; a change to one that was halts the listener.
 */
import type { Database } from "@paimon/core/db";
import type { Kysely, Transaction } from "kysely";
import type { BlockHeader } from "./rpc";

/** Remembered blocks this far below finality stay, for a reorg check on a lagging node. */
const BLOCK_MEMORY_BELOW_FINAL = 64n;

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

/**
 * Remembers a batch's blocks. The batch extends a chain whose every link was checked, so what is
 * final on the node now (`finalized`) is final in what we remember too; blocks far enough below it
 * are forgotten.
 */
export async function rememberBlocks(
  trx: Transaction<Database>,
  chainId: number,
  blocks: readonly BlockHeader[],
  finalized: bigint,
): Promise<void> {
  if (blocks.length > 0) {
    await trx
      .insertInto("chain_blocks")
      .values(
        blocks.map((block) => ({
          chain_id: chainId,
          block_number: block.number.toString(),
          block_hash: block.hash,
          parent_hash: block.parentHash,
          final: block.number <= finalized,
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
  await markFinal(trx, chainId, finalized);
  await trx
    .deleteFrom("chain_blocks")
    .where("chain_id", "=", chainId)
    .where("block_number", "<", (finalized - BLOCK_MEMORY_BELOW_FINAL).toString())
    .execute();
}

/** Forgets the blocks above a reorganisation's common ancestor. */
export async function forgetBlocksAbove(trx: Transaction<Database>, chainId: number, above: bigint): Promise<void> {
  await trx
    .deleteFrom("chain_blocks")
    .where("chain_id", "=", chainId)
    .where("block_number", ">", above.toString())
    .execute();
}
