/**
 * Redis's backup on AWS. ElastiCache refuses BGSAVE, CONFIG and its files, so the snapshot is its
 * own: CreateSnapshot of the replication group (or one cluster), waited for until it is
 * `available`, then CopySnapshot with a TargetBucket — ElastiCache's export, which writes one RDB
 * per shard (`<target>-0001.rdb`, …) into the backup bucket under the backup's own `redis/<id>/`
 * prefix, where the backup table's 7-day lifecycle rule keeps it. The backup waits for those
 * objects, and `makeBackup` reads them back into the manifest's checksums. Every wait is bounded:
 * a snapshot that never becomes available fails the backup, with no success recorded.
 *
 * The snapshot taken here is deleted once its export is in the bucket, or once the backup has
 * failed: manual snapshots never expire in ElastiCache, and its automatic daily snapshots already
 * serve an in-place restore. A job killed mid-way leaves one behind; the next run deletes those of
 * this group whose names carry the backups' prefix and that are older than a day.
 */
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  SnapshotNotFoundFault,
  type ElastiCacheClient,
  type Snapshot,
} from "@aws-sdk/client-elasticache";
import { createWaiter, WaiterState, type WaiterResult } from "@smithy/core/client";
import type { BackupTarget, Produced } from "./backups";
import type { BackupStore } from "./store";

/** What is snapshotted: a replication group (cluster mode or not), or a single cache cluster. */
export type ElastiCacheSource =
  | { readonly replicationGroupId: string; readonly cacheClusterId?: undefined }
  | { readonly cacheClusterId: string; readonly replicationGroupId?: undefined };

/** How long, and how often, the backup waits on ElastiCache and on the export. */
export interface ElastiCacheWait {
  /** The bound on each wait (the snapshot, then its export). */
  readonly maxWaitSeconds: number;
  /** The first pause between polls; later ones back off up to six times this. */
  readonly pollSeconds: number;
}

export interface ElastiCacheBackupOptions {
  readonly client: ElastiCacheClient;
  /** The backup bucket as a store: where the export lands, and whence it is read back. */
  readonly store: BackupStore;
  /** The bucket and the store's key prefix in it (`s3Location` of BACKUP_TARGET). */
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly source: ElastiCacheSource;
  /** Snapshots this backup takes, and may delete, start with it (the role may touch no others). */
  readonly snapshotPrefix: string;
  readonly wait: ElastiCacheWait;
  readonly now?: () => Date;
}

/** The object base name the export is asked for: ElastiCache appends `-0001.rdb` per shard. */
export const EXPORT_NAME = "dump";
const STALE_AFTER_MS = 86_400_000;

/** An ElastiCache snapshot name: a letter, then letters, digits and single hyphens, no hyphen last. */
export function snapshotName(prefix: string, backupId: string): string {
  const name = `${prefix}${backupId}`.toLowerCase();
  if (!/^[a-z](?:-?[a-z0-9])*$/.test(name) || name.length > 255)
    throw new Error(
      `ELASTICACHE_SNAPSHOT_PREFIX: ${JSON.stringify(prefix)} does not make a valid snapshot name (${name})`,
    );
  return name;
}

const sourceParams = (source: ElastiCacheSource) =>
  source.replicationGroupId !== undefined
    ? { ReplicationGroupId: source.replicationGroupId }
    : { CacheClusterId: source.cacheClusterId };
const sourceName = (source: ElastiCacheSource) => source.replicationGroupId ?? source.cacheClusterId;

async function describe(client: ElastiCacheClient, name: string): Promise<Snapshot | undefined> {
  try {
    const answer = await client.send(new DescribeSnapshotsCommand({ SnapshotName: name }));
    return answer.Snapshots?.[0];
  } catch (error) {
    if (error instanceof SnapshotNotFoundFault) return undefined;
    throw error;
  }
}

/** What one poll saw: the awaited value, a failure that ends the wait, or neither yet. */
type Poll<R> = { readonly done: R } | { readonly failed: string } | "pending";

/** Polls `check` with the SDK's own waiter (backoff with jitter) until it settles, or the bound passes. */
async function waitUntil<R>(
  client: ElastiCacheClient,
  wait: ElastiCacheWait,
  what: string,
  check: () => Promise<Poll<R>>,
): Promise<R> {
  let value: { readonly done: R } | undefined;
  const result = await createWaiter(
    { client, maxWaitTime: wait.maxWaitSeconds, minDelay: wait.pollSeconds, maxDelay: wait.pollSeconds * 6 },
    undefined,
    async (): Promise<WaiterResult<string>> => {
      const seen = await check();
      if (seen === "pending") return { state: WaiterState.RETRY };
      if ("failed" in seen) return { state: WaiterState.FAILURE, reason: seen.failed };
      value = seen;
      return { state: WaiterState.SUCCESS };
    },
  );
  if (result.state === WaiterState.SUCCESS && value !== undefined) return value.done;
  if (result.state === WaiterState.TIMEOUT)
    throw new Error(`${what} did not complete within ${wait.maxWaitSeconds} s (ELASTICACHE_WAIT_SECONDS)`);
  throw new Error(`${what} failed: ${result.final ?? result.state}`);
}

