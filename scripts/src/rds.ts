/**
 * The DR drill on AWS: RDS restored to a point in time into a scratch instance, and deleted after.
 * A point-in-time restore takes the source's storage and engine, but not its network or settings:
 * without them it would land in the default security group (which our clients cannot reach or
 * which anything in the VPC can) with the default parameter group (no forced TLS, none of our
 * settings). So they are read from the source and passed: `VpcSecurityGroupIds`,
 * `DBParameterGroupName`, `DBSubnetGroupName`. The scratch instance is single-AZ, private, keeps
 * no backups of its own, and is deleted without a final snapshot; both waits use the SDK's waiters.
 *
 * A drill that is stopped (its deadline, a drain, an eviction: SIGTERM, and a grace too short to
 * wait out a deletion) asks RDS to delete its scratch at once and does not wait; one killed
 * before it could is swept by the next: every drill first deletes the drill-tagged instances
 * under its prefix whose drill began longer ago than a drill may last.
 */
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  paginateDescribeDBInstances,
  RestoreDBInstanceToPointInTimeCommand,
  waitUntilDBInstanceAvailable,
  waitUntilDBInstanceDeleted,
  type DBInstance,
  type RDSClient,
} from "@aws-sdk/client-rds";
import { setTimeout as delay } from "node:timers/promises";
import { DR_DRILL_DEADLINE_SECONDS, DR_DRILL_SCRATCH_TAG } from "@paimon/core/workloads";
import type { Sweep } from "./drill";
import type { Scratch } from "./drill-scratch";

/** A restore of a production-sized instance takes tens of minutes; the RTO target is four hours. */
export const RESTORE_WAIT_SECONDS = 2 * 3600;
export const DELETE_WAIT_SECONDS = 3600;
/** RDS makes a moment restorable within about five minutes of it; a little more is allowed. */
const RESTORABLE_WAIT_MS = 15 * 60_000;
const RESTORABLE_POLL_MS = 30_000;
/** The tag every scratch instance carries; only such an instance is ever deleted here. */
const DRILL_TAG = { Key: DR_DRILL_SCRATCH_TAG.key, Value: DR_DRILL_SCRATCH_TAG.value } as const;
const isDrillTagged = (instance: DBInstance) =>
  (instance.TagList ?? []).some((tag) => tag.Key === DRILL_TAG.Key && tag.Value === DRILL_TAG.Value);

/** What a point-in-time restore does not carry over, as the source has it. */
export interface SourceSettings {
  readonly securityGroupIds: readonly string[];
  readonly parameterGroup: string;
  readonly subnetGroup: string;
  readonly instanceClass: string;
  readonly latestRestorableTime: Date | undefined;
}

async function describe(client: RDSClient, identifier: string, signal?: AbortSignal): Promise<DBInstance> {
  const answer = await client.send(
    new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }),
    signal ? { abortSignal: signal } : {},
  );
  const instance = answer.DBInstances?.[0];
  if (!instance) throw new Error(`RDS instance ${identifier}: not found`);
  return instance;
}

export async function sourceSettings(client: RDSClient, source: string, signal?: AbortSignal): Promise<SourceSettings> {
  const instance = await describe(client, source, signal);
  const securityGroupIds = (instance.VpcSecurityGroups ?? []).flatMap((group) =>
    group.VpcSecurityGroupId ? [group.VpcSecurityGroupId] : [],
  );
  const parameterGroup = instance.DBParameterGroups?.[0]?.DBParameterGroupName;
  const subnetGroup = instance.DBSubnetGroup?.DBSubnetGroupName;
  const missing = [
    securityGroupIds.length === 0 ? "security groups" : undefined,
    parameterGroup === undefined ? "parameter group" : undefined,
    subnetGroup === undefined ? "subnet group" : undefined,
    instance.DBInstanceClass === undefined ? "instance class" : undefined,
  ].filter((item) => item !== undefined);
  if (missing.length > 0 || parameterGroup === undefined || subnetGroup === undefined)
    throw new Error(`RDS instance ${source} reports no ${missing.join(", ")}: cannot give the scratch instance ours`);
  return {
    securityGroupIds,
    parameterGroup,
    subnetGroup,
    instanceClass: instance.DBInstanceClass ?? "",
    latestRestorableTime: instance.LatestRestorableTime,
  };
}

