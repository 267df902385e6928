import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationResultSet } from "kysely";
import pg from "pg";
import * as initial from "./migrations/0001-initial";
import * as timeseries from "./migrations/0002-timeseries";
import * as redemptionPages from "./migrations/0003-redemption-pages";
import * as chainFollower from "./migrations/0004-chain-follower";
import type { Database } from "./schema";

export type * from "./schema";

/** Every migration, in order. Listed, not discovered: a build can never miss one. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001-initial": initial,
  "0002-timeseries": timeseries,
  "0003-redemption-pages": redemptionPages,
  "0004-chain-follower": chainFollower,
};

// NUMERIC and BIGINT come back as strings: amounts are never rounded through a float.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

/** A connection pool and its typed query builder. Nothing connects until the first query. */
export function createDatabase(
  url: string,
  options: {
    readonly maxConnections?: number;
    /**
     * Errors of idle pooled connections (a failover, a network cut). The pool drops the broken
     * connection and the next query reports the outage; without a listener, Node would crash.
     */
    readonly onIdleError?: (error: Error) => void;
  } = {},
): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5_000,
  });
  pool.on("error", (error) => {
    options.onIdleError?.(error);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Brings the schema to the latest migration; re-running is a no-op. Throws on the first failure. */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) } });
  const result = await migrator.migrateToLatest();
  if (result.error)
    throw result.error instanceof Error ? result.error : new Error("migration failed", { cause: result.error });
  return result;
}