/** Until the snapshot is `available`; `failed` or gone is a failure, any other status a wait. */
function untilAvailable(client: ElastiCacheClient, wait: ElastiCacheWait, name: string, what: string) {
  return waitUntil(client, wait, what, async (): Promise<Poll<Snapshot>> => {
    const snapshot = await describe(client, name);
    if (snapshot === undefined) return { failed: `snapshot ${name} is gone` };
    const status = snapshot.SnapshotStatus;
    if (status === "available") return { done: snapshot };
    if (status === "failed" || status === "deleting") return { failed: `snapshot ${name} is ${status}` };
    return "pending";
  });
}

const createdAt = (snapshot: Snapshot) =>
  snapshot.NodeSnapshots?.reduce<Date | undefined>(
    (earliest, node) =>
      node.SnapshotCreateTime && (!earliest || node.SnapshotCreateTime < earliest) ? node.SnapshotCreateTime : earliest,
    undefined,
  );

/** Deletes this group's snapshots that a killed backup left behind (prefixed, settled, over a day old). */
async function deleteLeftovers(options: ElastiCacheBackupOptions, now: Date): Promise<string[]> {
  const deleted: string[] = [];
  let marker: string | undefined;
  do {
    const page = await options.client.send(
      new DescribeSnapshotsCommand({ ...sourceParams(options.source), SnapshotSource: "manual", Marker: marker }),
    );
    for (const snapshot of page.Snapshots ?? []) {
      const created = createdAt(snapshot);
      if (
        snapshot.SnapshotName?.startsWith(options.snapshotPrefix) === true &&
        (snapshot.SnapshotStatus === "available" || snapshot.SnapshotStatus === "failed") &&
        created !== undefined &&
        now.getTime() - created.getTime() > STALE_AFTER_MS
      ) {
        await options.client.send(new DeleteSnapshotCommand({ SnapshotName: snapshot.SnapshotName }));
        deleted.push(snapshot.SnapshotName);
      }
    }
    marker = page.Marker;
  } while (marker !== undefined);
  return deleted;
}

async function deleteSnapshot(client: ElastiCacheClient, name: string): Promise<void> {
  try {
    await client.send(new DeleteSnapshotCommand({ SnapshotName: name }));
  } catch (error) {
    if (!(error instanceof SnapshotNotFoundFault)) throw error;
  }
}

/**
 * Takes a snapshot, exports it into the backup's prefix and waits for every shard's RDB there.
 * Resolves to what `makeBackup` records: the exported objects as stored artefacts.
 */
export async function exportElastiCacheSnapshot(
  options: ElastiCacheBackupOptions,
  backup: BackupTarget,
): Promise<Produced> {
  const { client, wait } = options;
  const now = options.now ?? (() => new Date());
  const name = snapshotName(options.snapshotPrefix, backup.id);
  await deleteLeftovers(options, now());
  await client.send(new CreateSnapshotCommand({ SnapshotName: name, ...sourceParams(options.source) }));
  let produced: Produced;
  try {
    const snapshot = await untilAvailable(client, wait, name, `snapshot ${name} of ${sourceName(options.source)}`);
    // One RDB per shard (node group); a group without cluster mode is one shard, whatever its replicas.
    const shards = Math.max(1, snapshot.NumNodeGroups ?? snapshot.NodeSnapshots?.length ?? 1);
    const expected = Array.from(
      { length: shards },
      (_, index) => `${EXPORT_NAME}-${String(index + 1).padStart(4, "0")}.rdb`,
    );
    await client.send(
      new CopySnapshotCommand({
        SourceSnapshotName: name,
        TargetSnapshotName: `${options.keyPrefix}${backup.prefix}${EXPORT_NAME}`,
        TargetBucket: options.bucket,
      }),
    );
    await untilAvailable(client, wait, name, `the export of ${name} to s3://${options.bucket}`);
    // An object is listed only once its upload has completed: listed is whole.
    await waitUntil(
      client,
      wait,
      `the export's ${expected.join(", ")} in ${options.store.url}${backup.prefix}`,
      async () => {
        const present = new Set((await options.store.list(backup.prefix)).map((object) => object.key));
        return expected.every((file) => present.has(`${backup.prefix}${file}`)) ? { done: true } : "pending";
      },
    );
    produced = {
      files: [],
      stored: expected,
      tables: {},
      position: { wal_lsn: null, listener_block: null },
      source: { server_version: snapshot.EngineVersion ?? null, database: sourceName(options.source) },
    };
  } catch (error) {
    await deleteSnapshot(client, name).catch((cleanup: unknown) => {
      const message = `${(error as Error).message}; and snapshot ${name} could not be deleted: ${(cleanup as Error).message}`;
      throw new Error(message, { cause: error });
    });
    throw error;
  }
  await deleteSnapshot(client, name);
  return produced;
}
