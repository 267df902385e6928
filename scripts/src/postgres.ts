/**
 * PostgreSQL's backup and restore. The backup is `pg_dump -Fc` of one exported snapshot: the row
 * counts, the WAL position and the listener's block are read in the same snapshot the dump is
 * taken from, so the manifest says exactly what the dump holds. The restore is `pg_restore
 * --single-transaction`: it applies whole or not at all, and its row counts are compared with the
 * manifest's before it is called done.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { promisify } from "node:util";
import { LISTENER_CHECKPOINT, pgConnection, serverVerification } from "@paimon/core/db";
import pg from "pg";
import { assertDumpClientFits } from "./pg-tools";

const run = promisify(execFile);

export interface PostgresSnapshot {
  readonly tables: Record<string, number>;
  readonly walLsn: string | null;
  readonly listenerBlock: string | null;
  readonly serverVersion: string;
  readonly database: string;
}

/** Runs `work` on a connection to `url`; `signal` ends the connection, and with it a running query. */
export async function withClient<T>(
  url: string,
  sslRootCert: string | undefined,
  work: (client: pg.Client) => Promise<T>,
  signal?: AbortSignal,
) {
  signal?.throwIfAborted();
  const client = new pg.Client(pgConnection(url, { sslRootCert }));
  const end = () => {
    void client.end();
  };
  signal?.addEventListener("abort", end, { once: true });
  try {
    await client.connect();
    const result = await work(client);
    signal?.throwIfAborted();
    return result;
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener("abort", end);
    await client.end();
  }
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** Rows per user table, `schema.table` → count, in the client's current snapshot. */
export async function countRows(client: pg.ClientBase): Promise<Record<string, number>> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
        and table_schema not like 'pg\\_%'
      order by 1, 2`,
  );
  const counts: Record<string, number> = {};
  for (const { schema, name } of rows) {
    const result = await client.query<{ count: string }>(
      `select count(*) as count from ${quote(schema)}.${quote(name)}`,
    );
    counts[`${schema}.${name}`] = Number(result.rows[0]?.count ?? 0);
  }
  return counts;
}

async function readSnapshot(client: pg.ClientBase): Promise<PostgresSnapshot> {
  const tables = await countRows(client);
  // A replica has no current WAL position of its own: its replay position is what it holds.
  const lsn = await client.query<{ lsn: string | null }>(
    "select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text else pg_current_wal_lsn()::text end as lsn",
  );
  const checkpoint =
    "public.sync_checkpoints" in tables
      ? await client.query<{ block: string }>(
          "select block_number::text as block from sync_checkpoints where name = $1",
          [LISTENER_CHECKPOINT],
        )
      : undefined;
  const server = await client.query<{ version: string; database: string }>(
    "select current_setting('server_version') as version, current_database() as database",
  );
  return {
    tables,
    walLsn: lsn.rows[0]?.lsn ?? null,
    listenerBlock: checkpoint?.rows[0]?.block ?? null,
    serverVersion: server.rows[0]?.version ?? "",
    database: server.rows[0]?.database ?? "",
  };
}

/**
 * Environment for libpq (pg_dump, pg_restore). A verifying URL is checked against the very CA file
 * this process's own connections use (`serverVerification`: the URL's `sslrootcert`, else
 * PGSSLROOTCERT, else the image's RDS bundle) — libpq's own default, `~/.postgresql/root.crt`, is
 * in no image of ours.
 */
const libpqEnv = (url: string, sslRootCert: string | undefined): NodeJS.ProcessEnv => {
  const verification = serverVerification(url, sslRootCert);
  return {
    // eslint-disable-next-line no-restricted-properties -- the client tools need PATH and HOME
    ...process.env,
    ...(verification ? { PGSSLROOTCERT: verification.rootCertPath } : {}),
  };
};

/** How long a stopped pg_dump or pg_restore has to cancel its query and exit, before SIGKILL. */
const TOOL_STOP_GRACE_MS = 10_000;

/**
 * Runs a client tool (pg_dump, pg_restore). `signal` kills it with SIGTERM, on which both cancel
 * their running query on the server and exit; this settles only once the tool has exited, so
 * nothing is still writing into the directory its caller removes next.
 */
async function runTool(
  tool: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<void> {
  const running = run(tool, args, { env, maxBuffer: 16 * 1024 * 1024, ...(signal ? { signal } : {}) });
  try {
    await running;
  } catch (error) {
    // A killed tool's promise rejects as the kill is sent, before the tool has exited. One that
    // has not exited within the grace (a server that does not answer its cancel) gets SIGKILL:
    // the drill's own grace before Kubernetes kills the pod is not spent waiting on it.
    const { child } = running;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      const kill = setTimeout(() => child.kill("SIGKILL"), TOOL_STOP_GRACE_MS);
      try {
        await exited;
      } finally {
        clearTimeout(kill);
      }
    }
    throw error;
  }
}

export interface DumpOptions {
  readonly url: string;
  /** Where the dump is written. */
  readonly directory: string;
  readonly sslRootCert?: string | undefined;
  /** Reads more in the dump's own snapshot before pg_dump runs (a DR drill's checksums). */
  readonly inSnapshot?: (client: pg.ClientBase) => Promise<void>;
  /**
   * Stops the dump (a stopped DR drill): the snapshot's connection ends, with whatever it was
   * reading, and pg_dump is killed; the dump rejects with the signal's reason once pg_dump has
   * exited.
   */
  readonly signal?: AbortSignal | undefined;
}

/** `pg_dump -Fc` of one exported snapshot, with what that snapshot holds. */
export async function dumpPostgres(options: DumpOptions): Promise<{ file: string; snapshot: PostgresSnapshot }> {
  return withClient(
    options.url,
    options.sslRootCert,
    async (client) => {
      await assertDumpClientFits(client);
      await client.query("begin isolation level repeatable read read only");
      const exported = await client.query<{ id: string }>("select pg_export_snapshot() as id");
      const snapshot = await readSnapshot(client);
      await options.inSnapshot?.(client);
      const file = path.join(options.directory, "dump.pgc");
      // The exported snapshot lives as long as this transaction: pg_dump reads exactly it.
      await runTool(
        "pg_dump",
        ["--format=custom", "--no-owner", `--snapshot=${exported.rows[0]?.id ?? ""}`, `--file=${file}`, options.url],
        libpqEnv(options.url, options.sslRootCert),
        options.signal,
      );
      await client.query("commit");
      return { file, snapshot };
    },
    options.signal,
  );
}

/**
 * Sessions that hold advisory locks in the database: the listener's writer lock and the sender's
 * lanes. A restore under a live writer would be overwritten by it, or would pull its data from
 * under it.
 */
export async function liveWriters(url: string, sslRootCert?: string): Promise<string[]> {
  const client = new pg.Client(pgConnection(url, { sslRootCert }));
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; application: string; client: string | null }>(
      `select distinct l.pid, a.application_name as application, a.client_addr::text as client
         from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
          and l.pid <> pg_backend_pid()
        order by l.pid`,
    );
    return rows.map(
      (row) =>
        `pid ${row.pid}${row.application ? ` (${row.application})` : ""}${row.client ? ` from ${row.client}` : ""}`,
    );
  } finally {
    await client.end();
  }
}

/** `pg_restore` of a dump in one transaction, then the row counts it left. */
export async function restorePostgres(options: {
  readonly url: string;
  readonly file: string;
  readonly sslRootCert?: string | undefined;
  /** Drop the dump's objects first (a restore over a live database). @default true */
  readonly clean?: boolean;
}): Promise<Record<string, number>> {
  await runTool(
    "pg_restore",
    [
      ...(options.clean === false ? [] : ["--clean", "--if-exists"]),
      "--no-owner",
      "--single-transaction",
      "--exit-on-error",
      `--dbname=${options.url}`,
      options.file,
    ],
    libpqEnv(options.url, options.sslRootCert),
  );
  const client = new pg.Client(pgConnection(options.url, { sslRootCert: options.sslRootCert }));
  await client.connect();
  try {
    return await countRows(client);
  } finally {
    await client.end();
  }
}
