/**
 * A restore on a developer's machine: `pnpm dev` for real (its database, devnet, listener, API and
 * workers on ports of their own), its writers stopped through its control for the restore — the
 * listener's and the sender's locks released, so the restore is not refused — and started again
 * after it, while the API keeps serving and `pnpm dev` itself runs on. A control file left by a
 * `pnpm dev` that is gone stops nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase } from "@paimon/core/testing";
import { WORKERS } from "@paimon/core/workloads";
import { afterAll, describe, expect, it, vi } from "vitest";
import { startDev } from "./checks/testing";
import { liveWriters } from "./postgres";
import { runOpsForTest } from "./testing";
import { devControlFile } from "./writers-dev";

const directory = mkdtempSync(path.join(tmpdir(), "paimon-ops-dev-"));

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe("a restore under pnpm dev", () => {
  it("when pnpm dev runs against the database, then its listener and workers are stopped for the restore and started again, and pnpm dev runs on", async () => {
    const dev = await startDev("dev_restore", 120_000);
    const env = { BACKUP_TARGET: `file://${path.join(directory, "backups")}`, DATABASE_URL: dev.databaseUrl };
    const locksTaken = () =>
      dev
        .output()
        .split("\n")
        .filter((line) => line.includes('"writer lock acquired"')).length;
    let exitCode: number | null | undefined;
    try {
      expect(existsSync(devControlFile(dev.database))).toBe(true);
      const made = await runOpsForTest(["--json", "backup", "postgres"], env);
      expect(made.err).toBe("");
      const id = (JSON.parse(made.out) as { id: string }).id;
      expect(await liveWriters(dev.databaseUrl)).not.toEqual([]);
      expect(locksTaken()).toBe(1);

      const restored = await runOpsForTest(["--json", "restore", id], env);
      // pnpm dev's writers, each once, in whatever order it runs them: the listener and every worker.
      const writers = ["event-listener", ...WORKERS.map((worker) => `${worker}-worker`)].sort();
      const listed = (verb: "stopped" | "started") =>
        new RegExp(`ops: pnpm dev \\(pid \\d+\\): ${verb} (.+)\\n`).exec(restored.err)?.[1]?.split(", ").sort();
      expect(listed("stopped")).toEqual(writers);
      expect(restored.code).toBe(0);
      const report = JSON.parse(restored.out) as { restored: boolean; writers: string[] };
      expect(report.restored).toBe(true);
      expect([...report.writers].sort()).toEqual(writers);
      expect(listed("started")).toEqual(writers);

      // The writers run again on the restored data: the listener takes its lock a second time.
      await vi.waitFor(
        async () => {
          expect(locksTaken()).toBe(2);
          expect(await liveWriters(dev.databaseUrl)).not.toEqual([]);
          expect((await fetch(`${dev.listenerUrl}/health`)).status).toBe(200);
        },
        { timeout: 90_000, interval: 200 },
      );
      expect((await fetch(`${dev.apiUrl}/v1/fund`)).status).toBe(200);
      expect(dev.running()).toBe(true);
      expect(dev.output()).not.toContain("a service exited");
    } finally {
      exitCode = await dev.stop();
    }
    expect(exitCode).toBe(0);
    expect(existsSync(devControlFile(dev.database))).toBe(false);
  }, 300_000);

  it("when the control file was left by a pnpm dev that is gone, then no writer is stopped and the restore goes ahead", async () => {
    const database = await createTestDatabase({ migrate: false });
    try {
      const name = new URL(database.url).pathname.slice(1);
      const file = devControlFile(name);
      mkdirSync(path.dirname(file), { recursive: true });
      // A pid no process has (above the kernel's pid_max default).
      writeFileSync(file, JSON.stringify({ pid: 4_194_304 + 7, database: name, url: "http://127.0.0.1:9" }));
      const env = { BACKUP_TARGET: `file://${path.join(directory, "stale")}`, DATABASE_URL: database.url };
      try {
        const made = await runOpsForTest(["--json", "backup", "postgres"], env);
        const restored = await runOpsForTest(["restore", (JSON.parse(made.out) as { id: string }).id], env);
        expect([restored.code, restored.err]).toEqual([0, ""]);
        expect(restored.out).toContain(`no writers ran in pnpm dev (database ${name})`);
      } finally {
        rmSync(file, { force: true });
      }
    } finally {
      await database.drop();
    }
  });
});
