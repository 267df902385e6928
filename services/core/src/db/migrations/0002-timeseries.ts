import { sql, type Kysely } from "kysely";

/** Time series and their time columns. */
const TIME_SERIES = [
  ["fund_snapshots", "recorded_at"],
  ["risk_assessments", "assessed_at"],
] as const;

/**
 * Where TimescaleDB is installed, the time series become hypertables; where it is not (RDS, and
 * Debian's PostgreSQL here), they stay plain tables with a time index. Both shapes answer the
 * same queries.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const available = await sql<{ available: boolean }>`
    select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available`.execute(db);
  if (available.rows[0]?.available) {
    await sql`create extension if not exists timescaledb`.execute(db);
    for (const [table, column] of TIME_SERIES) {
      await sql`select create_hypertable(${table}::regclass, ${column}::name, if_not_exists => true, migrate_data => true)`.execute(
        db,
      );
    }
    return;
  }
  for (const [table, column] of TIME_SERIES) {
    await sql`create index if not exists ${sql.id(`${table}_time`)} on ${sql.table(table)} (${sql.ref(column)} desc)`.execute(
      db,
    );
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table] of TIME_SERIES) {
    await sql`drop index if exists ${sql.id(`${table}_time`)}`.execute(db);
  }
}
