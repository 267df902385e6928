/**
 * A restore on a developer's machine: `pnpm dev` for real (its database, devnet, listener, API and
 * workers on ports of their own), its writers stopped through its control for the restore — the
 * listener's and the sender's locks released, so the restore is not refused — and started again
 * after it, while the API keeps serving and `pnpm dev` itself runs on. A control file left by a
 * `pnpm dev` that is gone stops nothing.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@paimon/contracts/devnet";
import { deleteKeys } from "@paimon/core/redis";
import { ADMIN_DATABASE_URL, createTestDatabase } from "@paimon/core/testing";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it, vi } from "vitest";
import { liveWriters } from "./postgres";
import { runOpsForTest } from "./testing";
import { devControlFile } from "./writers-dev";

const ROOT = path.resolve(__dirname, "..", "..");
const DATABASE = `paimon_dev_restore_${String(process.pid)}`;
const QUEUE_PREFIX = `paimon-dev-restore-${String(process.pid)}`;
const directory = mkdtempSync(path.join(tmpdir(), "paimon-ops-dev-"));

afterAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${DATABASE} with (force)`);
  await admin.end();
  const redis = new Redis("redis://127.0.0.1:6379");
  await deleteKeys(redis, `${QUEUE_PREFIX}:*`);
  redis.disconnect();
  rmSync(directory, { recursive: true, force: true });
});

describe("a restore under pnpm dev", () => {
  it("when pnpm dev runs against the database, then its listener and workers are stopped for the restore and started again, and pnpm dev runs on", async () => {
    const [api, listener, chain] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(ROOT, "services", "runtime", "src", "dev.ts"),
        `--database=${DATABASE}`,
        `--queue-prefix=${QUEUE_PREFIX}`,
        `--api-port=${String(api)}`,
        `--listener-port=${String(listener)}`,
        "--worker-ports=0",
        `--chain-port=${String(chain)}`,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const url = `postgresql://postgres@127.0.0.1:5432/${DATABASE}`;
    const env = { BACKUP_TARGET: `file://${path.join(directory, "backups")}`, DATABASE_URL: url };
    const locksTaken = () => output.split("\n").filter((line) => line.includes('"writer lock acquired"')).length;
    try {
      await vi.waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`pnpm dev exited: ${output}`);
          expect(output).toContain("dev: ready");
        },
        { timeout: 120_000, interval: 100 },
      );
      expect(existsSync(devControlFile(DATABASE))).toBe(true);
      const made = await runOpsForTest(["--json", "backup", "postgres"], env);
      expect(made.err).toBe("");
      const id = (JSON.parse(made.out) as { id: string }).id;
      expect(await liveWriters(url)).not.toEqual([]);
      expect(locksTaken()).toBe(1);

      const restored = await runOpsForTest(["--json", "restore", id], env);
      expect(restored.err).toMatch(
        /ops: pnpm dev \(pid \d+\): stopped event-listener, risk-worker, scheduler-worker, rebalance-worker\n/,
      );
      expect(restored.code).toBe(0);
      expect(JSON.parse(restored.out)).toMatchObject({
        restored: true,
        writers: ["event-listener", "risk-worker", "scheduler-worker", "rebalance-worker"],
      });
      expect(restored.err).toContain("ops: pnpm dev (pid");
      expect(restored.err).toContain("started event-listener, risk-worker, scheduler-worker, rebalance-worker");

      // The writers run again on the restored data: the listener takes its lock a second time.
      await vi.waitFor(
        async () => {
          expect(locksTaken()).toBe(2);
          expect(await liveWriters(url)).not.toEqual([]);
          expect((await fetch(`http://127.0.0.1:${String(listener)}/health`)).status).toBe(200);
        },
        { timeout: 90_000, interval: 200 },
      );
      expect((await fetch(`http://127.0.0.1:${String(api)}/v1/fund`)).status).toBe(200);
      expect(child.exitCode).toBeNull();
      expect(output).not.toContain("a service exited");
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(existsSync(devControlFile(DATABASE))).toBe(false);
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