/** Resolves once RDS can restore the source to `time` (its latest restorable time has passed it). */
async function restorable(client: RDSClient, source: string, time: Date, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + RESTORABLE_WAIT_MS;
  for (;;) {
    const latest = (await sourceSettings(client, source, signal)).latestRestorableTime;
    if (latest !== undefined && latest.getTime() >= time.getTime()) return;
    if (Date.now() > deadline)
      throw new Error(
        `RDS instance ${source}: ${time.toISOString()} is not restorable after ${RESTORABLE_WAIT_MS / 60_000} min (latest restorable ${latest?.toISOString() ?? "none"})`,
      );
    // RDS offers no waiter for this: its latest restorable time moves every few minutes.
    await delay(RESTORABLE_POLL_MS, undefined, signal ? { signal } : {});
  }
}

export interface ScratchInstance {
  readonly identifier: string;
  readonly address: string;
  readonly port: number;
  readonly securityGroupIds: readonly string[];
  readonly parameterGroup: string | undefined;
  readonly subnetGroup: string | undefined;
}

/**
 * Restores `source` as it was at `time` into a new instance `target` with the source's security
 * groups, parameter group and subnet group, and waits until it is available. `signal` stops the
 * waits (the restore is then not requested, or, once requested, not waited for); it never cancels
 * the restore request itself, whose answer says whether the instance exists.
 */
export async function restoreScratchInstance(options: {
  readonly client: RDSClient;
  readonly source: string;
  readonly target: string;
  readonly time: Date;
  readonly waitSeconds?: number;
  readonly signal?: AbortSignal | undefined;
  readonly log?: ((line: string) => void) | undefined;
}): Promise<ScratchInstance> {
  const { client, source, target, signal } = options;
  const waitSeconds = options.waitSeconds ?? RESTORE_WAIT_SECONDS;
  const settings = await sourceSettings(client, source, signal);
  await restorable(client, source, options.time, signal);
  signal?.throwIfAborted();
  await client.send(
    new RestoreDBInstanceToPointInTimeCommand({
      SourceDBInstanceIdentifier: source,
      TargetDBInstanceIdentifier: target,
      RestoreTime: options.time,
      VpcSecurityGroupIds: [...settings.securityGroupIds],
      DBParameterGroupName: settings.parameterGroup,
      DBSubnetGroupName: settings.subnetGroup,
      DBInstanceClass: settings.instanceClass,
      MultiAZ: false,
      PubliclyAccessible: false,
      DeletionProtection: false,
      BackupRetentionPeriod: 0,
      CopyTagsToSnapshot: false,
      Tags: [DRILL_TAG, { Key: "paimon:drill-source", Value: source }],
    }),
  );
  options.log?.(`RDS is restoring ${target}: waiting until it is available (at most ${waitSeconds / 60} min)`);
  // An already aborted signal never fires the waiter's listener: it is looked at first.
  signal?.throwIfAborted();
  await waitUntilDBInstanceAvailable(
    { client, maxWaitTime: waitSeconds, ...(signal ? { abortSignal: signal } : {}) },
    { DBInstanceIdentifier: target },
  ).catch((error: unknown) => {
    signal?.throwIfAborted();
    throw error;
  });
  const instance = await describe(client, target, signal);
  const scratch: ScratchInstance = {
    identifier: target,
    address: instance.Endpoint?.Address ?? "",
    port: instance.Endpoint?.Port ?? 5432,
    securityGroupIds: (instance.VpcSecurityGroups ?? []).flatMap((group) =>
      group.VpcSecurityGroupId ? [group.VpcSecurityGroupId] : [],
    ),
    parameterGroup: instance.DBParameterGroups?.[0]?.DBParameterGroupName,
    subnetGroup: instance.DBSubnetGroup?.DBSubnetGroupName,
  };
  if (scratch.address === "") throw new Error(`RDS instance ${target} is available but has no endpoint`);
  const wrong = [
    [...scratch.securityGroupIds].sort().join(",") !== [...settings.securityGroupIds].sort().join(",")
      ? `security groups ${scratch.securityGroupIds.join(", ")}, not ${settings.securityGroupIds.join(", ")}`
      : undefined,
    scratch.parameterGroup !== settings.parameterGroup
      ? `parameter group ${String(scratch.parameterGroup)}`
      : undefined,
    scratch.subnetGroup !== settings.subnetGroup ? `subnet group ${String(scratch.subnetGroup)}` : undefined,
  ].filter((problem) => problem !== undefined);
  if (wrong.length > 0) throw new Error(`scratch instance ${target} came up with ${wrong.join("; ")}`);
  return scratch;
}

