/**
 * The `migrate` command: applies the migrations to DATABASE_URL, and the metrics database's to
 * METRICS_DATABASE_URL when it is set, and prints what it applied.
 * Migrations run only through this command (`pnpm --filter @paimon/core migrate` from source,
 * `main.js migrate` in the image, a Job before a rollout) and the test helpers — never on import
 * or service start.
 */
import { z } from "zod";
import { envNumber, loadConfig, urlSchema } from "../config";
import { setTimeout as delay } from "node:timers/promises";
import { sql, type Kysely, type MigrationResultSet, type RawBuilder } from "kysely";
import {
  createDatabase,
  createMetricsDatabase,
  METRICS_MIGRATIONS,
  METRICS_SCHEMA,
  MIGRATIONS,
  migrateMetricsToLatest,
  migrateToLatest,
  type Database,
} from "./index";

export async function runMigrate(
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void = console.log,
  options: { readonly wait?: boolean } = {},
): Promise<void> {
  if (options.wait) {
    await waitForMigrations(env, print);
    return;
  }
  const config = loadConfig(
    z.object({
      DATABASE_URL: urlSchema(["postgres:", "postgresql:"]),
      METRICS_DATABASE_URL: urlSchema(["postgres:", "postgresql:"]).optional(),
    }),
    env,
  );
  const report = (what: string, result: MigrationResultSet) => {
    const applied = result.results ?? [];
    print(
      applied.length === 0
        ? `${what}: up to date`
        : applied.map((r) => `${what}: ${r.migrationName}: ${r.status}`).join("\n"),
    );
  };
  const db = createDatabase(config.DATABASE_URL, { maxConnections: 1 });
  try {
    report("fund database", await migrateToLatest(db));
  } finally {
    await db.destroy();
  }
  if (config.METRICS_DATABASE_URL === undefined) return;
  const metrics = createMetricsDatabase(config.METRICS_DATABASE_URL, { maxConnections: 1 });
  try {
    report("metrics database", await migrateMetricsToLatest(metrics));
  } finally {
    await metrics.destroy();
  }
}

/** How often `migrate --wait` looks again. */
const WAIT_POLL_MS = 2_000;

/**
 * `migrate --wait`: resolves once the database (and the metrics database, when its URL is set)
 * has every migration this image knows — what a Deployment's init container runs, so that a new
 * image's pods start only after its migration Job has run. Fails after MIGRATE_WAIT_TIMEOUT_SECONDS.
 */
async function waitForMigrations(
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void,
): Promise<void> {
  const config = loadConfig(
    z.object({
      DATABASE_URL: urlSchema(["postgres:", "postgresql:"]),
      METRICS_DATABASE_URL: urlSchema(["postgres:", "postgresql:"]).optional(),
      MIGRATE_WAIT_TIMEOUT_SECONDS: envNumber(z.number().int().min(1).max(3600)).default(600),
    }),
    env,
  );
  const targets = [
    { what: "fund database", url: config.DATABASE_URL, table: sql`kysely_migration`, names: Object.keys(MIGRATIONS) },
    ...(config.METRICS_DATABASE_URL === undefined
      ? []
      : [
          {
            what: "metrics database",
            url: config.METRICS_DATABASE_URL,
            table: sql`${sql.id(METRICS_SCHEMA)}.kysely_migration`,
            names: Object.keys(METRICS_MIGRATIONS),
          },
        ]),
  ];
  const deadline = Date.now() + config.MIGRATE_WAIT_TIMEOUT_SECONDS * 1000;
  for (const target of targets) {
    const db = createDatabase(target.url, { maxConnections: 1 });
    try {
      for (;;) {
        const missing = await missingMigrations(db, target.table, target.names);
        if (missing.length === 0) {
          print(`${target.what}: every migration applied`);
          break;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `${target.what}: still missing ${missing.join(", ")} after ${String(config.MIGRATE_WAIT_TIMEOUT_SECONDS)} s`,
          );
        }
        print(`${target.what}: waiting for ${missing.join(", ")}`);
        await delay(WAIT_POLL_MS);
      }
    } finally {
      await db.destroy();
    }
  }
}

/** The migrations of `names` not yet applied; all of them while the history table does not exist. */
async function missingMigrations(db: Kysely<Database>, table: RawBuilder<unknown>, names: readonly string[]) {
  try {
    const rows = await sql<{ name: string }>`select name from ${table}`.execute(db);
    const applied = new Set(rows.rows.map((row) => row.name));
    return names.filter((name) => !applied.has(name));
  } catch (error) {
    // 42P01: the history table is not there yet (nothing has migrated this database).
    if ((error as { code?: string }).code === "42P01") return [...names];
    throw error;
  }
}
