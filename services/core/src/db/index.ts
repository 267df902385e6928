import {
  Kysely,
  Migrator,
  PostgresDialect,
  type Migration,
  type MigrationResultSet,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";
import pg from "pg";
import * as initial from "./migrations/0001-initial";
import * as timeseries from "./migrations/0002-timeseries";
import * as redemptionPages from "./migrations/0003-redemption-pages";
import * as chainFollower from "./migrations/0004-chain-follower";
import * as workers from "./migrations/0005-workers";
import * as sender from "./migrations/0006-sender";
import * as operatorIdempotency from "./migrations/0007-operator-idempotency";
import * as ingestIndexes from "./migrations/0008-ingest-indexes";
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
  "0007-operator-idempotency": operatorIdempotency,
  "0008-ingest-indexes": ingestIndexes,
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

/** What a pool waits for a connection by default: opening one, or a free one of a full pool. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * A pool's options. The timeouts are each composition root's choice: unset, a statement may run
 * as long as it takes — what migrations and the workers' long queries need; a request-serving
 * process (the API) sets both so that no request waits on PostgreSQL unboundedly.
 */
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
  /**
   * PostgreSQL's `statement_timeout`, sent when each connection opens: the server cancels a
   * statement running longer (SQLSTATE 57014) and the connection stays usable.
   * @default unset: no limit
   */
  readonly statementTimeoutMs?: number;
  /**
   * node-postgres' `query_timeout`: a query with no answer after this rejects ("Query read
   * timeout"), and its connection is closed, never reused — what ends a query on a connection that
   * went silent (a stalled network path, a failover without a reset), which no server setting
   * can. Keep it above `statementTimeoutMs`, so a merely slow statement is cancelled by the server
   * first and its connection kept.
   * @default unset: wait for the answer however long it takes
   */
  readonly queryTimeoutMs?: number;
  /**
   * How long a query waits for a connection: opening one (TCP, TLS, startup), or a free one
   * when the pool is full ("timeout exceeded when trying to connect").
   * @default DEFAULT_CONNECT_TIMEOUT_MS
   */
  readonly connectTimeoutMs?: number;
}

function createPool(url: string, options: DatabaseOptions): PostgresPool {
  const pool = new pg.Pool({
    ...pgConnection(url, options),
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
  });
  pool.on("error", (error) => {
    options.onIdleError?.(error);
  });
  // A connection in use has no listener of pg-pool's (it has one only while idle): an 'error'
  // there — the server terminating it, a reset — would be an unhandled 'error' event and crash
  // the process. The query in flight rejects with the error anyway (and a connection with none in
  // flight rejects its next one), so that is where it is reported; the pool drops the connection
  // when it is released.
  pool.on("connect", (client) => {
    client.on("error", () => undefined);
  });
  return discardingSilentConnections(pool);
}

/**
 * The pool as Kysely sees it, with one difference from pg's: a connection whose query timed out
 * on the client side (`query_timeout`) still has that query in flight — pg-pool would take it
 * back as healthy, and every later query on it would queue behind one that may never be
 * answered. Such a connection fails its further queries at once (a transaction's ROLLBACK
 * included) and is destroyed when released.
 */
function discardingSilentConnections(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, TimeoutAwareClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapped = clients.get(client);
      if (!wrapped) {
        wrapped = new TimeoutAwareClient(client);
        clients.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}

const isQueryTimeout = (error: unknown) => error instanceof Error && error.message === "Query read timeout";

class TimeoutAwareClient implements PostgresPoolClient {
  /** The query timeout that made this connection unusable, once one has. */
  #silent: Error | undefined;

  constructor(private readonly client: pg.PoolClient) {}

  query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sql: string | PostgresCursor<R>,
    parameters: readonly unknown[] = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== "string") throw new TypeError("cursors are not configured on this pool");
    return this.#query<R>(sql, parameters);
  }

  async #query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
    if (this.#silent) throw this.#silent;
    try {
      const result = await this.client.query<pg.QueryResultRow>(sql, [...parameters]);
      return {
        command: result.command as PostgresQueryResult<R>["command"],
        rowCount: result.rowCount ?? 0,
        rows: result.rows as R[],
      };
    } catch (error) {
      if (isQueryTimeout(error)) this.#silent = error as Error;
      throw error;
    }
  }

  release(destroy?: boolean): void {
    // pg-pool destroys a connection released with an error (its socket, if a query is in flight).
    this.client.release(destroy === true || this.#silent !== undefined ? true : undefined);
  }
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