/**
 * Asks RDS to delete a scratch instance the drill made — one tagged as such, never another —
 * without a final snapshot or its automated backups, and does not wait. Resolves with whether a deletion was requested: an instance that is not
 * there, or already being deleted, is gone already.
 */
export async function requestScratchDeletion(options: {
  readonly client: RDSClient;
  readonly identifier: string;
}): Promise<boolean> {
  const { client, identifier } = options;
  let instance: DBInstance;
  try {
    instance = await describe(client, identifier);
  } catch (error) {
    if ((error as { name?: string }).name === "DBInstanceNotFoundFault") return false;
    throw error;
  }
  if (!isDrillTagged(instance))
    throw new Error(
      `RDS instance ${identifier} is not a drill's scratch instance (no ${DRILL_TAG.Key} tag): not deleted`,
    );
  if (instance.DBInstanceStatus === "deleting") return false;
  // Restored without it; should it have come with the source's, the scratch must still go.
  if (instance.DeletionProtection === true)
    await client.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: identifier,
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
  await client.send(
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: identifier,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    }),
  );
  return true;
}

/** Waits until a scratch instance is gone; `signal` ends the wait (resolving), never the deletion. */
async function scratchDeleted(options: {
  readonly client: RDSClient;
  readonly identifier: string;
  readonly waitSeconds?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}): Promise<void> {
  const { client, signal } = options;
  if (signal?.aborted === true) return;
  await waitUntilDBInstanceDeleted(
    { client, maxWaitTime: options.waitSeconds ?? DELETE_WAIT_SECONDS, ...(signal ? { abortSignal: signal } : {}) },
    { DBInstanceIdentifier: options.identifier },
  ).catch((error: unknown) => {
    if (signal?.aborted !== true) throw error;
  });
}

/** Deletes a scratch instance the drill made (requestScratchDeletion) and waits until it is gone. */
export async function deleteScratchInstance(options: {
  readonly client: RDSClient;
  readonly identifier: string;
  readonly waitSeconds?: number;
}): Promise<void> {
  await requestScratchDeletion(options);
  await scratchDeleted(options);
}

