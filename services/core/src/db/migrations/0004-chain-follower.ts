import { sql, type Kysely } from "kysely";

/**
 * What the event listener needs to survive reorganisations and release work only when it is
 * final:
 * - `chain_blocks`: the hash and parent hash of every processed block not yet final (and the end
 *   of each final range), and whether it has become final, to find the common ancestor by
 *   walking back and to tell an ordinary reorganisation from one below finality;
 * - outbox rows remember their block, so a reorganisation deletes the unsent work of orphaned
 *   blocks, and whether they wait for finality (irreversible work) or not (the risk monitor);
 * - fund snapshots and redemptions remember the chain event that produced them, so removing an
 *   orphaned event removes what it derived.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("chain_blocks")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("parent_hash", "text", (c) => c.notNull())
    // Whether the block was final when the listener last checked its chain: a change to a final
    // block is a reorganisation below finality; a change to one that never was is an ordinary one.
    .addColumn("final", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("chain_blocks_pkey", ["chain_id", "block_number"])
    .execute();

  await db.schema
    .alterTable("outbox")
    .addColumn("chain_id", "integer")
    .addColumn("block_number", "bigint")
    .addColumn("block_hash", "text")
    .addColumn("await_finality", "boolean", (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`create index outbox_unsent_block on outbox (block_number) where sent_at is null`.execute(db);

  await db.schema.alterTable("fund_snapshots").addColumn("chain_id", "integer").execute();
  await db.schema.alterTable("fund_snapshots").addColumn("block_hash", "text").execute();
  await db.schema.alterTable("fund_snapshots").addColumn("log_index", "integer").execute();
  await sql`create unique index fund_snapshots_event on fund_snapshots (chain_id, block_hash, log_index, recorded_at)
    where block_hash is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index fund_snapshots_event`.execute(db);
  for (const column of ["log_index", "block_hash", "chain_id"]) {
    await db.schema.alterTable("fund_snapshots").dropColumn(column).execute();
  }
  await sql`drop index outbox_unsent_block`.execute(db);
  for (const column of ["await_finality", "block_hash", "block_number", "chain_id"]) {
    await db.schema.alterTable("outbox").dropColumn(column).execute();
  }
  await db.schema.dropTable("chain_blocks").execute();
}
