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

export function latestRisk(db: Kysely<Database>) {
  return db
    .selectFrom("risk_assessments")
    .selectAll()
    .orderBy("assessed_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}
