import { sql, type Kysely } from "kysely";

const AMOUNT = sql`numeric(78, 18)`;

/** The fund's tables. Time series are partitioned by time in 0002 where TimescaleDB is present. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("fund_snapshots")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity())
    .addColumn("recorded_at", "timestamptz", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("nav", AMOUNT, (c) => c.notNull().check(sql`nav >= 0`))
    .addColumn("l1_value", AMOUNT, (c) => c.notNull().check(sql`l1_value >= 0`))
    .addColumn("l2_value", AMOUNT, (c) => c.notNull().check(sql`l2_value >= 0`))
    .addColumn("l3_value", AMOUNT, (c) => c.notNull().check(sql`l3_value >= 0`))
    // A hypertable's unique keys must include its time column.
    .addPrimaryKeyConstraint("fund_snapshots_pkey", ["recorded_at", "id"])
    .execute();
  await db.schema.createIndex("fund_snapshots_block").on("fund_snapshots").columns(["block_number"]).execute();

  await db.schema
    .createTable("risk_assessments")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity())
    .addColumn("assessed_at", "timestamptz", (c) => c.notNull())
    .addColumn("level", "smallint", (c) => c.notNull().check(sql`level between 1 and 4`))
    .addColumn("l1_ratio", AMOUNT, (c) => c.notNull())
    .addColumn("redemption_coverage", AMOUNT)
    .addColumn("reasons", "jsonb", (c) => c.notNull())
    .addColumn("block_number", "bigint")
    .addPrimaryKeyConstraint("risk_assessments_pkey", ["assessed_at", "id"])
    .execute();

  await db.schema
    .createTable("redemptions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("shares", AMOUNT, (c) => c.notNull().check(sql`shares > 0`))
    .addColumn("assets", AMOUNT, (c) => c.notNull().check(sql`assets >= 0`))
    .addColumn("channel", "text", (c) => c.notNull().check(sql`channel in ('instant', 'standard')`))
    .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('requested', 'settled', 'cancelled')`))
    .addColumn("requested_block", "bigint", (c) => c.notNull())
    .addColumn("requested_tx", "text", (c) => c.notNull())
    .addColumn("resolved_block", "bigint")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex("redemptions_status_channel")
    .on("redemptions")
    .columns(["status", "channel", "id"])
    .execute();
  await db.schema.createIndex("redemptions_owner").on("redemptions").columns(["owner", "id"]).execute();

  await db.schema
    .createTable("rebalance_executions")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("trigger", "text", (c) => c.notNull().check(sql`trigger in ('threshold', 'scheduled', 'manual')`))
    .addColumn("status", "text", (c) =>
      c.notNull().check(sql`status in ('pending', 'executing', 'succeeded', 'failed')`),
    )
    .addColumn("idempotency_key", "text", (c) => c.unique())
    .addColumn("requested_by", "text")
    .addColumn("plan", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("error", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("completed_at", "timestamptz")
    .execute();
  await db.schema
    .createIndex("rebalance_executions_created")
    .on("rebalance_executions")
    .columns(["created_at", "id"])
    .execute();

  await db.schema
    .createTable("chain_events")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("log_index", "integer", (c) => c.notNull())
    .addColumn("tx_hash", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("payload", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("chain_events_pkey", ["chain_id", "block_hash", "log_index"])
    .execute();
  await db.schema.createIndex("chain_events_block").on("chain_events").columns(["chain_id", "block_number"]).execute();

  await db.schema
    .createTable("sync_checkpoints")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("block_hash", "text", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("outbox")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn("queue", "text", (c) => c.notNull())
    .addColumn("job_id", "text", (c) => c.notNull().unique())
    .addColumn("priority", "integer", (c) => c.notNull())
    .addColumn("payload", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("sent_at", "timestamptz")
    .execute();
  await sql`create index outbox_unsent on outbox (id) where sent_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    "outbox",
    "sync_checkpoints",
    "chain_events",
    "rebalance_executions",
    "redemptions",
    "risk_assessments",
    "fund_snapshots",
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
