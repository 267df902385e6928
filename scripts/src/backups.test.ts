/**
 * Backups and restores for real: this machine's PostgreSQL (a database per test), pg_dump and
 * pg_restore, moto's S3 through the real AWS SDK, a Redis of the test's own, and a Pushgateway
 * stand-in that records what is pushed.
 */
import { once } from "node:events";
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { Redis } from "ioredis";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { expired, listBackups, makeBackup, pruneBackups, readManifest, type ListedBackup } from "./backups";
import { fileStore, openStore, type BackupStore } from "./store";
import { runOpsForTest, type OpsRun, startMoto, startRedis, type LocalServer } from "./testing";

const ops = runOpsForTest;

/** Each table's row count and a checksum of its rows, in one snapshot. */
async function contents(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      `select table_schema || '.' || table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema in ('public', 'metrics') order by 1`,
    );
    const result: Record<string, string> = {};
    for (const { name } of tables.rows) {
      const [schema, table] = name.split(".") as [string, string];
      const row = await client.query<{ rows: string; digest: string }>(
        `select count(*)::text as rows, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from "${schema}"."${table}" t`,
      );
      result[name] = `${row.rows[0]?.rows ?? "?"}:${row.rows[0]?.digest ?? "?"}`;
    }
    return result;
  } finally {
    await client.end();
  }
}

async function seed(database: TestDatabase, rows: number) {
  await sql`insert into sync_checkpoints (name, chain_id, block_number, block_hash)
            values ('event-listener', 97, 123456, ${`0x${"ab".repeat(32)}`})`.execute(database.db);
  await sql`create table filler (id int primary key, note text)`.execute(database.db);
  await sql`insert into filler select g, md5(g::text) from generate_series(1, ${rows}) g`.execute(database.db);
}

let scratch: string;
let database: TestDatabase;
let env: Record<string, string>;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "paimon-ops-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(async () => {
  database = await createTestDatabase();
  await seed(database, 5000);
  const target = mkdtempSync(path.join(scratch, "target-"));
  env = { BACKUP_TARGET: `file://${target}`, DATABASE_URL: database.url };
});
afterEach(async () => {
  await database.drop();
});

/** A producer that writes one six-byte "dump" and nothing else of a database. */
const sixByteDump = (directory: string) => {
  const file = path.join(directory, "dump.pgc");
  writeFileSync(file, "a dump");
  return Promise.resolve({
    files: [file],
    tables: {},
    position: { wal_lsn: null, listener_block: null },
    source: { server_version: null, database: null },
  });
};

const backupId = (run: OpsRun) => (JSON.parse(run.out) as { id: string }).id;
const artefact = (id: string, name: string) =>
  path.join(new URL(env["BACKUP_TARGET"] ?? "").pathname, "postgres", id, name);

