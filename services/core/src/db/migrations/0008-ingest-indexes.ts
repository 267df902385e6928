import { sql, type Kysely } from "kysely";

/**
 * Fewer index entries for every event the listener writes, dropping only indexes no query needs:
 * - `redemptions_status_channel` (status, channel, id): every query that filters redemptions by
 *   status — the API's pages, the standard channel's cut-off, the fund checks' pending by
 *   channel — is served by `redemptions_status_page` (status, created_at desc, id desc), which
 *   also gives their order or their time range; none orders by (channel, id).
 * - `outbox_unsent_block` (block_number, unsent rows): a rollback's "unsent work above block n"
 *   reads `outbox_unsent`, which holds exactly the unsent rows (the relay's backlog).
 * - `fund_snapshots_block` (block_number): every query by block also names the chain, which
 *   `fund_snapshots_chain_block` (chain_id, block_number desc, log_index desc) serves.
 * A redemption request then costs 10 index entries instead of 12 (its event 2, its redemption 5,
 * its settlement's outbox row 3), a layer report 4 instead of 5.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const index of ["redemptions_status_channel", "outbox_unsent_block", "fund_snapshots_block"]) {
    await sql`drop index ${sql.id(index)}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("fund_snapshots_block").on("fund_snapshots").columns(["block_number"]).execute();
  await sql`create index outbox_unsent_block on outbox (block_number) where sent_at is null`.execute(db);
  await db.schema
    .createIndex("redemptions_status_channel")
    .on("redemptions")
    .columns(["status", "channel", "id"])
    .execute();
}
