/**
 * Backups as the operator and the CronJobs run them: make one (artefacts, then the manifest, then
 * read both back and check them — only then is it a success, and only then are its metrics
 * pushed), list them, prune them by the backup table's retention, and restore one — every
 * checksum verified before anything is touched.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import {
  BACKUP_KINDS,
  MANIFEST_NAME,
  backupId,
  manifestSchema,
  parseBackupId,
  serializeManifest,
  type BackupKind,
  type Manifest,
} from "./manifest";
import type { BackupStore } from "./store";

/** A refusal that names what is wrong and leaves everything as it was. */
export class BackupError extends Error {}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** What one kind's backup produced, before it is stored. */
export interface Produced {
  /** Local files, uploaded under the backup's prefix by their base names. */
  readonly files: readonly string[];
  /**
   * Artefacts already under the backup's prefix in the store, by name (an export AWS wrote there
   * itself): read back and hashed into the manifest, never uploaded. @default []
   */
  readonly stored?: readonly string[];
  readonly tables: Record<string, number>;
  readonly position: Manifest["position"];
  readonly source: Manifest["source"];
  /** A secrets export's names and versions. */
  readonly secrets?: Manifest["secrets"];
}

/** Where a backup being made goes: its id and its key prefix in the store (`<kind>/<id>/`). */
export interface BackupTarget {
  readonly id: string;
  readonly prefix: string;
}

export interface BackupResult {
  readonly manifest: Manifest;
  readonly location: string;
  readonly bytes: number;
}

const prefixOf = (kind: BackupKind, id: string) => `${kind}/${id}/`;

