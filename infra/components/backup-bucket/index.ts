import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { backupLifecycleRules } from "./lifecycle";
import { backupBucketPolicy } from "./policies";

export interface BackupBucketArgs {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  /** KMS key for SSE-KMS; uploads under any other key are refused by the bucket policy. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /**
   * Days to keep each backup kind, keyed by kind; objects live under `<kind>/`.
   * The operations spec's §7.1: postgres 30, redis 7, secrets 90.
   */
  readonly retentionDays: Readonly<Record<string, number>>;
  /** Days an overwritten or deleted version survives (versioning guards against a bad writer). @default 7 */
  readonly noncurrentVersionRetentionDays?: number;
  /** Allow `pulumi destroy` to delete a bucket that still holds backups. @default false */
  readonly forceDestroy?: boolean;
  /** Region of the bucket when not the provider's (the DR copy). @default the provider's region */
  readonly region?: string;
  /**
   * The region whose ElastiCache exports Redis snapshots into `redis/` (the bucket's own: an export
   * goes to a bucket in the snapshot's region only). See `elastiCacheExportStatements`.
   * @default no export
   */
  readonly elastiCacheExportRegion?: string;
  /**
   * `protect` the bucket: Pulumi refuses to delete or replace it until a reviewed change lifts it.
   * @default false
   */
  readonly protect?: boolean;
}

/**
 * The S3 bucket every backup lands in: versioned, SSE-KMS with the data key (bucket keys on),
 * ACLs disabled, all public access blocked, TLS 1.2+ only, one lifecycle rule per backup kind.
 */
export class BackupBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  /** The versioning resource: replication may only be configured after it. */
  readonly versioning: aws.s3.BucketVersioning;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:storage:BackupBucket", name, {}, opts);
    const kinds = Object.entries(args.retentionDays);
    if (kinds.length === 0) {
      throw new pulumi.ResourceError("retentionDays: name at least one backup kind", this);
    }
    for (const [kind, days] of kinds) {
      if (!/^[a-z][a-z0-9-]*$/.test(kind)) {
        throw new pulumi.ResourceError(`retentionDays.${kind}: kinds are lower-case prefixes`, this);
      }
      if (!Number.isInteger(days) || days < 1) {
        throw new pulumi.ResourceError(`retentionDays.${kind}: ${days} is not a positive number of days`, this);
      }
    }
    const child = { parent: this };
    const region = args.region ? { region: args.region } : {};

    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { bucket: args.bucketName, forceDestroy: args.forceDestroy ?? false, ...region },
      { ...child, protect: args.protect ?? false },
    );
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;

    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" }, ...region },
      child,
    );
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        ...region,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    );
    this.versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" }, ...region },
      child,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        ...region,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
            bucketKeyEnabled: true,
          },
        ],
      },
      child,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        ...region,
        rules: backupLifecycleRules(args.retentionDays, args.noncurrentVersionRetentionDays ?? 7),
      },
      child,
    );
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        ...region,
        policy: pulumi
          .all([bucket.arn, args.kmsKeyArn])
          .apply(([bucketArn, keyArn]) =>
            JSON.stringify(
              backupBucketPolicy(bucketArn, keyArn, { elastiCacheExportRegion: args.elastiCacheExportRegion }),
            ),
          ),
      },
      // S3 rejects a policy change while the public access block is being written.
      { ...child, dependsOn: [publicAccessBlock] },
    );

    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
