import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import pg from "pg";
import {
  createDatabase,
  createMetricsDatabase,
  migrateMetricsToLatest,
  migrateToLatest,
  type Database,
  type MetricsDatabase,
} from "../db";

/** The machine's PostgreSQL (trust auth), where each test file gets a database of its own. */
export const ADMIN_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  readonly url: string;
  readonly db: Kysely<Database>;
  /** The metrics database, in the same database's `metrics` schema (as in development). */
  readonly metricsDb: Kysely<MetricsDatabase>;
  /** Closes the pools and drops the database. */
  drop(): Promise<void>;
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A new, empty database, with its metrics schema (both migrated unless asked not to), dropped by `drop()`. */
export async function createTestDatabase(options: { readonly migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `paimon_test_${randomBytes(6).toString("hex")}`;
  await admin(`create database ${name}`);
  const url = ADMIN_DATABASE_URL.replace(/\/test$/, `/${name}`);
  const db = createDatabase(url, { maxConnections: 4 });
  const metricsDb = createMetricsDatabase(url, { maxConnections: 2 });
  if (options.migrate ?? true) {
    await migrateToLatest(db);
    await migrateMetricsToLatest(metricsDb);
  }
  return {
    url,
    db,
    metricsDb,
    async drop() {
      await db.destroy();
      await metricsDb.destroy();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
