import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { BackupBucket } from "./components/backup-bucket";
import { Keys } from "./components/keys";
import { Network } from "./components/network";
import { loadStackConfig } from "./config";

/** What `pulumi stack output` shows, and what the Kubernetes layer and operators read. */
export interface StackOutputs {
  readonly region: string;
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly databaseSubnetIds: pulumi.Output<string>[];
  readonly natPublicIps: pulumi.Output<string>[];
  readonly dataKeyArn: pulumi.Output<string>;
  readonly signingKeyArn: pulumi.Output<string>;
  readonly signingKeyId: pulumi.Output<string>;
  readonly backupBucketName: pulumi.Output<string>;
}

/**
 * The composition root: reads the stack's configuration once, builds each component from the
 * previous ones' outputs, and returns the stack outputs. Nothing else reads configuration.
 */
export async function program(): Promise<StackOutputs> {
  const config = loadStackConfig();
  const prefix = `paimon-${config.stack}`;

  // An explicit provider pins the region and refuses to touch any account but the configured
  // one, whatever credentials the operator's shell happens to hold.
  const provider = new aws.Provider("aws", {
    region: config.region as aws.Region,
    allowedAccountIds: [config.awsAccountId],
    defaultTags: {
      tags: {
        project: "paimon",
        environment: config.environment,
        stack: config.stack,
        "managed-by": "pulumi",
        ...config.tags,
      },
    },
  });
  const opts = { providers: { aws: provider } };

  const [zones, partition] = await Promise.all([
    aws.getAvailabilityZones(
      { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
      { provider },
    ),
    aws.getPartition({}, { provider }),
  ]);
  const availabilityZones = [...zones.names].sort().slice(0, config.network.availabilityZoneCount);
  if (availabilityZones.length < config.network.availabilityZoneCount) {
    throw new Error(
      `${config.file}: paimon:network.availabilityZoneCount: ${config.region} has only ${zones.names.length} ` +
        `standard availability zones, ${config.network.availabilityZoneCount} were asked for`,
    );
  }
  const scope = { accountId: config.awsAccountId, partition: partition.partition, region: config.region };

  const keys = new Keys(
    "keys",
    {
      aliasPrefix: prefix,
      scope,
      dataKeyDeletionWindowDays: config.keys.dataKeyDeletionWindowDays,
      signingKeyDeletionWindowDays: config.keys.signingKeyDeletionWindowDays,
    },
    opts,
  );

  const network = new Network(
    "network",
    {
      namePrefix: prefix,
      cidrBlock: config.network.cidrBlock,
      availabilityZones,
      natGateways: config.network.natGateways,
      region: config.region,
      accountId: config.awsAccountId,
      partition: scope.partition,
      flowLogKmsKeyArn: keys.dataKeyArn,
      flowLogRetentionDays: config.network.flowLogRetentionDays,
    },
    opts,
  );

  const backups = new BackupBucket(
    "backups",
    {
      bucketName: `${prefix}-backups-${config.awsAccountId}-${config.region}`,
      kmsKeyArn: keys.dataKeyArn,
      retentionDays: config.backups.retentionDays,
      noncurrentVersionRetentionDays: config.backups.noncurrentVersionRetentionDays,
      forceDestroy: config.backups.forceDestroy,
    },
    opts,
  );

  return {
    region: config.region,
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    databaseSubnetIds: network.databaseSubnetIds,
    natPublicIps: network.natPublicIps,
    dataKeyArn: keys.dataKeyArn,
    signingKeyArn: keys.signingKeyArn,
    signingKeyId: keys.signingKeyId,
    backupBucketName: backups.bucketName,
  };
}
