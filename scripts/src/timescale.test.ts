/**
 * The metrics database's backup and restore on this machine's PostgreSQL 15, which has no
 * TimescaleDB extension: the metrics database is the development one (the `metrics` schema of a
 * migrated database, ordinary tables), dumped and restored for real. The TimescaleDB-only path of
 * the restore is exercised as far as a server without the extension allows — a manifest that
 * records TimescaleDB is refused for a target with tables, and for one that cannot create the
 * extension at the recorded version, in both cases with nothing changed. And pg_dump's version is
 * checked against the server's, and the image's against every stack's servers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readStackConfigs } from "../../infra/planner/stack-configs";
import { clientMajor, dumpClientProblem, serverMajor } from "./pg-tools";
import { runOpsForTest } from "./testing";

const ops = runOpsForTest;

async function metricsContents(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'metrics' order by 1",
    );
    const result: Record<string, string> = {};
    for (const { name } of rows) {
      const row = await client.query<{ digest: string }>(
        `select count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from metrics."${name}" t`,
      );
      result[name] = row.rows[0]?.digest ?? "";
    }
    return result;
  } finally {
    await client.end();
  }
}

let scratch: string;
let database: TestDatabase;
let env: Record<string, string>;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "paimon-timescale-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(async () => {
  database = await createTestDatabase();
  await sql`create table metrics.samples (at timestamptz not null, value numeric not null)`.execute(database.db);
  await sql`insert into metrics.samples select now() - g * interval '1 minute', g from generate_series(1, 2000) g`.execute(
    database.db,
  );
  env = { BACKUP_TARGET: `file://${mkdtempSync(path.join(scratch, "target-"))}`, METRICS_DATABASE_URL: database.url };
});
afterEach(async () => {
  await database.drop();
});

const manifestPath = (id: string) =>
  path.join(new URL(env["BACKUP_TARGET"] ?? "").pathname, "timescaledb", id, "manifest.json");

describe("a TimescaleDB backup of the development metrics database (no extension here)", () => {
  it("when made, then it is pg_dump's with its row counts and no extension recorded, and a restore brings back the same rows", async () => {
    const before = await metricsContents(database.url);
    const made = await ops(["--json", "backup", "timescaledb"], env);
    expect(made.err).toBe("");
    expect(made.code).toBe(0);
    const { id, manifest } = JSON.parse(made.out) as {
      id: string;
      manifest: { tables: Record<string, number>; source: Record<string, unknown>; artefacts: { name: string }[] };
    };
    expect(id).toMatch(/^timescaledb-/);
    expect(manifest.artefacts.map((artefact) => artefact.name)).toEqual(["dump.pgc"]);
    expect(manifest.tables).toMatchObject({ "metrics.samples": 2000 });
    expect(manifest.source).not.toHaveProperty("extensions");

    await sql`delete from metrics.samples where value > 10`.execute(database.db);
    const restored = await ops(["--json", "restore", id], env);
    expect(restored.err).toBe("");
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.out)).toMatchObject({ id, restored: true, kind: "timescaledb" });
    expect(await metricsContents(database.url)).toEqual(before);
  });

  it("when its manifest records TimescaleDB, then a target with tables is refused, and one that cannot create that version too, each with nothing changed", async () => {
    const { id } = JSON.parse((await ops(["--json", "backup", "timescaledb"], env)).out) as { id: string };
    const manifest = JSON.parse(readFileSync(manifestPath(id), "utf8")) as { source: Record<string, unknown> };
    manifest.source["extensions"] = { timescaledb: "2.17.2" };
    writeFileSync(manifestPath(id), `${JSON.stringify(manifest, null, 2)}\n`);
    await sql`delete from metrics.samples`.execute(database.db);
    const before = await metricsContents(database.url);

    const occupied = await ops(["restore", id], env);
    expect(occupied.code).toBe(2);
    expect(occupied.err).toContain("a TimescaleDB backup restores into a fresh database, and the target has tables");
    expect(await metricsContents(database.url)).toEqual(before);

    const empty = await createTestDatabase({ migrate: false });
    try {
      const unable = await ops(["restore", id, "--database-url", empty.url], env);
      expect(unable.code).toBe(2);
      expect(unable.err).toContain("the target cannot create TimescaleDB 2.17.2, the backup's version");
      const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables
        where table_schema not in ('pg_catalog', 'information_schema')`.execute(empty.db);
      expect(tables.rows[0]?.n).toBe(0);
    } finally {
      await empty.drop();
    }
  });

  it("when METRICS_DATABASE_URL is missing, then it exits 64 naming it", async () => {
    const missing = await ops(["backup", "timescaledb"], { BACKUP_TARGET: env["BACKUP_TARGET"] ?? "" });
    expect([missing.code, missing.err]).toEqual([64, "ops: invalid configuration: METRICS_DATABASE_URL: missing\n"]);
  });
});

describe("pg_dump against the server's version", () => {
  it("then the client on PATH fits this machine's server, and one older than the server is refused naming both", async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const num = Number(
      (await client.query<{ n: string }>("select current_setting('server_version_num') as n")).rows[0]?.n,
    );
    await client.end();
    const line = execFileSync("pg_dump", ["--version"], { encoding: "utf8" });
    expect(dumpClientProblem(line, num)).toBeUndefined();

    expect(dumpClientProblem("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n", 160004)).toBe(
      "pg_dump 15.20 is older than the server (PostgreSQL 16): it cannot dump a newer major version. " +
        "Run the backup with postgresql-client-16 or newer on PATH (the services' image carries it).",
    );
    expect(dumpClientProblem("pg_dump (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)", 160004)).toBeUndefined();
    expect(dumpClientProblem("pg_dump (PostgreSQL) 17.2", 160004)).toBeUndefined();
    expect([serverMajor(90624).label, clientMajor("pg_dump (PostgreSQL) 9.6.24").label]).toEqual(["9.6", "9.6"]);
    expect(dumpClientProblem("pg_dump (PostgreSQL) 9.5.25", 90624)).toContain("older than the server (PostgreSQL 9.6)");
    expect(() => clientMajor("command not found")).toThrow("not a PostgreSQL tool's version");
  });

  it("then the image's client tools are the major version of every stack's RDS PostgreSQL and TimescaleDB", () => {
    const dockerfile = readFileSync(path.join(__dirname, "..", "..", "Dockerfile"), "utf8");
    const pinned = /^ARG POSTGRESQL_CLIENT_VERSION=(\d+)\.\d+-\S+$/m.exec(dockerfile)?.[1];
    expect(dockerfile).toContain(`"postgresql-client-${String(pinned)}=\${POSTGRESQL_CLIENT_VERSION}"`);
    for (const config of readStackConfigs()) {
      expect(config.database.engineVersion.split(".")[0], config.stack).toBe(pinned);
      expect(/-pg(\d+)(@|$)/.exec(config.workloads.timescaledbImage)?.[1], config.stack).toBe(pinned);
    }
  });
});
