import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket } from "../backup-bucket";
import { serviceTrustPolicy } from "../workload-roles/irsa";
import { dataKeyPolicy, type KeyPolicyScope } from "../keys/policies";
import { replicationPolicy } from "./policies";

export interface DisasterRecoveryArgs {
  /** Physical name prefix, e.g. `paimon-production`. */
  readonly namePrefix: string;
  /** The standby region. */
  readonly region: string;
  /** The replica backup bucket's name, in the standby region. */
  readonly bucketName: string;
  readonly accountId: string;
  readonly partition: string;
  /** The primary backup bucket, replicated object by object. */
  readonly sourceBucket: BackupBucket;
  /** The primary data key, which encrypts the source objects. */
  readonly sourceKeyArn: pulumi.Input<string>;
  /** Retention of each backup kind in the DR copy, as in the primary. */
  readonly retentionDays: Readonly<Record<string, number>>;
  readonly noncurrentVersionRetentionDays: number;
  /** The primary RDS instance, whose automated backups are replicated. */
  readonly databaseInstanceArn: pulumi.Input<string>;
  /** Days the replicated automated backups are kept. */
  readonly databaseBackupRetentionDays: number;
  /**
   * `protect` the DR copies (the standby key, the replica bucket, the replicated database backups):
   * Pulumi refuses to delete or replace one until a reviewed change lifts it. @default false
   */
  readonly protect?: boolean;
}

/**
 * The standby region of §8: its own data key, a replica of the backup bucket (every object,
 * re-encrypted under the standby key), and the primary database's automated backups replicated
 * for point-in-time restore there. With these, the same program brings up a standby environment
 * from a stack file whose `aws:region` is the standby region (runbooks/disaster-recovery.md).
 */
export class DisasterRecovery extends pulumi.ComponentResource {
  readonly keyArn: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  readonly replicatedBackupsArn: pulumi.Output<string>;

  constructor(name: string, args: DisasterRecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:dr:DisasterRecovery", name, {}, opts);
    const child = { parent: this };
    const scope: KeyPolicyScope = { accountId: args.accountId, partition: args.partition, region: args.region };

    const key = new aws.kms.Key(
      `${name}-data`,
      {
        region: args.region,
        description: `${args.namePrefix} DR data encryption (${args.region})`,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: 30,
        policy: JSON.stringify(dataKeyPolicy(scope)),
      },
      { ...child, protect: args.protect ?? false },
    );
    new aws.kms.Alias(
      `${name}-data`,
      { region: args.region, name: `alias/${args.namePrefix}-dr-data`, targetKeyId: key.keyId },
      child,
    );
    this.keyArn = key.arn;

    const replica = new BackupBucket(
      `${name}-backups`,
      {
        bucketName: args.bucketName,
        region: args.region,
        kmsKeyArn: key.arn,
        retentionDays: args.retentionDays,
        noncurrentVersionRetentionDays: args.noncurrentVersionRetentionDays,
        forceDestroy: false,
        protect: args.protect ?? false,
      },
      child,
    );
    this.bucketName = replica.bucketName;

    const role = new aws.iam.Role(
      `${name}-replication`,
      {
        description: `Replicates ${args.namePrefix} backups to ${args.region}`,
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("s3.amazonaws.com")),
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-replication`,
      {
        role: role.id,
        policy: pulumi
          .all([args.sourceBucket.bucketArn, replica.bucketArn, args.sourceKeyArn, key.arn])
          .apply(([source, destination, sourceKey, destinationKey]) =>
            JSON.stringify(replicationPolicy({ source, destination, sourceKey, destinationKey })),
          ),
      },
      child,
    );
    new aws.s3.BucketReplicationConfig(
      `${name}-replication`,
      {
        bucket: args.sourceBucket.bucketName,
        role: role.arn,
        rules: [
          {
            id: "everything-to-dr",
            status: "Enabled",
            priority: 1,
            filter: {},
            deleteMarkerReplication: { status: "Disabled" },
            sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
            destination: {
              bucket: replica.bucketArn,
              storageClass: "STANDARD",
              encryptionConfiguration: { replicaKmsKeyId: key.arn },
              metrics: { status: "Enabled", eventThreshold: { minutes: 15 } },
              replicationTime: { status: "Enabled", time: { minutes: 15 } },
            },
          },
        ],
      },
      { ...child, dependsOn: [args.sourceBucket.versioning, replica.versioning] },
    );

    const backups = new aws.rds.InstanceAutomatedBackupsReplication(
      `${name}-postgres-backups`,
      {
        region: args.region,
        sourceDbInstanceArn: args.databaseInstanceArn,
        kmsKeyId: key.arn,
        retentionPeriod: args.databaseBackupRetentionDays,
      },
      { ...child, protect: args.protect ?? false },
    );
    this.replicatedBackupsArn = backups.id;
    this.registerOutputs({
      keyArn: this.keyArn,
      bucketName: this.bucketName,
      replicatedBackupsArn: this.replicatedBackupsArn,
    });
  }
}
