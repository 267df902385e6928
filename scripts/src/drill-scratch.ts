/**
 * Where a DR drill restores to: a scratch database beside the source on the same server (the
 * backup's dump, `pg_restore`), or — on AWS — a scratch RDS instance restored to the backup's
 * point in time (rds.ts). Either is gone after the drill, whether it passed, failed or broke off.
 */
import { pgConnection } from "@paimon/core/db";
import pg from "pg";
import { fetchVerified, withScratch } from "./backups";
import { restorePostgres } from "./postgres";
import type { BackupStore } from "./store";

export interface Scratch {
  readonly method: "pg_restore" | "rds-point-in-time";
  /** The scratch database's or instance's name. */
  readonly name: string;
  /** Restores the backup there; resolves with the scratch database's URL. */
  restore(backup: { readonly id: string; readonly snapshotAt: Date }): Promise<string>;
  /** Removes it; a no-op when nothing was made. */
  drop(): Promise<void>;
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** The URL of database `name` on the server of `url`, with its credentials and parameters. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

/** A scratch database `name` on the source's server, the backup's dump restored into it. */
export function localScratch(options: {
  readonly store: BackupStore;
  readonly sourceUrl: string;
  readonly sslRootCert?: string | undefined;
  readonly name: string;
}): Scratch {
  const admin = async (statement: string) => {
    const client = new pg.Client(pgConnection(options.sourceUrl, { sslRootCert: options.sslRootCert }));
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  let created = false;
  return {
    method: "pg_restore",
    name: options.name,
    async restore(backup) {
      await admin(`create database ${quote(options.name)}`);
      created = true;
      const url = databaseUrl(options.sourceUrl, options.name);
      await withScratch(async (directory) => {
        const { files } = await fetchVerified(options.store, backup.id, directory);
        const [file] = files;
        if (file === undefined) throw new Error(`${backup.id} has no dump`);
        await restorePostgres({ url, file, sslRootCert: options.sslRootCert });
      });
      return url;
    },
    async drop() {
      if (!created) return;
      // Sessions the drill's services left behind (a killed one) must not keep it.
      await admin(`drop database if exists ${quote(options.name)} with (force)`);
      created = false;
    },
  };
}
