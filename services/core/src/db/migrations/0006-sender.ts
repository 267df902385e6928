import { sql, type Kysely } from "kysely";

/**
 * The operator's transactions (the rebalance worker's sender):
 * - `signer_lanes`: one row per (chain, signer address): the next nonce the lane hands out,
 *   allocated under this row's lock;
 * - `tx_intents`: what the operator means to do on chain, stored with its idempotency key before
 *   anything else; its nonce, once allocated, never changes unless the chain proves it used by
 *   another transaction; its status is the sender's state machine;
 * - `tx_attempts`: every signed transaction of an intent — the first, its fee-bumped replacements
 *   and a cancellation — raw bytes and hash stored before they are broadcast;
 * - `rebalance_legs_confirmed`: the listener's final confirmations of each leg of an execution
 *   (an execution confirmed when every leg of its plan is);
 * - rebalance executions may be `cancelled`, and record who planned them from which balances.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("signer_lanes")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("signer", "text", (c) => c.notNull())
    .addColumn("next_nonce", "bigint", (c) => c.notNull().check(sql`next_nonce >= 0`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("signer_lanes_pkey", ["chain_id", "signer"])
    .execute();

  await db.schema
    .createTable("tx_intents")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("idempotency_key", "text", (c) => c.notNull().unique())
    .addColumn("purpose", "text", (c) => c.notNull().check(sql`purpose in ('rebalance', 'settlement', 'noop')`))
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("signer", "text", (c) => c.notNull())
    .addColumn("to_address", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("value", sql`numeric(78, 0)`, (c) => c.notNull().defaultTo(0))
    .addColumn("gas_limit", "bigint", (c) => c.notNull())
    .addColumn("status", "text", (c) =>
      c
        .notNull()
        .check(sql`status in ('pending', 'submitted', 'mined', 'confirmed', 'reverted', 'cancelled', 'failed')`),
    )
    .addColumn("nonce", "bigint")
    .addColumn("replacements", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("deadline", "timestamptz", (c) => c.notNull())
    .addColumn("mined_hash", "text")
    .addColumn("mined_block", "bigint")
    .addColumn("error", "text")
    .addColumn("rebalance_execution_id", "uuid", (c) => c.references("rebalance_executions.id"))
    .addColumn("rebalance_leg", "integer")
    .addColumn("redemption_id", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("completed_at", "timestamptz")
    .execute();
  // A nonce belongs to one intent at a time: the lane's promise that no two intents share one.
  await sql`create unique index tx_intents_lane_nonce on tx_intents (chain_id, signer, nonce) where nonce is not null`.execute(
    db,
  );
  await sql`create index tx_intents_open on tx_intents (chain_id, signer, created_at)
    where status in ('pending', 'submitted', 'mined')`.execute(db);
  // The API's newest-first pages, and a redemption's settlement.
  await sql`create index tx_intents_created on tx_intents (created_at desc, id desc)`.execute(db);
  await sql`create index tx_intents_redemption on tx_intents (chain_id, redemption_id, created_at)
    where redemption_id is not null`.execute(db);
  await sql`create index tx_intents_execution on tx_intents (rebalance_execution_id, rebalance_leg)
    where rebalance_execution_id is not null`.execute(db);

  await db.schema
    .createTable("tx_attempts")
    .addColumn("intent_id", "uuid", (c) => c.notNull().references("tx_intents.id"))
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('original', 'replacement', 'cancel')`))
    .addColumn("nonce", "bigint", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull().unique())
    .addColumn("raw", "text", (c) => c.notNull())
    .addColumn("tx_type", "smallint", (c) => c.notNull().check(sql`tx_type in (0, 2)`))
    .addColumn("max_fee_per_gas", sql`numeric(78, 0)`, (c) => c.notNull())
    .addColumn("max_priority_fee_per_gas", sql`numeric(78, 0)`, (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("broadcast_at", "timestamptz")
    .addColumn("last_error", "text")
    .addPrimaryKeyConstraint("tx_attempts_pkey", ["intent_id", "seq"])
    .execute();

  await db.schema
    .createTable("rebalance_legs_confirmed")
    .addColumn("execution_id", "uuid", (c) => c.notNull().references("rebalance_executions.id"))
    .addColumn("leg", "integer", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("tx_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("rebalance_legs_confirmed_pkey", ["execution_id", "leg"])
    .execute();

  await sql`alter table rebalance_executions drop constraint rebalance_executions_status_check`.execute(db);
  await sql`alter table rebalance_executions add constraint rebalance_executions_status_check
    check (status in ('pending', 'executing', 'succeeded', 'failed', 'cancelled'))`.execute(db);
  await db.schema.alterTable("rebalance_executions").addColumn("balances", "jsonb").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("rebalance_executions").dropColumn("balances").execute();
  await sql`alter table rebalance_executions drop constraint rebalance_executions_status_check`.execute(db);
  await sql`alter table rebalance_executions add constraint rebalance_executions_status_check
    check (status in ('pending', 'executing', 'succeeded', 'failed'))`.execute(db);
  for (const table of ["rebalance_legs_confirmed", "tx_attempts", "tx_intents", "signer_lanes"]) {
    await db.schema.dropTable(table).execute();
  }
}
