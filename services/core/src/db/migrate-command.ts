/**
 * The `migrate` command: applies the migrations to DATABASE_URL, and the metrics database's to
 * METRICS_DATABASE_URL when it is set, and prints what it applied.
 * Migrations run only through this command (`pnpm --filter @paimon/core migrate` from source,
 * `main.js migrate` in the image, a Job before a rollout) and the test helpers — never on import
 * or service start.
 */
import { z } from "zod";
import { loadConfig, urlSchema } from "../config";
import type { MigrationResultSet } from "kysely";
import { createDatabase, createMetricsDatabase, migrateMetricsToLatest, migrateToLatest } from "./index";

export async function runMigrate(
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void = console.log,
): Promise<void> {
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
