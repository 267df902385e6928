import { LISTENER_CHECKPOINT, type Database, type MetricsDatabase } from "@paimon/core/db";
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
    .select(["block_number", "block_hash", "updated_at"])
    .where("name", "=", LISTENER_CHECKPOINT)
    .executeTakeFirst();
}

export type ChainSync = NonNullable<Awaited<ReturnType<typeof chainSync>>>;

/**
 * Which assessment `latestAssessment` would return (the same order), by its identity alone: what
 * the response cache compares to tell whether the risk it serves is still the latest.
 */
export function latestRiskMark(metricsDb: Kysely<MetricsDatabase>) {
  return metricsDb
    .selectFrom("risk_assessments")
    .select(["block_number", "block_hash", "assessed_at"])
    .orderBy("block_number", "desc")
    .orderBy("assessed_at", "desc")
    .limit(1)
    .executeTakeFirst();
}
