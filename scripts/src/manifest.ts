/**
 * A backup's manifest: what it holds (each artefact's size and SHA-256), what it represents (the
 * WAL position and the listener's block, row counts per table), and when it was made. It is
 * written last: a backup without one is partial and is never restored.
 */
import { z } from "zod";

/** The §7.1 backup table: what is backed up, and how long each kind is kept. */
export const BACKUP_KINDS = {
  postgres: { retentionDays: 30 },
  redis: { retentionDays: 7 },
  secrets: { retentionDays: 90 },
  timescaledb: { retentionDays: 30 },
} as const;
export type BackupKind = keyof typeof BACKUP_KINDS;
export const isBackupKind = (value: string): value is BackupKind => Object.hasOwn(BACKUP_KINDS, value);

export const MANIFEST_NAME = "manifest.json";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256");
const stamp = z.iso.datetime();

export const manifestSchema = z.strictObject({
  format: z.literal(1),
  id: z.string().regex(/^(postgres|redis|secrets|timescaledb)-\d{8}T\d{6}(\d{3})?Z$/),
  kind: z.enum(["postgres", "redis", "secrets", "timescaledb"]),
  started_at: stamp,
  completed_at: stamp,
  artefacts: z
    .array(z.strictObject({ name: z.string().regex(/^[\w.-]+$/), size: z.number().int().min(0), sha256 }))
    .min(1),
  /** Rows per table at the backup's snapshot, `schema.table` → count. */
  tables: z.record(z.string(), z.number().int().min(0)),
  /** What point in time the backup is: the WAL LSN of its snapshot and the listener's last committed block. */
  position: z.strictObject({
    wal_lsn: z.string().nullable(),
    listener_block: z.string().nullable(),
  }),
  source: z.strictObject({
    server_version: z.string().nullable(),
    database: z.string().nullable(),
    /** Extensions whose version a restore must match, `name` → version (TimescaleDB's). */
    extensions: z.record(z.string(), z.string()).optional(),
  }),
  /** A secrets export's contents: each secret's name and version — never a value. */
  secrets: z.array(z.strictObject({ name: z.string().min(1), version_id: z.string().min(1) })).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** A backup's id: its kind and the UTC moment it started, e.g. `postgres-20261201T134500123Z`. */
export function backupId(kind: BackupKind, at: Date): string {
  return `${kind}-${at.toISOString().replace(/[-:]/g, "").replace(".", "")}`;
}

/** The kind and start time an id names, or undefined when it is not an id. */
export function parseBackupId(id: string): { kind: BackupKind; at: Date } | undefined {
  const match = /^(\w+)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z$/.exec(id);
  if (!match) return undefined;
  const [, kind = "", year, month, day, hour, minute, second, millis = "000"] = match;
  if (!isBackupKind(kind)) return undefined;
  const at = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}Z`);
  return Number.isNaN(at.getTime()) ? undefined : { kind, at };
}

/** The manifest's text: stable key order, so its own checksum means something. */
export const serializeManifest = (manifest: Manifest): string => `${JSON.stringify(manifest, null, 2)}\n`;