/** When the drill that named a scratch `<prefix><its id's time>` began; undefined for another name. */
function drillStartOf(identifier: string, prefix: string): Date | undefined {
  if (!identifier.startsWith(prefix)) return undefined;
  const time = /^(\d{4})(\d\d)(\d\d)t(\d\d)(\d\d)(\d\d)(\d{3})z$/.exec(identifier.slice(prefix.length));
  if (!time) return undefined;
  const [, year, month, day, hour, minute, second, ms] = time;
  const at = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * Deletes what earlier drills left behind: every instance named under `prefix` (the scratch
 * prefix, scratchPrefix), tagged as a drill's, never `source`, whose drill began more than
 * `olderThanSeconds` before `now` — by the time in its name, or else by its creation — and so
 * belongs to no drill still running. The deletions are requested, not waited for; one that fails
 * is a problem, and the others are still requested.
 */
export async function sweepScratchInstances(options: {
  readonly client: RDSClient;
  readonly prefix: string;
  readonly source: string;
  readonly now: Date;
  readonly olderThanSeconds?: number;
}): Promise<Sweep> {
  const { client, prefix } = options;
  const cutoff = options.now.getTime() - (options.olderThanSeconds ?? DR_DRILL_DEADLINE_SECONDS) * 1000;
  // RDS filters instances by exact identifier only: the prefix is matched here, page by page.
  const stale: { name: string; since: Date }[] = [];
  for await (const page of paginateDescribeDBInstances({ client }, {}))
    for (const instance of page.DBInstances ?? []) {
      const name = instance.DBInstanceIdentifier ?? "";
      if (!name.startsWith(prefix) || name === options.source || !isDrillTagged(instance)) continue;
      if (instance.DBInstanceStatus === "deleting") continue;
      const since = drillStartOf(name, prefix) ?? instance.InstanceCreateTime;
      if (since !== undefined && since.getTime() < cutoff) stale.push({ name, since });
    }
  const swept: { name: string; since: Date }[] = [];
  const problems: string[] = [];
  for (const instance of stale) {
    try {
      if (await requestScratchDeletion({ client, identifier: instance.name })) swept.push(instance);
    } catch (error) {
      problems.push(
        `an earlier drill's scratch instance ${instance.name} could not be deleted: ${(error as Error).message}`,
      );
    }
  }
  return { swept, problems };
}

/**
 * A scratch identifier: RDS allows 63 characters, a letter first, no `--`. From the source's by
 * default; with `prefix` (the one the drill's IAM role may create and delete under, which the
 * cluster's CronJob passes) that prefix and the drill's time.
 */
export const scratchIdentifier = (source: string, drill: string, prefix?: string): string =>
  `${scratchPrefix(source, prefix)}${drill.toLowerCase().replace(/^drill-/, "")}`
    .replace(/-+/g, "-")
    .slice(0, 63)
    .replace(/-$/, "");

/** What every scratch identifier of `source` (with `prefix`, that prefix's) starts with. */
export const scratchPrefix = (source: string, prefix?: string): string =>
  (prefix ?? `${source.slice(0, 30)}-drill-`).replace(/-+/g, "-");

/**
 * The drill's scratch as an RDS instance: `source` restored to the backup's snapshot time, reached
 * with the source URL's credentials, database and parameters at the new endpoint. When `signal`
 * aborts (the drill is stopped) once the restore has begun, its deletion is requested at once —
 * after the restore request's answer, should one be on its way — and `drop` no longer waits for
 * it: RDS finishes it, and the next drill sweeps the instance should the request never be sent
 * or be refused.
 */
export function rdsScratch(options: {
  readonly client: RDSClient;
  readonly source: string;
  readonly sourceUrl: string;
  readonly name: string;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal | undefined;
}): Scratch {
  const { client, name, signal } = options;
  /** The restore from its first step on; settled once RDS has said whether the instance exists. */
  let restoring: Promise<ScratchInstance> | undefined;
  let deletion: Promise<boolean> | undefined;
  const requestDeletion = () =>
    (deletion ??= (async () => {
      await restoring?.catch(() => undefined);
      return requestScratchDeletion({ client, identifier: name });
    })());
  const stopped = () => {
    if (restoring === undefined) return;
    options.log?.(`stopped: deleting the scratch instance ${name}, not waiting for it`);
    requestDeletion().catch((error: unknown) => {
      options.log?.(`the scratch instance ${name} could not be deleted: ${(error as Error).message}`);
    });
  };
  signal?.addEventListener("abort", stopped, { once: true });
  return {
    method: "rds-point-in-time",
    name,
    async restore(backup) {
      signal?.throwIfAborted();
      options.log?.(`restoring RDS ${options.source} to ${backup.snapshotAt.toISOString()} as ${name}`);
      restoring = restoreScratchInstance({
        client,
        source: options.source,
        target: name,
        time: backup.snapshotAt,
        signal,
        log: options.log,
      });
      const instance = await restoring;
      const url = new URL(options.sourceUrl);
      url.hostname = instance.address;
      url.port = String(instance.port);
      return url.toString();
    },
    async drop() {
      signal?.removeEventListener("abort", stopped);
      if (restoring === undefined) return;
      if (signal?.aborted !== true) options.log?.(`deleting the scratch instance ${name}`);
      await requestDeletion();
      // Stopped (before or while it waits): the deletion is requested, and RDS's to finish.
      await scratchDeleted({ client, identifier: name, signal });
    },
  };
}
