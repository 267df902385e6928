/**
 * The PostgreSQL client tools a backup runs. pg_dump refuses to dump a server of a newer major
 * version than its own ("aborting because of server version mismatch"), and a dump it did make of
 * an older server restores anywhere newer: so the tools must be at least the server's major. The
 * image carries postgresql-client-16 for RDS PostgreSQL 16 and TimescaleDB's pg16; this check turns
 * a wrong PATH or an old image into a message that says which is which, before anything is dumped.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type pg from "pg";

const run = promisify(execFile);

/** A major version as PostgreSQL counts them: 16 for 16.4, 9.6 for 9.6.24. */
export interface PgMajor {
  readonly major: number;
  readonly label: string;
}

/** The major of a `server_version_num` (160004 → 16, 90624 → 9.6). */
export function serverMajor(serverVersionNum: number): PgMajor {
  if (!Number.isInteger(serverVersionNum) || serverVersionNum < 90000)
    throw new Error(`server_version_num ${serverVersionNum} is not a PostgreSQL version`);
  if (serverVersionNum >= 100000) {
    const major = Math.floor(serverVersionNum / 10000);
    return { major, label: String(major) };
  }
  const minor = Math.floor(serverVersionNum / 100) % 100;
  return { major: 9 + minor / 10, label: `9.${minor}` };
}

/** The major of a client tool's `--version` line (`pg_dump (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)`). */
export function clientMajor(versionLine: string): PgMajor & { readonly version: string } {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(versionLine);
  if (!match) throw new Error(`not a PostgreSQL tool's version: ${JSON.stringify(versionLine.trim())}`);
  const [, first = "", second, third] = match;
  const version = [first, second, third].filter((part) => part !== undefined).join(".");
  const major = Number(first);
  if (major >= 10) return { major, label: String(major), version };
  return { major: major + Number(second ?? 0) / 10, label: `${major}.${second ?? 0}`, version };
}

/** Why this client cannot dump this server, or undefined when it can. */
export function dumpClientProblem(versionLine: string, serverVersionNum: number, tool = "pg_dump"): string | undefined {
  const client = clientMajor(versionLine);
  const server = serverMajor(serverVersionNum);
  if (client.major >= server.major) return undefined;
  return (
    `${tool} ${client.version} is older than the server (PostgreSQL ${server.label}): it cannot dump a newer ` +
    `major version. Run the backup with postgresql-client-${server.label} or newer on PATH (the services' image carries it).`
  );
}

/** Refuses, naming both versions, when the `pg_dump` on PATH is older than the server `client` is connected to. */
export async function assertDumpClientFits(client: pg.ClientBase, tool = "pg_dump"): Promise<void> {
  const { rows } = await client.query<{ num: string }>("select current_setting('server_version_num') as num");
  const { stdout } = await run(tool, ["--version"]);
  const problem = dumpClientProblem(stdout, Number(rows[0]?.num));
  if (problem !== undefined) throw new Error(problem);
}
