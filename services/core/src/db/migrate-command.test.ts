import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing/database";
import { MIGRATIONS } from ".";
import { runMigrate } from "./migrate-command";

const LAST_MIGRATION = Object.keys(MIGRATIONS).at(-1) ?? "";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await database.drop();
});

describe("migrate --wait", () => {
  it("when the database has not been migrated, then it waits, and returns once the migration has run", async () => {
    const env = { DATABASE_URL: database.url, METRICS_DATABASE_URL: database.url };
    const lines: string[] = [];
    let waited = false;
    const waiting = runMigrate(env, (line) => lines.push(line), { wait: true }).then(() => (waited = true));
    // It has looked and found the history missing before anything migrates.
    await expect
      .poll(() => lines.some((line) => line.startsWith("fund database: waiting for 0001-initial")), {
        timeout: 30_000,
      })
      .toBe(true);
    expect(waited).toBe(false);
    const applied: string[] = [];
    await runMigrate(env, (line) => applied.push(line));
    await waiting;
    expect(applied.join("\n")).toMatch(/metrics database: 0001-risk: Success/);
    expect(lines).toEqual(
      expect.arrayContaining(["fund database: every migration applied", "metrics database: every migration applied"]),
    );
  });

  it("when the migrations never come, then it fails after its timeout naming what is missing", async () => {
    const empty = await createTestDatabase({ migrate: false });
    try {
      await expect(
        runMigrate({ DATABASE_URL: empty.url, MIGRATE_WAIT_TIMEOUT_SECONDS: "1" }, () => undefined, { wait: true }),
      ).rejects.toThrow(new RegExp(`fund database: still missing 0001-initial, .*${LAST_MIGRATION} after 1 s`));
    } finally {
      await empty.drop();
    }
  });
});
