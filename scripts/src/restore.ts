/**
 * A PostgreSQL backup restored into a database: the backup fetched and every checksum verified
 * before anything is touched, the writers stopped (and started again, whatever happens), no writer
 * left holding a lock in the target, `pg_restore` in one transaction, and every table's row count
 * compared with the manifest's.
 */
import { BackupError, fetchVerified, withScratch } from "./backups";
import type { Manifest } from "./manifest";
import { liveWriters, restorePostgres } from "./postgres";
import type { BackupStore } from "./store";
import { withWritersStopped, type Writers } from "./writers";

export interface RestoreOptions {
  readonly store: BackupStore;
  readonly id: string;
  /** The database restored into. */
  readonly url: string;
  readonly sslRootCert?: string | undefined;
  /** Who writes to `url`: stopped for the restore, started again after it. */
  readonly writers: Writers;
  readonly log?: (line: string) => void;
}

export interface Restored {
  readonly manifest: Manifest;
  /** Rows per table after the restore, equal to the manifest's. */
  readonly counts: Record<string, number>;
  /** What was stopped for it and started again. */
  readonly writers: readonly string[];
}

/**
 * The manifest's tables whose restored row count differs, one line each. (Tables the target has
 * beside them are not the backup's: a restore into a live database leaves them.)
 */
export function differingCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  return Object.entries(expected)
    .filter(([table, rows]) => actual[table] !== rows)
    .map(([table, rows]) => `${table}: ${String(actual[table] ?? "absent")} rows, the backup had ${rows}`);
}

export async function restoreBackup(options: RestoreOptions): Promise<Restored> {
  const { id, url } = options;
  return withScratch(async (directory) => {
    // Fetched and verified while the services still run: a damaged backup stops nothing.
    const { manifest, files } = await fetchVerified(options.store, id, directory);
    if (manifest.kind !== "postgres")
      throw new BackupError(`${id} is a ${manifest.kind} backup; this command restores PostgreSQL backups`);
    const file = files[0];
    if (file === undefined) throw new BackupError(`${id} has no dump`);
    return withWritersStopped(options.writers, async (stopped) => {
      const live = await liveWriters(url, options.sslRootCert);
      if (live.length > 0)
        throw new BackupError(
          `writers are connected to the target (${live.join(", ")})${stopped.stopped.length > 0 ? ` after stopping ${options.writers.where}` : ""}: stop them first; nothing was changed`,
        );
      options.log?.(`restoring ${id} into the target`);
      const counts = await restorePostgres({ url, file, sslRootCert: options.sslRootCert });
      const differing = differingCounts(manifest.tables, counts);
      if (differing.length > 0) throw new BackupError(`${id} restored, but row counts differ: ${differing.join("; ")}`);
      return { manifest, counts, writers: stopped.stopped };
    });
  });
}
