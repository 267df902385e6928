/**
 * The DR drill for real: this machine's PostgreSQL, a devnet with the fund, a listener that
 * indexed it into the source database and was then stopped while the chain moved on (what the
 * backup misses), and the drill itself — backup, scratch restore, every table compared, the API
 * and a listener started on the restored data through the services' entrypoint — printing RPO and
 * RTO, recording the drill in the store and its result in the Pushgateway (a refused push fails
 * the command, the drill still recorded). A table that pg_dump does not carry (an extension's
 * member) makes a drill that differs, fails, and still leaves nothing behind; so does a drill
 * stopped halfway, and one stopped while pg_dump runs, which leaves no backup either.
 */
import { once } from "node:events";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PaimonFund__factory, type PaimonFund } from "@paimon/contracts";
import { deployFund, devnetAccounts, devnetProvider, startDevnet, type Devnet } from "@paimon/contracts/devnet";
import { deleteKeys } from "@paimon/core/redis";
import { ADMIN_DATABASE_URL, createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import type { HDNodeWallet, JsonRpcProvider } from "ethers";
import { Redis } from "ioredis";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listBackups } from "./backups";
import { runOps, Stopped } from "./cli";
import { servicesFromSource, startService } from "./drill-services";
import { readDrillRecords, type DrillRecord } from "./records";
import { fileStore } from "./store";
import { runOpsForTest, within } from "./testing";

const ROOT = path.resolve(__dirname, "..", "..");
const SERVICES = servicesFromSource(ROOT);
const REDIS_URL = "redis://127.0.0.1:6379";
const SOURCE_QUEUES = `paimon-test-drill-${String(process.pid)}`;

let devnet: Devnet;
let provider: JsonRpcProvider;
let fund: PaimonFund;
let holder: HDNodeWallet;
let source: TestDatabase;
let directory: string;
let gateway: Server;
const pushes: { url: string; body: string }[] = [];

const chainEnv = () => ({
  BSC_RPC_URL: devnet.httpUrl,
  BSC_WS_URL: devnet.wsUrl,
  CHAIN_ID: String(devnet.chainId),
  FINALITY_DEPTH: "2",
});
const drillEnv = async () => ({
  BACKUP_TARGET: `file://${path.join(directory, "backups")}`,
  DATABASE_URL: source.url,
  REDIS_URL,
  ENVIRONMENT: "test",
  FUND_ADDRESS: await fund.getAddress(),
  PUSHGATEWAY_URL: `http://127.0.0.1:${String((gateway.address() as AddressInfo).port)}`,
  PATH: path.dirname(process.execPath),
  ...chainEnv(),
});

/** Where every drill push goes: the backup jobs' job, no grouping of its own. */
const DRILL_PUSH_URL = "/metrics/job/paimon-backup";

/** Each drill metric the pushes from index `from` on carried: the URL pushed to and the value, by name. */
function drillPushes(from: number): Record<string, { url: string; value: number }[]> {
  const found: Record<string, { url: string; value: number }[]> = {};
  for (const push of pushes.slice(from))
    for (const [, name = "", value] of push.body.matchAll(/^(paimon_dr_drill_\w+)\{service="paimon-backup"\} (\S+)$/gm))
      (found[name] ??= []).push({ url: push.url, value: Number(value) });
  return found;
}

/** A record's ISO time as the Unix seconds a gauge carries. */
const seconds = (iso: string) => Date.parse(iso) / 1000;

/** The pushes of a run that did not pass: its time and `passed 0`, and no success. */
const failedRunPushes = (record: DrillRecord) => ({
  paimon_dr_drill_last_run_timestamp_seconds: [{ url: DRILL_PUSH_URL, value: seconds(record.completed_at) }],
  paimon_dr_drill_last_run_passed: [{ url: DRILL_PUSH_URL, value: 0 }],
});

async function cursorOf(database: TestDatabase): Promise<bigint | undefined> {
  const row = await database.db
    .selectFrom("sync_checkpoints")
    .select("block_number")
    .where("name", "=", "event-listener")
    .executeTakeFirst();
  return row === undefined ? undefined : BigInt(row.block_number);
}

/** Scratch databases the drills left: none may be. */
async function drillDatabases(): Promise<string[]> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ name: string }>(
      "select datname as name from pg_database where datname like 'paimon\\_drill\\_%'",
    );
    return rows.map((row) => row.name);
  } finally {
    await admin.end();
  }
}

