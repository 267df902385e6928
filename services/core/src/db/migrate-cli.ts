/**
 * `pnpm --filter @paimon/core migrate`: applies the migrations to DATABASE_URL. Migrations run
 * only through this command (and the test helpers), never on import or service start.
 */
import { z } from "zod";
import { loadConfig, urlSchema } from "../config";
import { createDatabase, migrateToLatest } from "./index";

async function main(): Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- a composition root reads the environment once
  const config = loadConfig(z.object({ DATABASE_URL: urlSchema(["postgres:", "postgresql:"]) }), process.env);
  const db = createDatabase(config.DATABASE_URL, { maxConnections: 1 });
  try {
    const result = await migrateToLatest(db);
    const applied = result.results ?? [];
    console.log(
      applied.length === 0 ? "schema is up to date" : applied.map((r) => `${r.migrationName}: ${r.status}`).join("\n"),
    );
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
