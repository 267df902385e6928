import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationResultSet } from "kysely";
import pg from "pg";
import * as initial from "./migrations/0001-initial";
import * as timeseries from "./migrations/0002-timeseries";
import * as redemptionPages from "./migrations/0003-redemption-pages";
import * as chainFollower from "./migrations/0004-chain-follower";
import * as workers from "./migrations/0005-workers";
import * as sender from "./migrations/0006-sender";
import * as metricsRisk from "./metrics-migrations/0001-risk";
import type { MetricsDatabase } from "./metrics-schema";
import type { Database } from "./schema";
import { pgConnection } from "./tls";

export type * from "./schema";
export { OPEN_TX_STATUSES } from "./schema";
export type * from "./metrics-schema";
export { RDS_CA_BUNDLE_PATH, pgConnection, serverVerification } from "./tls";

/** Every migration, in order. Listed, not discovered: a build can never miss one. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001-initial": initial,
  "0002-timeseries": timeseries,
  "0003-redemption-pages": redemptionPages,
  "0004-chain-follower": chainFollower,
  "0005-workers": workers,
  "0006-sender": sender,
};

/** The metrics database's migrations, recorded in its own `metrics` schema. */
export const METRICS_MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001-risk": metricsRisk,
};

/** The event listener's checkpoint (sync_checkpoints.name): the last block it committed, read by the API and the workers. */
export const LISTENER_CHECKPOINT = "event-listener";

/** Where the metrics database keeps its tables and its migration history. */
export const METRICS_SCHEMA = "metrics";

// NUMERIC and BIGINT come back as strings: amounts are never rounded through a float.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

/** A connection pool and its typed query builder. Nothing connects until the first query. */
export function createDatabase(url: string, options: DatabaseOptions = {}): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(url, options) }) });
}

/**
 * The metrics database (TimescaleDB in the cluster; in development the fund's own PostgreSQL),
 * its queries in the `metrics` schema.
 */
export function createMetricsDatabase(url: string, options: DatabaseOptions = {}): Kysely<MetricsDatabase> {
  return new Kysely<MetricsDatabase>({ dialect: new PostgresDialect({ pool: createPool(url, options) }) }).withSchema(
    METRICS_SCHEMA,
  );
}

export interface DatabaseOptions {
  readonly maxConnections?: number;
  /**
   * Errors of idle pooled connections (a failover, a network cut). The pool drops the broken
   * connection and the next query reports the outage; without a listener, Node would crash.
   */
  readonly onIdleError?: (error: Error) => void;
  /**
   * The CA file that a URL with `sslmode=verify-full` or `verify-ca` is checked against when it
   * names no `sslrootcert`.
   * @default RDS_CA_BUNDLE_PATH, where the image puts AWS's RDS bundle
   */
  readonly sslRootCert?: string;
}

function createPool(url: string, options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    ...pgConnection(url, options),
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5_000,
  });
  pool.on("error", (error) => {
    options.onIdleError?.(error);
  });
  return pool;
}

/** Brings the schema to the latest migration; re-running is a no-op. Throws on the first failure. */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResultSet> {
  return migrate(new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) } }));
}

/** Brings the metrics database to its latest migration; re-running is a no-op. */
export async function migrateMetricsToLatest(db: Kysely<MetricsDatabase>): Promise<MigrationResultSet> {
  return migrate(
    new Migrator({
      db,
      migrationTableSchema: METRICS_SCHEMA,
      provider: { getMigrations: () => Promise.resolve({ ...METRICS_MIGRATIONS }) },
    }),
  );
}

async function migrate(migrator: Migrator): Promise<MigrationResultSet> {
  const result = await migrator.migrateToLatest();
  if (result.error)
    throw result.error instanceof Error ? result.error : new Error("migration failed", { cause: result.error });
  return result;
}
