/**
 * Each table's row count and a checksum of its rows, to compare a restored database with the one
 * it was backed up from. A row's text is hashed, the hashes concatenated in primary-key order (the
 * whole row's text where a table has none) and hashed again: 32 bytes a row in memory, whatever
 * the row's size. The session's rendering of values is pinned, so two databases agree when their
 * contents do, whatever either's defaults.
 */
import type pg from "pg";

export interface TableDigest {
  readonly rows: number;
  readonly md5: string;
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/**
 * The same tables `countRows` counts (every user table), `schema.table` → rows and checksum, in
 * the client's current snapshot. Run it inside a transaction: the settings are `set local`.
 */
export async function tableChecksums(client: pg.ClientBase): Promise<Record<string, TableDigest>> {
  for (const setting of [
    "set local timezone to 'UTC'",
    "set local datestyle to 'ISO, YMD'",
    "set local intervalstyle to 'postgres'",
    "set local extra_float_digits to 3",
    "set local bytea_output to 'hex'",
  ])
    await client.query(setting);
  const { rows } = await client.query<{ schema: string; name: string; key: string[] | null }>(
    `select t.table_schema as schema, t.table_name as name,
            (select array_agg(a.attname::text order by k.position)
               from pg_index i
               cross join lateral unnest(i.indkey) with ordinality as k(attnum, position)
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
              where i.indrelid = format('%I.%I', t.table_schema, t.table_name)::regclass and i.indisprimary) as key
       from information_schema.tables t
      where t.table_type = 'BASE TABLE' and t.table_schema not in ('pg_catalog', 'information_schema')
        and t.table_schema not like 'pg\\_%'
      order by 1, 2`,
  );
  const digests: Record<string, TableDigest> = {};
  for (const { schema, name, key } of rows) {
    const order = key === null ? "t::text" : key.map((column) => `t.${quote(column)}`).join(", ");
    const result = await client.query<{ rows: string; md5: string }>(
      `select count(*)::text as rows, md5(coalesce(string_agg(md5(t::text), '' order by ${order}), '')) as md5
         from ${quote(schema)}.${quote(name)} t`,
    );
    digests[`${schema}.${name}`] = { rows: Number(result.rows[0]?.rows ?? 0), md5: result.rows[0]?.md5 ?? "" };
  }
  return digests;
}

/** One table as the drill compares it. */
export interface TableComparison {
  readonly table: string;
  /** Rows the backup's manifest counted. */
  readonly backupRows: number | null;
  readonly restoredRows: number | null;
  /** The checksum in the backup's own snapshot of the source, and in the restored database. */
  readonly sourceMd5: string | null;
  readonly restoredMd5: string | null;
  readonly equal: boolean;
}

/** Every table of either side, compared: counts with the manifest's, checksums with the source's. */
export function compareTables(
  manifest: Readonly<Record<string, number>>,
  source: Readonly<Record<string, TableDigest>>,
  restored: Readonly<Record<string, TableDigest>>,
): TableComparison[] {
  const tables = [...new Set([...Object.keys(manifest), ...Object.keys(source), ...Object.keys(restored)])].sort();
  return tables.map((table) => {
    const backupRows = manifest[table] ?? null;
    const restoredRows = restored[table]?.rows ?? null;
    const sourceMd5 = source[table]?.md5 ?? null;
    const restoredMd5 = restored[table]?.md5 ?? null;
    return {
      table,
      backupRows,
      restoredRows,
      sourceMd5,
      restoredMd5,
      equal: backupRows !== null && backupRows === restoredRows && sourceMd5 !== null && sourceMd5 === restoredMd5,
    };
  });
}

/** A differing table, in words. */
export function describeDifference(comparison: TableComparison): string {
  const { table, backupRows, restoredRows, sourceMd5, restoredMd5 } = comparison;
  if (restoredRows === null)
    return `${table}: in the backup (${String(backupRows ?? "?")} rows), absent after the restore`;
  if (backupRows === null) return `${table}: not in the backup, present after the restore`;
  if (backupRows !== restoredRows) return `${table}: ${restoredRows} rows restored, the backup had ${backupRows}`;
  return `${table}: same ${restoredRows} rows, but checksum ${String(restoredMd5)} after the restore, ${String(sourceMd5)} in the source`;
}