/** What each pg_dump session on the source waits for (`Lock`, …; null while it works). */
async function dumpSessions(): Promise<(string | null)[]> {
  const { rows } = await sql<{ wait: string | null }>`
    select wait_event_type as wait from pg_stat_activity
     where datname = current_database() and application_name = 'pg_dump'`.execute(source.db);
  return rows.map((row) => row.wait);
}

/** The pg_dump processes this process started (the drill runs in it), as /proc lists them. */
function dumpProcesses(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      // `pid (command) state ppid …`, where the command may hold spaces and parentheses.
      const close = stat.lastIndexOf(")");
      const command = stat.slice(stat.indexOf("(") + 1, close);
      const parent = Number(stat.slice(close + 2).split(" ")[1]);
      return command === "pg_dump" && parent === process.pid ? [Number(pid)] : [];
    });
}

async function drillQueueKeys(): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    return await redis.keys("{paimon-drill-*");
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  directory = mkdtempSync(path.join(tmpdir(), "paimon-drill-"));
  gateway = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      pushes.push({ url: request.url ?? "", body });
      // A gateway that refuses, for a drill pushed under `/refused`.
      response.writeHead(request.url?.startsWith("/refused/") ? 503 : 200).end();
    });
  });
  gateway.listen(0, "127.0.0.1");
  await once(gateway, "listening");

  devnet = await startDevnet();
  provider = devnetProvider(devnet);
  const [operator, depositor] = devnetAccounts(2, provider);
  if (!operator || !depositor) throw new Error("no devnet accounts");
  holder = depositor;
  fund = await deployFund(operator);
  const asHolder = PaimonFund__factory.connect(await fund.getAddress(), holder);
  for (const amount of [1_000_000_000n, 2_000_000_000n]) await (await asHolder.deposit(amount)).wait();

  // The live system: a listener indexes the chain into the source database, then stops.
  source = await createTestDatabase();
  const listener = startService(SERVICES, "event-listener", {
    ENVIRONMENT: "test",
    DATABASE_URL: source.url,
    REDIS_URL,
    FUND_ADDRESS: await fund.getAddress(),
    HEALTH_PORT: "0",
    POLL_INTERVAL_MS: "500",
    QUEUE_PREFIX: SOURCE_QUEUES,
    PATH: path.dirname(process.execPath),
    ...chainEnv(),
  });
  try {
    const head = BigInt(await provider.getBlockNumber());
    await vi.waitFor(
      async () => {
        expect(await cursorOf(source)).toBeGreaterThanOrEqual(head);
      },
      { timeout: 120_000, interval: 200 },
    );
  } finally {
    await listener.stop();
  }
}, 240_000);

afterAll(async () => {
  provider.destroy();
  await devnet.stop();
  await source.drop();
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, `${SOURCE_QUEUES}:*`);
  redis.disconnect();
  await new Promise((resolve) => gateway.close(resolve));
  rmSync(directory, { recursive: true, force: true });
});

