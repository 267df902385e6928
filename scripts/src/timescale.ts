/**
 * The metrics database's backup and restore: TimescaleDB, self-hosted on EKS (RDS does not load
 * it), or in development the same PostgreSQL as an ordinary database. The dump is PostgreSQL's
 * (`pg_dump -Fc` of one exported snapshot, with its row counts): TimescaleDB's hypertables,
 * chunks and compressed chunks are ordinary tables and its catalog ordinary rows to pg_dump. What
 * TimescaleDB adds is at restore: the extension must be the version the dump was taken with (its
 * catalog is restored as rows, and no upgrade script runs), the database must be a fresh one (a
 * `--clean` restore would drop the extension under the hypertables), and the restore runs between
 * `timescaledb_pre_restore()` — which stops its background jobs and sets
 * `timescaledb.restoring` — and `timescaledb_post_restore()`, which is run whatever happens, so a
 * failed restore never leaves the database in restore mode. The manifest records the version.
 */
import type pg from "pg";
import { BackupError, type Produced } from "./backups";
import type { Manifest } from "./manifest";
import { dumpPostgres, restorePostgres, withClient } from "./postgres";

const EXTENSION = "timescaledb";

const extensionVersion = async (client: pg.ClientBase): Promise<string | undefined> =>
  (
    await client.query<{ version: string }>("select extversion as version from pg_extension where extname = $1", [
      EXTENSION,
    ])
  ).rows[0]?.version;

/** A dump of the metrics database, with the TimescaleDB version it was taken from (when it has one). */
export async function dumpTimescale(options: {
  readonly url: string;
  readonly directory: string;
  readonly sslRootCert?: string | undefined;
}): Promise<Produced> {
  let version: string | undefined;
  const { file, snapshot } = await dumpPostgres({
    ...options,
    inSnapshot: async (client) => {
      version = await extensionVersion(client);
    },
  });
  return {
    files: [file],
    tables: snapshot.tables,
    position: { wal_lsn: snapshot.walLsn, listener_block: snapshot.listenerBlock },
    source: {
      server_version: snapshot.serverVersion,
      database: snapshot.database,
      ...(version === undefined ? {} : { extensions: { [EXTENSION]: version } }),
    },
  };
}

/** User tables in the target, outside TimescaleDB's own schemas: a fresh database has none. */
async function userTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema')
        and table_schema not like 'pg\\_%' and table_schema not like '\\_timescaledb%'
        and table_schema not like 'timescaledb\\_%'
      order by 1`,
  );
  return rows.map((row) => row.name);
}

/**
 * Restores a TimescaleDB backup into `url`, verified already. A dump of an ordinary database (the
 * development one) restores as PostgreSQL's do; a TimescaleDB dump goes into a fresh database with
 * the same extension version, between the pre- and post-restore hooks. Resolves to the row counts.
 */
export async function restoreTimescale(options: {
  readonly url: string;
  readonly file: string;
  readonly manifest: Manifest;
  readonly sslRootCert?: string | undefined;
}): Promise<Record<string, number>> {
  const { url, manifest, sslRootCert } = options;
  const wanted = manifest.source.extensions?.[EXTENSION];
  if (wanted === undefined) return restorePostgres({ url, file: options.file, sslRootCert });
  await withClient(url, sslRootCert, async (client) => {
    const present = await userTables(client);
    if (present.length > 0)
      throw new BackupError(
        `${manifest.id}: a TimescaleDB backup restores into a fresh database, and the target has tables (${present.slice(0, 5).join(", ")}${present.length > 5 ? ", …" : ""}): create an empty database and pass it with --database-url; nothing was changed`,
      );
    try {
      await client.query(`create extension if not exists ${EXTENSION} version '${wanted.replaceAll("'", "''")}'`);
    } catch (error) {
      throw new BackupError(
        `${manifest.id}: the target cannot create TimescaleDB ${wanted}, the backup's version (${(error as Error).message}); nothing was changed`,
        { cause: error },
      );
    }
    const installed = await extensionVersion(client);
    if (installed !== wanted)
      throw new BackupError(
        `${manifest.id}: the target has TimescaleDB ${String(installed)}, the backup was taken with ${wanted}: restore into a database with ${wanted}, then upgrade the extension`,
      );
    await client.query("select timescaledb_pre_restore()");
  });
  try {
    return await restorePostgres({ url, file: options.file, sslRootCert, clean: false });
  } finally {
    await withClient(url, sslRootCert, (client) => client.query("select timescaledb_post_restore()"));
  }
}
