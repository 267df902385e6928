import { sql, type Kysely } from "kysely";

/**
 * An operator's Idempotency-Key is the operator's own, and bound to the request it came with:
 * - `request_hash`: SHA-256 of the operator's request body as validated, so that the same key
 *   with a different body is refused (422) instead of answered with the first execution; null
 *   for the workers' executions and for manual ones made before this migration;
 * - keys are unique per operator for manual executions, and among the workers' own executions
 *   (threshold, scheduled) as before — no longer across both: one operator's key is not
 *   another's, and no operator's key can take a slot the risk monitor or the scheduler will
 *   claim (`threshold-…`, `scheduled-…` were valid operator keys, and a manual execution under
 *   one made the worker's insert a silent no-op).
 *
 * The workers' `on conflict do nothing` (no target) covers either index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("rebalance_executions").addColumn("request_hash", "text").execute();
  await sql`alter table rebalance_executions drop constraint rebalance_executions_idempotency_key_key`.execute(db);
  await sql`create unique index rebalance_executions_worker_key on rebalance_executions (idempotency_key)
    where trigger <> 'manual'`.execute(db);
  await sql`create unique index rebalance_executions_operator_key on rebalance_executions (requested_by, idempotency_key)
    where trigger = 'manual'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index rebalance_executions_operator_key`.execute(db);
  await sql`drop index rebalance_executions_worker_key`.execute(db);
  await sql`alter table rebalance_executions add constraint rebalance_executions_idempotency_key_key
    unique (idempotency_key)`.execute(db);
  await db.schema.alterTable("rebalance_executions").dropColumn("request_hash").execute();
}