describe("the DR drill", () => {
  it("when drilled on the local PostgreSQL and the devnet, then every table compares equal, the restored API serves the fund, the listener re-reads what the backup missed, and RPO and RTO are measured within their targets and recorded", async () => {
    const backedUpAt = await cursorOf(source);
    // The chain moves on while the listener is down: three deposits the backup cannot hold.
    const asHolder = PaimonFund__factory.connect(await fund.getAddress(), holder);
    for (let index = 0; index < 3; index++) await (await asHolder.deposit(1_000_000n + BigInt(index))).wait();
    const head = BigInt(await provider.getBlockNumber());
    const before = pushes.length;

    const run = await runOpsForTest(["--json", "dr-drill"], await drillEnv(), { services: SERVICES });
    const record = JSON.parse(run.out || "{}") as DrillRecord & { recorded: string };
    expect(record.problems, run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(record.passed).toBe(true);
    expect(record.restore.method).toBe("pg_restore");
    expect(record.tables.length).toBeGreaterThan(5);
    expect(record.tables.every((table) => table.equal)).toBe(true);
    expect(record.tables.find((table) => table.table === "public.chain_events")).toMatchObject({
      backup_rows: expect.any(Number) as number,
      source_md5: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
    });
    expect(record.rpo).toMatchObject({ target_seconds: 3600, met: true });
    expect(record.rpo?.seconds).toBeLessThan(3600);
    expect(record.rto).toMatchObject({ target_seconds: 14_400, met: true });
    expect(Date.parse(record.rto?.api_ready_at ?? "")).toBeGreaterThan(Date.parse(record.restore.started_at ?? ""));
    // The replay: from the backup's cursor to the chain's head, the three deposits among its events.
    expect(record.replay).toMatchObject({ from_block: String(backedUpAt) });
    expect(BigInt(record.replay?.to_block ?? "0")).toBeGreaterThanOrEqual(head);
    expect(record.replay?.blocks).toBeGreaterThanOrEqual(3);
    expect(record.replay?.events).toBeGreaterThanOrEqual(3);

    // Recorded for the monthly check, and pushed where the alerts read it.
    const stored = await readDrillRecords(fileStore(path.join(directory, "backups")));
    expect(stored[0]).toMatchObject({ key: `drills/${record.id}.json`, record: { id: record.id, passed: true } });
    expect(record.recorded).toMatch(new RegExp(`/drills/${record.id}\\.json$`));
    // The run, passed, and the same time as the last success.
    const completed = seconds(record.completed_at);
    expect(drillPushes(before)).toEqual({
      paimon_dr_drill_last_run_timestamp_seconds: [{ url: DRILL_PUSH_URL, value: completed }],
      paimon_dr_drill_last_run_passed: [{ url: DRILL_PUSH_URL, value: 1 }],
      paimon_dr_drill_last_success_timestamp_seconds: [{ url: DRILL_PUSH_URL, value: completed }],
    });
    // Nothing left behind: the scratch database and the drill's queues are gone.
    expect(await drillDatabases()).toEqual([]);
    expect(await drillQueueKeys()).toEqual([]);
  }, 300_000);

  it("when the Pushgateway refuses the drill's result, then the drill is still recorded, the command fails naming the refusal, and no success is pushed after it", async () => {
    const store = fileStore(path.join(directory, "backups"));
    const recorded = (await readDrillRecords(store)).length;
    const before = pushes.length;
    const env = await drillEnv();
    const run = await runOpsForTest(
      ["--json", "dr-drill"],
      { ...env, PUSHGATEWAY_URL: `${env.PUSHGATEWAY_URL}/refused` },
      { services: SERVICES },
    );
    expect(run.code, run.err).toBe(1);
    expect(run.err).toContain("ops: failed: push failed with status 503");
    const records = await readDrillRecords(store);
    expect(records).toHaveLength(recorded + 1);
    expect(records[0]).toMatchObject({ record: { passed: true } });
    // The run's push was refused, so the success's was never tried.
    expect(pushes.slice(before).map((push) => push.url)).toEqual(["/refused/metrics/job/paimon-backup"]);
    expect(await drillDatabases()).toEqual([]);
    expect(await drillQueueKeys()).toEqual([]);
  }, 300_000);

  it("when a table does not survive the dump, then the drill fails naming it, prints what it measured, exits 3, records the failure, and still leaves nothing behind", async () => {
    await sql`create table public.audit_notes (id int primary key, note text)`.execute(source.db);
    await sql`insert into public.audit_notes select g, 'note ' || g from generate_series(1, 25) g`.execute(source.db);
    // A member of an extension is the extension's to create: pg_dump leaves it out.
    await sql`alter extension plpgsql add table public.audit_notes`.execute(source.db);
    const before = pushes.length;
    try {
      const run = await runOpsForTest(["dr-drill"], await drillEnv(), { services: SERVICES });
      expect(run.code, run.err).toBe(3);
      expect(run.out).toMatch(/^DR drill drill-\d{8}T\d{9}Z: FAILED$/m);
      expect(run.out).toContain("public.audit_notes: in the backup (25 rows), absent after the restore");
      expect(run.out).toMatch(/RPO {6}[\d.]+ s \(target < 60\.0 min\): met; the chain replay recovered \d+ blocks/);
      expect(run.out).toMatch(/RTO {6}[\d.]+ (s|min) \(target < 240\.0 min\): met/);
      const [latest] = await readDrillRecords(fileStore(path.join(directory, "backups")));
      expect(latest).toMatchObject({ record: { passed: false } });
      // Pushed as a run that did not pass, the night it ran; the last success stays where it was.
      const { record } = latest as { record: DrillRecord };
      expect(drillPushes(before)).toEqual(failedRunPushes(record));
      expect(await drillDatabases()).toEqual([]);
      expect(await drillQueueKeys()).toEqual([]);
    } finally {
      await sql`alter extension plpgsql drop table public.audit_notes`.execute(source.db);
      await sql`drop table public.audit_notes`.execute(source.db);
    }
  }, 300_000);

  it("when the drill is stopped as the listener starts to catch up, then it stops waiting, stops the services, drops the scratch database and its queues, records why, and exits 143", async () => {
    const stop = new AbortController();
    const before = pushes.length;
    let out = "";
    let err = "";
    const code = await runOps(["--json", "dr-drill"], {
      env: await drillEnv(),
      out: (text) => (out += text),
      err: (text) => {
        err += text;
        if (text.includes("the listener catches up from block")) stop.abort(new Stopped("SIGTERM"));
      },
      services: SERVICES,
      stop: stop.signal,
    });
    expect(code, err).toBe(143);
    const record = JSON.parse(out || "{}") as DrillRecord;
    expect(record).toMatchObject({ passed: false, problems: ["stopped by SIGTERM"], replay: null });
    // What it measured before the stop stays measured.
    expect(record.rto).toMatchObject({ met: true });
    expect(record.swept).toBeUndefined();
    const [latest] = await readDrillRecords(fileStore(path.join(directory, "backups")));
    expect(latest).toMatchObject({ record: { id: record.id, passed: false } });
    expect(drillPushes(before)).toEqual(failedRunPushes(record));
    expect(await drillDatabases()).toEqual([]);
    expect(await drillQueueKeys()).toEqual([]);
  }, 300_000);

  it("when the drill is stopped while pg_dump runs, then pg_dump is killed at once, nothing in the store is taken for a backup, the stop is recorded, and it exits 143", async () => {
    // pg_dump reads each view's definition under the view's lock, which the test holds: the dump
    // waits for as long as the test lets it, and the drill's own reads in the snapshot (row
    // counts, checksums: tables only) pass.
    await sql`create view public.drill_hold as select 1 as one`.execute(source.db);
    const holder = new pg.Client({ connectionString: source.url });
    await holder.connect();
    const store = fileStore(path.join(directory, "backups"));
    const backups = await listBackups(store);
    const stop = new AbortController();
    const before = pushes.length;
    let out = "";
    let err = "";
    let drill: Promise<number> | undefined;
    try {
      await holder.query("begin");
      await holder.query("lock table public.drill_hold in access exclusive mode");
      drill = runOps(["--json", "dr-drill"], {
        env: await drillEnv(),
        out: (text) => (out += text),
        err: (text) => (err += text),
        services: SERVICES,
        stop: stop.signal,
      });
      await vi.waitFor(
        async () => {
          expect(await dumpSessions()).toEqual(["Lock"]);
        },
        { timeout: 60_000, interval: 100 },
      );
      expect(dumpProcesses()).toHaveLength(1);
      stop.abort(new Stopped("SIGTERM"));

      // Settled while the lock is still held, so before the dump could have finished.
      const code = await within(drill, 30_000, "the stopped drill's exit");
      expect(code, err).toBe(143);
      expect(dumpProcesses()).toEqual([]);
      const record = JSON.parse(out || "{}") as DrillRecord;
      expect(record).toMatchObject({
        passed: false,
        problems: ["stopped by SIGTERM"],
        backup_id: null,
        restore: { started_at: null },
        rpo: null,
        rto: null,
      });
      const [latest] = await readDrillRecords(store);
      expect(latest).toMatchObject({ record: { id: record.id, passed: false, problems: ["stopped by SIGTERM"] } });
      expect(await listBackups(store)).toEqual(backups);
      // pg_dump cancelled its query as it was killed: its session ends without the lock.
      await vi.waitFor(
        async () => {
          expect(await dumpSessions()).toEqual([]);
        },
        { timeout: 10_000, interval: 100 },
      );
      expect(drillPushes(before)).toEqual(failedRunPushes(record));
      expect(await drillDatabases()).toEqual([]);
      expect(await drillQueueKeys()).toEqual([]);
    } finally {
      // Whatever failed above, the drill stops and finishes before the view goes.
      stop.abort(new Stopped("SIGTERM"));
      await holder.end();
      await drill;
      await sql`drop view public.drill_hold`.execute(source.db);
    }
  }, 300_000);

  it("when the chain's settings or the services' entrypoint are missing, then it exits 64 naming them, before any backup", async () => {
    const env = await drillEnv();
    const partial = Object.fromEntries(
      Object.entries(env).filter(([name]) => name !== "BSC_RPC_URL" && name !== "FUND_ADDRESS"),
    );
    const missing = await runOpsForTest(["dr-drill"], partial, { services: SERVICES });
    expect(missing.code).toBe(64);
    expect(missing.err).toContain("BSC_RPC_URL: missing");
    expect(missing.err).toContain("FUND_ADDRESS: missing");
    const noEntry = await runOpsForTest(["dr-drill"], env);
    expect(noEntry.code).toBe(64);
    expect(noEntry.err).toContain("the services' entrypoint is not known");
    expect(await runOpsForTest(["dr-drill", "--api-timeout", "0"], env, { services: SERVICES })).toMatchObject({
      code: 64,
    });
  });
});