describe("a PostgreSQL backup", () => {
  it("when made, then its manifest holds each artefact's size and SHA-256, the row counts and the listener's block, and a restore brings back the same rows", async () => {
    const before = await contents(database.url);
    const made = await ops(["--json", "backup", "postgres"], env);
    expect(made.err).toBe("");
    expect(made.code).toBe(0);
    const { manifest } = JSON.parse(made.out) as {
      manifest: {
        artefacts: { name: string; size: number; sha256: string }[];
        tables: Record<string, number>;
        position: object;
      };
    };
    expect(manifest.artefacts).toEqual([
      {
        name: "dump.pgc",
        size: expect.any(Number) as number,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
      },
    ]);
    expect(manifest.tables).toMatchObject({ "public.filler": 5000, "public.sync_checkpoints": 1 });
    expect(manifest.position).toEqual({
      wal_lsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) as string,
      listener_block: "123456",
    });

    // The database moves on; the restore brings back exactly what the backup held.
    await sql`delete from filler where id > 100`.execute(database.db);
    await sql`insert into filler values (999999, 'after the backup')`.execute(database.db);
    const restored = await ops(["restore", backupId(made)], env);
    expect(restored.err).toBe("");
    expect(restored.code).toBe(0);
    expect(restored.out).toContain("row counts as in the manifest; the listener resumes from block 123456");
    expect(await contents(database.url)).toEqual(before);
  });

  it("when restored into an empty scratch database, then it holds the same rows and checksums as the source", async () => {
    const made = await ops(["--json", "backup", "postgres"], env);
    const target = await createTestDatabase({ migrate: false });
    try {
      const restored = await ops(["restore", backupId(made), "--database-url", target.url], env);
      expect(restored.code).toBe(0);
      expect(restored.out).toContain(
        "no writers were stopped: none are known for this database (it is not DATABASE_URL)",
      );
      expect(await contents(target.url)).toEqual(await contents(database.url));
    } finally {
      await target.drop();
    }
  });

  it("when its dump is truncated or altered, then the restore is refused before anything changes", async () => {
    const made = await ops(["--json", "backup", "postgres"], env);
    const id = backupId(made);
    await sql`delete from filler where id > 10`.execute(database.db);
    const before = await contents(database.url);

    const dump = artefact(id, "dump.pgc");
    const original = readFileSync(dump);
    truncateSync(dump, Math.floor(original.length / 2));
    const truncated = await ops(["restore", id], env);
    expect(truncated.code).toBe(2);
    expect(truncated.err).toMatch(/artefact dump\.pgc is \d+ bytes, the manifest says \d+ \(truncated or replaced\)/);

    const altered = Buffer.from(original);
    altered[altered.length - 10] = (altered[altered.length - 10] ?? 0) ^ 0xff;
    writeFileSync(dump, altered);
    const corrupt = await ops(["restore", id], env);
    expect(corrupt.code).toBe(2);
    expect(corrupt.err).toContain("has SHA-256");
    expect(await contents(database.url)).toEqual(before);
  });

  it("when it has no manifest (interrupted), then it is listed as partial and cannot be restored", async () => {
    const made = await ops(["--json", "backup", "postgres"], env);
    const id = backupId(made);
    unlinkSync(artefact(id, "manifest.json"));
    const listed = await ops(["--json", "backups", "list"], env);
    expect(JSON.parse(listed.out)).toEqual([expect.objectContaining({ id, state: "partial" })]);
    const refused = await ops(["restore", id], env);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("has no manifest: it is a partial backup");
    expect((await ops(["restore", "postgres-20200101T000000Z"], env)).err).toContain("no such backup");
    expect((await ops(["restore", "yesterday"], env)).err).toContain("is not a backup id");
  });

  it("when a writer holds its lock on the target, then the restore is refused naming it, and nothing changes", async () => {
    const made = await ops(["--json", "backup", "postgres"], env);
    await sql`delete from filler`.execute(database.db);
    const before = await contents(database.url);
    const writer = new pg.Client({ connectionString: database.url, application_name: "paimon-event-listener" });
    await writer.connect();
    try {
      await writer.query("select pg_advisory_lock(hashtext('paimon:event-listener:97'))");
      const refused = await ops(["restore", backupId(made)], env);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/writers are connected to the target \(pid \d+ \(paimon-event-listener\)/);
      expect(await contents(database.url)).toEqual(before);
    } finally {
      await writer.end();
    }
  });

  it("when the stored copy does not read back as written, then the backup fails and no success is recorded", async () => {
    const store = fileStore(mkdtempSync(path.join(scratch, "lying-")));
    const lying = {
      ...store,
      async download(key: string, file: string) {
        await store.download(key, file);
        writeFileSync(file, "not what was written");
      },
    };
    const recorded = vi.fn(() => Promise.resolve());
    await expect(
      makeBackup({
        kind: "postgres",
        store: lying,
        produce: sixByteDump,
        onSuccess: recorded,
      }),
    ).rejects.toThrow("is 20 bytes, the manifest says 6");
    expect(recorded).not.toHaveBeenCalled();
  });

  it("when stopped once its dump is stored, then no manifest is written: it is listed as partial, refused by a restore, and pruned after a day", async () => {
    const store = fileStore(mkdtempSync(path.join(scratch, "stopped-")));
    const stop = new AbortController();
    const stopping: BackupStore = {
      ...store,
      async putFile(key, file, signal) {
        await store.putFile(key, file, signal);
        stop.abort(new Error("stopped by SIGTERM"));
      },
    };
    const recorded = vi.fn(() => Promise.resolve());
    await expect(
      makeBackup({
        kind: "postgres",
        store: stopping,
        signal: stop.signal,
        produce: sixByteDump,
        onSuccess: recorded,
      }),
    ).rejects.toThrow("stopped by SIGTERM");
    expect(recorded).not.toHaveBeenCalled();
    const listed = await listBackups(store);
    expect(listed).toEqual([expect.objectContaining({ kind: "postgres", state: "partial", bytes: 6 })]);
    const [partial] = listed as [ListedBackup];
    await expect(readManifest(store, partial.id)).rejects.toThrow("has no manifest: it is a partial backup");
    const dayLater = new Date(partial.startedAt.getTime() + 86_400_000 + 1);
    expect(await pruneBackups(store, { now: dayLater })).toEqual([partial]);
    expect(await listBackups(store)).toEqual([]);
  });
});

