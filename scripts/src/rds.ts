/**
 * The DR drill on AWS: RDS restored to a point in time into a scratch instance, and deleted after.
 * A point-in-time restore takes the source's storage and engine, but not its network or settings:
 * without them it would land in the default security group (which our clients cannot reach or
 * which anything in the VPC can) with the default parameter group (no forced TLS, none of our
 * settings). So they are read from the source and passed: `VpcSecurityGroupIds`,
 * `DBParameterGroupName`, `DBSubnetGroupName`. The scratch instance is single-AZ, private, keeps
 * no backups of its own, and is deleted without a final snapshot; both waits use the SDK's waiters.
 */
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RestoreDBInstanceToPointInTimeCommand,
  waitUntilDBInstanceAvailable,
  waitUntilDBInstanceDeleted,
  type DBInstance,
  type RDSClient,
} from "@aws-sdk/client-rds";
import { setTimeout as delay } from "node:timers/promises";
import type { Scratch } from "./drill-scratch";

/** A restore of a production-sized instance takes tens of minutes; the RTO target is four hours. */
export const RESTORE_WAIT_SECONDS = 2 * 3600;
export const DELETE_WAIT_SECONDS = 3600;
/** RDS makes a moment restorable within about five minutes of it; a little more is allowed. */
const RESTORABLE_WAIT_MS = 15 * 60_000;
const RESTORABLE_POLL_MS = 30_000;
/** The tag every scratch instance carries; only such an instance is ever deleted here. */
export const DRILL_TAG = { Key: "paimon:purpose", Value: "dr-drill" } as const;

/** What a point-in-time restore does not carry over, as the source has it. */
export interface SourceSettings {
  readonly securityGroupIds: readonly string[];
  readonly parameterGroup: string;
  readonly subnetGroup: string;
  readonly instanceClass: string;
  readonly latestRestorableTime: Date | undefined;
}

async function describe(client: RDSClient, identifier: string): Promise<DBInstance> {
  const answer = await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
  const instance = answer.DBInstances?.[0];
  if (!instance) throw new Error(`RDS instance ${identifier}: not found`);
  return instance;
}

export async function sourceSettings(client: RDSClient, source: string): Promise<SourceSettings> {
  const instance = await describe(client, source);
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
async function restorable(client: RDSClient, source: string, time: Date): Promise<void> {
  const deadline = Date.now() + RESTORABLE_WAIT_MS;
  for (;;) {
    const latest = (await sourceSettings(client, source)).latestRestorableTime;
    if (latest !== undefined && latest.getTime() >= time.getTime()) return;
    if (Date.now() > deadline)
      throw new Error(
        `RDS instance ${source}: ${time.toISOString()} is not restorable after ${RESTORABLE_WAIT_MS / 60_000} min (latest restorable ${latest?.toISOString() ?? "none"})`,
      );
    // RDS offers no waiter for this: its latest restorable time moves every few minutes.
    await delay(RESTORABLE_POLL_MS);
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
 * groups, parameter group and subnet group, and waits until it is available.
 */
export async function restoreScratchInstance(options: {
  readonly client: RDSClient;
  readonly source: string;
  readonly target: string;
  readonly time: Date;
  readonly waitSeconds?: number;
}): Promise<ScratchInstance> {
  const { client, source, target } = options;
  const settings = await sourceSettings(client, source);
  await restorable(client, source, options.time);
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
  await waitUntilDBInstanceAvailable(
    { client, maxWaitTime: options.waitSeconds ?? RESTORE_WAIT_SECONDS },
    { DBInstanceIdentifier: target },
  );
  const instance = await describe(client, target);
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
 * Deletes a scratch instance the drill made — one tagged as such, never another — without a
 * final snapshot or its automated backups, and waits until it is gone. An instance that is not
 * there is already gone.
 */
export async function deleteScratchInstance(options: {
  readonly client: RDSClient;
  readonly identifier: string;
  readonly waitSeconds?: number;
}): Promise<void> {
  const { client, identifier } = options;
  let instance: DBInstance;
  try {
    instance = await describe(client, identifier);
  } catch (error) {
    if ((error as { name?: string }).name === "DBInstanceNotFoundFault") return;
    throw error;
  }
  const tagged = (instance.TagList ?? []).some((tag) => tag.Key === DRILL_TAG.Key && tag.Value === DRILL_TAG.Value);
  if (!tagged)
    throw new Error(
      `RDS instance ${identifier} is not a drill's scratch instance (no ${DRILL_TAG.Key} tag): not deleted`,
    );
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
  await waitUntilDBInstanceDeleted(
    { client, maxWaitTime: options.waitSeconds ?? DELETE_WAIT_SECONDS },
    { DBInstanceIdentifier: identifier },
  );
}

/**
 * A scratch identifier: RDS allows 63 characters, a letter first, no `--`. From the source's by
 * default; with `prefix` (the one the drill's IAM role may create and delete under, which the
 * cluster's CronJob passes) that prefix and the drill's time.
 */
export const scratchIdentifier = (source: string, drill: string, prefix?: string): string =>
  (prefix === undefined
    ? `${source.slice(0, 30)}-${drill.toLowerCase()}`
    : `${prefix}${drill.toLowerCase().replace(/^drill-/, "")}`
  )
    .replace(/-+/g, "-")
    .slice(0, 63)
    .replace(/-$/, "");

/**
 * The drill's scratch as an RDS instance: `source` restored to the backup's snapshot time, reached
 * with the source URL's credentials, database and parameters at the new endpoint.
 */
export function rdsScratch(options: {
  readonly client: RDSClient;
  readonly source: string;
  readonly sourceUrl: string;
  readonly name: string;
  readonly log?: (line: string) => void;
}): Scratch {
  let made = false;
  return {
    method: "rds-point-in-time",
    name: options.name,
    async restore(backup) {
      options.log?.(`restoring RDS ${options.source} to ${backup.snapshotAt.toISOString()} as ${options.name}`);
      made = true;
      const instance = await restoreScratchInstance({
        client: options.client,
        source: options.source,
        target: options.name,
        time: backup.snapshotAt,
      });
      const url = new URL(options.sourceUrl);
      url.hostname = instance.address;
      url.port = String(instance.port);
      return url.toString();
    },
    async drop() {
      if (!made) return;
      options.log?.(`deleting the scratch instance ${options.name}`);
      await deleteScratchInstance({ client: options.client, identifier: options.name });
      made = false;
    },
  };
}
