import { LISTENER_CHECKPOINT, type Database } from "@paimon/core/db";
import type { Kysely } from "kysely";

export function latestSnapshot(db: Kysely<Database>) {
  return db
    .selectFrom("fund_snapshots")
    .selectAll()
    .orderBy("recorded_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** The chain follower's checkpoint: the last block it committed, and when. Undefined before its first. */
export function chainSync(db: Kysely<Database>) {
  return db
    .selectFrom("sync_checkpoints")
    .select(["block_number", "updated_at"])
    .where("name", "=", LISTENER_CHECKPOINT)
    .executeTakeFirst();
}