describe("a backup's success", () => {
  let gateway: Server;
  const pushes: { method: string; url: string; body: string }[] = [];
  beforeAll(async () => {
    gateway = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      request.on("end", () => {
        pushes.push({ method: request.method ?? "", url: request.url ?? "", body });
        response.writeHead(200).end();
      });
    });
    gateway.listen(0, "127.0.0.1");
    await once(gateway, "listening");
  });
  afterAll(async () => {
    await new Promise((resolve) => gateway.close(resolve));
  });

  it("when verified, then its time and size are pushed under job paimon-backup and its kind", async () => {
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    const made = await ops(["--json", "backup", "postgres"], { ...env, PUSHGATEWAY_URL: url });
    expect(made.code).toBe(0);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.method).toBe("POST");
    expect(pushes[0]?.url).toBe("/metrics/job/paimon-backup/kind/postgres");
    const bytes = (JSON.parse(made.out) as { bytes: number }).bytes;
    expect(pushes[0]?.body).toContain(`paimon_backup_size_bytes{kind="postgres",service="paimon-backup"} ${bytes}`);
    expect(pushes[0]?.body).toMatch(
      /paimon_backup_last_success_timestamp_seconds\{kind="postgres",service="paimon-backup"\} \d+/,
    );
  });
});

describe("backups in the S3 bucket (moto, the real AWS SDK)", () => {
  let moto: LocalServer;
  beforeAll(async () => {
    moto = await startMoto();
    vi.stubEnv("AWS_ACCESS_KEY_ID", "testing");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "testing");
    await new S3Client({ region: "ap-southeast-1", endpoint: moto.url, forcePathStyle: true }).send(
      new CreateBucketCommand({
        Bucket: "paimon-test-backups",
        CreateBucketConfiguration: { LocationConstraint: "ap-southeast-1" },
      }),
    );
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await moto.stop();
  });

  it("when a backup goes to s3://, then it is listed there and restores with its checksums verified", async () => {
    const s3 = {
      ...env,
      BACKUP_TARGET: "s3://paimon-test-backups/drill",
      AWS_S3_ENDPOINT: moto.url,
      AWS_REGION: "ap-southeast-1",
    };
    const before = await contents(database.url);
    const made = await ops(["--json", "backup", "postgres"], s3);
    expect(made.err).toBe("");
    expect(JSON.parse(made.out)).toMatchObject({
      location: expect.stringMatching(/^s3:\/\/paimon-test-backups\/drill\/postgres\//) as string,
    });
    const listed = JSON.parse((await ops(["--json", "backups", "list"], s3)).out) as ListedBackup[];
    expect(listed.map((backup) => [backup.id, backup.state])).toEqual([[backupId(made), "complete"]]);
    await sql`truncate filler`.execute(database.db);
    expect((await ops(["restore", backupId(made)], s3)).code).toBe(0);
    expect(await contents(database.url)).toEqual(before);
  });

  it("when a put's signal is aborted, then the put fails and stores nothing, in the bucket as in a directory", async () => {
    const file = path.join(mkdtempSync(path.join(scratch, "put-")), "dump.pgc");
    writeFileSync(file, "a dump");
    const stopped = AbortSignal.abort(new Error("stopped by SIGTERM"));
    for (const store of [
      openStore("s3://paimon-test-backups/stopped", { region: "ap-southeast-1", s3Endpoint: moto.url }),
      fileStore(mkdtempSync(path.join(scratch, "stopped-"))),
    ]) {
      await expect(store.putFile("postgres/postgres-20260101T000000000Z/dump.pgc", file, stopped)).rejects.toThrow();
      await expect(
        store.putText("postgres/postgres-20260101T000000000Z/manifest.json", "{}", stopped),
      ).rejects.toThrow();
      expect(await store.list("postgres/")).toEqual([]);
    }
  });
});

