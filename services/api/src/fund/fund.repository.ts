import type { Database } from "@paimon/core/db";
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
