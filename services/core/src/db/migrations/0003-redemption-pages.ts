import { sql, type Kysely } from "kysely";

/**
 * `GET /v1/redemptions` pages newest first by (created_at, id), optionally within one status or
 * one owner: each order has its index, so a page reads `limit + 1` rows instead of sorting the
 * table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex("redemptions_page")
    .on("redemptions")
    .expression(sql`created_at desc, id desc`)
    .execute();
  await db.schema
    .createIndex("redemptions_status_page")
    .on("redemptions")
    .expression(sql`status, created_at desc, id desc`)
    .execute();
  await db.schema
    .createIndex("redemptions_owner_page")
    .on("redemptions")
    .expression(sql`owner, created_at desc, id desc`)
    .execute();
  await db.schema.dropIndex("redemptions_owner").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("redemptions_owner").on("redemptions").columns(["owner", "id"]).execute();
  for (const name of ["redemptions_owner_page", "redemptions_status_page", "redemptions_page"]) {
    await db.schema.dropIndex(name).execute();
  }
}
