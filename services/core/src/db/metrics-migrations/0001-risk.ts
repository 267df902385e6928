import { sql, type Kysely } from "kysely";

const AMOUNT = sql`numeric(78, 18)`;
const RATIO = sql`numeric(24, 6)`;

/**
 * The metrics database's time series, in the `metrics` schema (so that development can keep it in
 * the fund's own PostgreSQL without a clash):
 * - `risk_assessments`: the risk monitor's assessment of each block that moved money — NAV, the
 *   layers and their ratios, what waits on L1 and how many times L1 covers it, the level and the
 *   reasons that chose it;
 * - `assessed_blocks`: the block each assessment is for, unique, written in the assessment's
 *   transaction: a replayed job stores nothing twice. (A hypertable's unique keys must include its
 *   time column, and an assessment's time is when it was made, so the guard is a table of its own.)
 * - `fund_daily`: the scheduler's daily snapshot, one row per slot.
 * Where TimescaleDB is installed, the two series become hypertables.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create schema if not exists metrics`.execute(db);
  const metrics = db.withSchema("metrics");
  await metrics.schema
    .createTable("assessed_blocks")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("assessed_at", "timestamptz", (c) => c.notNull())
    .addPrimaryKeyConstraint("assessed_blocks_pkey", ["chain_id", "block_hash"])
    .execute();
  await metrics.schema
    .createTable("risk_assessments")
    .addColumn("assessed_at", "timestamptz", (c) => c.notNull())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("trigger", "text", (c) => c.notNull().check(sql`trigger in ('block', 'timer')`))
    .addColumn("level", "smallint", (c) => c.notNull().check(sql`level between 1 and 4`))
    .addColumn("nav", AMOUNT, (c) => c.notNull())
    .addColumn("l1_value", AMOUNT, (c) => c.notNull())
    .addColumn("l2_value", AMOUNT, (c) => c.notNull())
    .addColumn("l3_value", AMOUNT, (c) => c.notNull())
    .addColumn("l1_ratio", RATIO, (c) => c.notNull())
    .addColumn("l2_ratio", RATIO, (c) => c.notNull())
    .addColumn("l3_ratio", RATIO, (c) => c.notNull())
    .addColumn("pending_assets", AMOUNT, (c) => c.notNull())
    .addColumn("pending_count", "integer", (c) => c.notNull())
    .addColumn("redemption_coverage", RATIO)
    .addColumn("reasons", "jsonb", (c) => c.notNull())
    .addColumn("out_of_band", "jsonb", (c) => c.notNull())
    .execute();
  await metrics.schema
    .createIndex("risk_assessments_block")
    .on("risk_assessments")
    .expression(sql`chain_id, block_number desc, assessed_at desc`)
    .execute();
  await metrics.schema
    .createTable("fund_daily")
    .addColumn("slot", "timestamptz", (c) => c.notNull().primaryKey())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("nav", AMOUNT, (c) => c.notNull())
    .addColumn("l1_value", AMOUNT, (c) => c.notNull())
    .addColumn("l2_value", AMOUNT, (c) => c.notNull())
    .addColumn("l3_value", AMOUNT, (c) => c.notNull())
    .addColumn("pending_assets", AMOUNT, (c) => c.notNull())
    .addColumn("pending_count", "integer", (c) => c.notNull())
    .addColumn("level", "smallint", (c) => c.notNull())
    .addColumn("reasons", "jsonb", (c) => c.notNull())
    .execute();

  const available = await sql<{ available: boolean }>`
    select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available`.execute(db);
  if (available.rows[0]?.available) {
    await sql`create extension if not exists timescaledb`.execute(db);
    for (const [table, column] of [
      ["metrics.risk_assessments", "assessed_at"],
      ["metrics.fund_daily", "slot"],
    ] as const) {
      await sql`select create_hypertable(${table}::regclass, ${column}::name, if_not_exists => true)`.execute(db);
    }
  } else {
    await sql`create index risk_assessments_time on metrics.risk_assessments (assessed_at desc)`.execute(db);
  }
}

/** Drops the tables; the schema stays, for it holds the migration history too. */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ["fund_daily", "risk_assessments", "assessed_blocks"]) {
    await db.withSchema("metrics").schema.dropTable(table).execute();
  }
}
