/**
 * The `migrate` command: applies the migrations to DATABASE_URL and prints what it applied.
 * Migrations run only through this command (`pnpm --filter @paimon/core migrate` from source,
 * `main.js migrate` in the image, a Job before a rollout) and the test helpers — never on import
 * or service start.
 */
import { z } from "zod";
import { loadConfig, urlSchema } from "../config";
import { createDatabase, migrateToLatest } from "./index";

export async function runMigrate(
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void = console.log,
): Promise<void> {
  const config = loadConfig(z.object({ DATABASE_URL: urlSchema(["postgres:", "postgresql:"]) }), env);
  const db = createDatabase(config.DATABASE_URL, { maxConnections: 1 });
  try {
    const applied = (await migrateToLatest(db)).results ?? [];
    print(
      applied.length === 0 ? "schema is up to date" : applied.map((r) => `${r.migrationName}: ${r.status}`).join("\n"),
    );
  } finally {
    await db.destroy();
  }
}