async function withScratch<T>(work: (directory: string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(path.join(tmpdir(), "paimon-backup-"));
  try {
    return await work(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Reads a backup's artefacts back from the store and checks them against the manifest. */
async function verifyStored(
  store: BackupStore,
  manifest: Manifest,
  directory: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const files: string[] = [];
  const prefix = prefixOf(manifest.kind, manifest.id);
  for (const artefact of manifest.artefacts) {
    const file = path.join(directory, `verify-${artefact.name}`);
    try {
      await store.download(`${prefix}${artefact.name}`, file, signal);
    } catch (error) {
      signal?.throwIfAborted();
      throw new BackupError(`${manifest.id}: artefact ${artefact.name} is missing from ${store.url}`, { cause: error });
    }
    const size = (await stat(file)).size;
    if (size !== artefact.size)
      throw new BackupError(
        `${manifest.id}: artefact ${artefact.name} is ${size} bytes, the manifest says ${artefact.size} (truncated or replaced)`,
      );
    const digest = await sha256Of(file);
    if (digest !== artefact.sha256)
      throw new BackupError(
        `${manifest.id}: artefact ${artefact.name} has SHA-256 ${digest}, the manifest says ${artefact.sha256}`,
      );
    files.push(file);
  }
  return files;
}

/**
 * One backup: `produce` writes its artefacts into a scratch directory (or has them written under
 * the backup's prefix, an ElastiCache export); they are hashed and stored, then the manifest; then
 * both are read back and checked. `onSuccess` (the metrics) runs only after that check.
 */
export async function makeBackup(options: {
  readonly kind: BackupKind;
  readonly store: BackupStore;
  readonly produce: (directory: string, backup: BackupTarget) => Promise<Produced>;
  readonly onSuccess?: (result: BackupResult) => Promise<void>;
  readonly now?: () => Date;
  /**
   * Stops the backup (a stopped DR drill): the upload in flight is aborted and no manifest is
   * begun after the stop, so what was stored is a partial backup — listed as one, never restored,
   * pruned after a day — except when the stop lands while the manifest's PutObject is in flight
   * or during the read-back after it: then it can be a complete backup, every artefact and its
   * manifest stored, never read back and its success never recorded. An aborted multipart
   * upload's parts may outlive the process (S3 is told of the abort only once the parts in flight
   * are answered, which a stopped process may not wait for) until the bucket's lifecycle rule
   * removes them a day later. `produce` is the caller's, and stops on the caller's signal.
   */
  readonly signal?: AbortSignal | undefined;
}): Promise<BackupResult> {
  const now = options.now ?? (() => new Date());
  const { signal } = options;
  const started = now();
  const id = backupId(options.kind, started);
  const prefix = prefixOf(options.kind, id);
  return withScratch(async (directory) => {
    const produced = await options.produce(directory, { id, prefix });
    const artefacts: Manifest["artefacts"] = [];
    for (const file of produced.files) {
      signal?.throwIfAborted();
      const name = path.basename(file);
      artefacts.push({ name, size: (await stat(file)).size, sha256: await sha256Of(file) });
      await options.store.putFile(`${prefix}${name}`, file, signal);
    }
    for (const name of produced.stored ?? []) {
      signal?.throwIfAborted();
      const file = path.join(directory, `stored-${name}`);
      await options.store.download(`${prefix}${name}`, file, signal);
      artefacts.push({ name, size: (await stat(file)).size, sha256: await sha256Of(file) });
      await rm(file);
    }
    const manifest = manifestSchema.parse({
      format: 1,
      id,
      kind: options.kind,
      started_at: started.toISOString(),
      completed_at: now().toISOString(),
      artefacts,
      tables: produced.tables,
      position: produced.position,
      source: produced.source,
      ...(produced.secrets ? { secrets: produced.secrets } : {}),
    } satisfies Manifest);
    const text = serializeManifest(manifest);
    // The manifest is what makes the artefacts a backup: never begun once the backup is stopped.
    signal?.throwIfAborted();
    await options.store.putText(`${prefix}${MANIFEST_NAME}`, text, signal);
    const readBack = await options.store.getText(`${prefix}${MANIFEST_NAME}`);
    if (readBack !== text) throw new BackupError(`${id}: the stored manifest does not read back as written`);
    await verifyStored(options.store, manifest, directory, signal);
    const result = {
      manifest,
      location: `${options.store.url.replace(/\/$/, "")}/${prefix}`,
      bytes: artefacts.reduce((sum, artefact) => sum + artefact.size, 0),
    };
    await options.onSuccess?.(result);
    return result;
  });
}

export interface ListedBackup {
  readonly id: string;
  readonly kind: BackupKind;
  readonly startedAt: Date;
  /** Complete: a manifest that parses. Partial: artefacts without one (an interrupted backup). */
  readonly state: "complete" | "partial" | "invalid";
  readonly bytes: number;
  readonly problem?: string;
}

/** Every backup in the store, newest first within each kind. */
export async function listBackups(
  store: BackupStore,
  kinds: readonly BackupKind[] = Object.keys(BACKUP_KINDS) as BackupKind[],
) {
  const listed: ListedBackup[] = [];
  for (const kind of kinds) {
    const objects = await store.list(`${kind}/`);
    const byId = new Map<string, { bytes: number; manifest: boolean }>();
    for (const object of objects) {
      const [, id, name] = object.key.split("/");
      if (id === undefined || name === undefined) continue;
      const entry = byId.get(id) ?? { bytes: 0, manifest: false };
      byId.set(id, { bytes: entry.bytes + object.size, manifest: entry.manifest || name === MANIFEST_NAME });
    }
    for (const [id, entry] of byId) {
      const parsed = parseBackupId(id);
      if (!parsed || parsed.kind !== kind) continue;
      let state: ListedBackup["state"] = entry.manifest ? "complete" : "partial";
      let problem: string | undefined;
      if (entry.manifest) {
        const checked = manifestSchema.safeParse(
          JSON.parse((await store.getText(`${kind}/${id}/${MANIFEST_NAME}`)) ?? "null"),
        );
        if (!checked.success) {
          state = "invalid";
          problem = checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
        }
      }
      listed.push({ id, kind, startedAt: parsed.at, state, bytes: entry.bytes, ...(problem ? { problem } : {}) });
    }
  }
  return listed.sort((a, b) => a.kind.localeCompare(b.kind) || b.startedAt.getTime() - a.startedAt.getTime());
}

/**
 * The backups the backup table's retention lets go: older than their kind's days — but never a
 * kind's newest complete backup, whatever its age — and partial ones older than a day.
 */
export function expired(backups: readonly ListedBackup[], now: Date): ListedBackup[] {
  const newest = new Map<BackupKind, string>();
  for (const backup of backups)
    if (backup.state === "complete" && !newest.has(backup.kind)) newest.set(backup.kind, backup.id);
  const day = 86_400_000;
  return backups.filter((backup) => {
    const age = now.getTime() - backup.startedAt.getTime();
    if (backup.state !== "complete") return age > day;
    return newest.get(backup.kind) !== backup.id && age > BACKUP_KINDS[backup.kind].retentionDays * day;
  });
}

export async function pruneBackups(
  store: BackupStore,
  options: { readonly now?: Date; readonly dryRun?: boolean } = {},
) {
  const backups = await listBackups(store);
  const gone = expired(backups, options.now ?? new Date());
  if (options.dryRun !== true) {
    for (const backup of gone) {
      const objects = await store.list(prefixOf(backup.kind, backup.id));
      await store.remove(objects.map((object) => object.key));
    }
  }
  return gone;
}

/** A backup's manifest, checked; a partial or damaged backup is refused. */
export async function readManifest(store: BackupStore, id: string): Promise<Manifest> {
  const parsed = parseBackupId(id);
  if (!parsed) throw new BackupError(`${id} is not a backup id (<kind>-<UTC timestamp>, as \`backups list\` shows)`);
  const text = await store.getText(`${prefixOf(parsed.kind, id)}${MANIFEST_NAME}`);
  if (text === undefined) {
    const artefacts = await store.list(prefixOf(parsed.kind, id));
    throw new BackupError(
      artefacts.length > 0
        ? `${id} has no manifest: it is a partial backup (interrupted before it completed) and cannot be restored`
        : `${id}: no such backup in ${store.url}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupError(`${id}: the manifest is not JSON (damaged)`);
  }
  const checked = manifestSchema.safeParse(json);
  if (!checked.success || checked.data.id !== id)
    throw new BackupError(
      `${id}: the manifest is not valid: ${checked.success ? `it names ${checked.data.id}` : checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return checked.data;
}

/**
 * Fetches a backup into `directory` and checks every artefact against its manifest; nothing is
 * touched until this has passed.
 */
export async function fetchVerified(store: BackupStore, id: string, directory: string) {
  const manifest = await readManifest(store, id);
  const files = await verifyStored(store, manifest, directory);
  return { manifest, files };
}

export { withScratch };