describe("a Redis backup", () => {
  let redisServer: LocalServer;
  beforeAll(async () => {
    redisServer = await startRedis();
  });
  afterAll(async () => {
    await redisServer.stop();
  });

  it("when made, then BGSAVE has finished (LASTSAVE moved) and the RDB with its key counts is stored", async () => {
    const redis = new Redis(redisServer.url);
    try {
      await redis.mset(Object.fromEntries(Array.from({ length: 250 }, (_, index) => [`key:${index}`, "value"])));
      const made = await ops(["--json", "backup", "redis"], { ...env, REDIS_URL: redisServer.url });
      expect(made.err).toBe("");
      const { manifest, id } = JSON.parse(made.out) as { id: string; manifest: { tables: Record<string, number> } };
      expect(manifest.tables).toEqual({ db0: 250 });
      const rdb = readFileSync(path.join(new URL(env["BACKUP_TARGET"] ?? "").pathname, "redis", id, "dump.rdb"));
      expect(rdb.subarray(0, 5).toString("latin1")).toBe("REDIS");
    } finally {
      redis.disconnect();
    }
  });
});

describe("retention", () => {
  const day = 86_400_000;
  const now = new Date("2026-12-01T12:00:00Z");
  const backup = (
    kind: ListedBackup["kind"],
    daysAgo: number,
    state: ListedBackup["state"] = "complete",
  ): ListedBackup => ({
    id: `${kind}-${daysAgo}`,
    kind,
    startedAt: new Date(now.getTime() - daysAgo * day),
    state,
    bytes: 1,
  });

  it("then each kind keeps its table's days (postgres 30, redis 7, secrets 90), never its newest, and partial backups a day", () => {
    const listing = [
      backup("postgres", 1),
      backup("postgres", 29),
      backup("postgres", 31),
      backup("redis", 6),
      backup("redis", 8),
      backup("secrets", 89),
      backup("secrets", 91),
      backup("timescaledb", 400),
      backup("postgres", 2, "partial"),
      backup("postgres", 0.5, "partial"),
    ];
    expect(expired(listing, now).map((b) => b.id)).toEqual(["postgres-31", "redis-8", "secrets-91", "postgres-2"]);
  });

  it("when pruned, then what retention lets go is deleted from the store, and --dry-run deletes nothing", async () => {
    const made = await ops(["--json", "backup", "postgres"], env);
    const root = new URL(env["BACKUP_TARGET"] ?? "").pathname;
    const current = backupId(made);
    const old = "postgres-20250101T000000000Z";
    const manifest = JSON.parse(readFileSync(path.join(root, "postgres", current, "manifest.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const copy = path.join(root, "postgres", old);
    rmSync(copy, { recursive: true, force: true });
    cpSync(path.join(root, "postgres", current), copy, { recursive: true });
    writeFileSync(
      path.join(copy, "manifest.json"),
      `${JSON.stringify({ ...manifest, id: old, started_at: "2025-01-01T00:00:00.000Z" }, null, 2)}\n`,
    );

    const dry = await ops(["--json", "backups", "prune", "--dry-run"], env);
    expect(JSON.parse(dry.out)).toEqual({ dryRun: true, pruned: [old] });
    expect(readdirSync(path.join(root, "postgres")).sort()).toEqual([old, current].sort());
    const pruned = await ops(["--json", "backups", "prune"], env);
    expect(JSON.parse(pruned.out)).toEqual({ dryRun: false, pruned: [old] });
    expect(readdirSync(path.join(root, "postgres"))).toEqual([current]);
  });
});

describe("the CLI's refusals", () => {
  it("when configuration is missing or wrong, then it exits 64 naming the variable", async () => {
    const missing = await ops(["backups", "list"], {});
    expect(missing.code).toBe(64);
    expect(missing.err).toContain("BACKUP_TARGET: missing");
    const wrong = await ops(["backups", "list"], { BACKUP_TARGET: "ftp://x" });
    expect(wrong.err).toContain("BACKUP_TARGET: must be a file:// or s3:// URL");
    const noDatabase = await ops(["backup", "postgres"], { BACKUP_TARGET: env["BACKUP_TARGET"] ?? "" });
    expect([noDatabase.code, noDatabase.err]).toEqual([64, "ops: invalid configuration: DATABASE_URL: missing\n"]);
    expect((await ops(["backup", "tapes"], env)).code).toBe(64);
    expect((await ops(["nonsense"], env)).code).toBe(64);
  });
});
