import { sql, type Kysely } from "kysely";

/**
 * What the workers need in the fund's database:
 * - `schedule_runs`: one row per (schedule, slot) the scheduler handled, written in the same
 *   transaction as the slot's work, so a slot that BullMQ delivers twice, or that a catch-up and a
 *   second replica both pick, runs once;
 * - rebalance intents: their reason, when the listener's confirmation of them was final, and at
 *   most one open `threshold` intent at a time (the risk monitor raises one and no second while
 *   it is open);
 * - risk assessments move to the metrics database (TimescaleDB in the cluster): they are a time
 *   series, written at every block that moves money, and nothing here ever wrote them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("schedule_runs")
    .addColumn("schedule", "text", (c) => c.notNull())
    .addColumn("slot", "timestamptz", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull().check(sql`outcome in ('ran', 'superseded')`))
    .addColumn("result", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("run_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("schedule_runs_pkey", ["schedule", "slot"])
    .execute();

  await db.schema.alterTable("rebalance_executions").addColumn("reason", "text").execute();
  await db.schema.alterTable("rebalance_executions").addColumn("confirmed_at", "timestamptz").execute();
  await sql`create unique index rebalance_executions_one_open_threshold on rebalance_executions (trigger)
    where trigger = 'threshold' and status in ('pending', 'executing')`.execute(db);

  // The risk monitor reads the fund at a block: the latest snapshot at or before it, and what was
  // pending then (requested by then, and resolved later or not yet).
  await sql`create index fund_snapshots_chain_block on fund_snapshots (chain_id, block_number desc, log_index desc)`.execute(
    db,
  );
  await sql`create index redemptions_pending on redemptions (chain_id, requested_block) where resolved_block is null`.execute(
    db,
  );
  await sql`create index redemptions_resolved_block on redemptions (chain_id, resolved_block) where resolved_block is not null`.execute(
    db,
  );

  await db.schema.dropTable("risk_assessments").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("risk_assessments")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity())
    .addColumn("assessed_at", "timestamptz", (c) => c.notNull())
    .addColumn("level", "smallint", (c) => c.notNull().check(sql`level between 1 and 4`))
    .addColumn("l1_ratio", sql`numeric(78, 18)`, (c) => c.notNull())
    .addColumn("redemption_coverage", sql`numeric(78, 18)`)
    .addColumn("reasons", "jsonb", (c) => c.notNull())
    .addColumn("block_number", "bigint")
    .addPrimaryKeyConstraint("risk_assessments_pkey", ["assessed_at", "id"])
    .execute();
  await sql`create index risk_assessments_time on risk_assessments (assessed_at desc)`.execute(db);
  for (const index of ["redemptions_resolved_block", "redemptions_pending", "fund_snapshots_chain_block"]) {
    await sql`drop index ${sql.id(index)}`.execute(db);
  }
  await sql`drop index rebalance_executions_one_open_threshold`.execute(db);
  await db.schema.alterTable("rebalance_executions").dropColumn("confirmed_at").execute();
  await db.schema.alterTable("rebalance_executions").dropColumn("reason").execute();
  await db.schema.dropTable("schedule_runs").execute();
}
