import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dataKeyAlias } from "../../names";
import { dataKeyPolicy, type KeyPolicyScope } from "./policies";

export interface DataKeyArgs {
  /** Alias prefix, e.g. `paimon-staging`: the alias is `alias/<prefix>-data`. */
  readonly aliasPrefix: string;
  /** Account, partition and region the key lives in. */
  readonly scope: KeyPolicyScope;
  /**
   * Waiting period, in days, between scheduling the key's deletion and its deletion.
   * AWS allows 7–30. @default 30
   */
  readonly deletionWindowDays?: number;
  /**
   * The backup bucket ElastiCache exports Redis snapshots into (its default encryption is this
   * key): S3 may use the key for ElastiCache's writes there. See `dataKeyPolicy`.
   * @default no export
   */
  readonly elastiCacheExportBucket?: string;
  /**
   * `protect` the key: Pulumi refuses to delete or replace it until a reviewed change lifts it.
   * @default false
   */
  readonly protect?: boolean;
}

/**
 * The data key (symmetric, rotated yearly): encrypts the backup bucket, logs, the databases,
 * the cache, the cluster's secrets and volumes, and Secrets Manager.
 */
export class DataKey extends pulumi.ComponentResource {
  readonly keyArn: pulumi.Output<string>;
  readonly keyId: pulumi.Output<string>;

  constructor(name: string, args: DataKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:security:DataKey", name, {}, opts);
    const window = args.deletionWindowDays ?? 30;
    assertDeletionWindow(this, "deletionWindowDays", window);
    const child = { parent: this };
    const key = new aws.kms.Key(
      `${name}-data`,
      {
        description: `${args.aliasPrefix} data encryption (backups, logs, data stores, secrets)`,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: window,
        policy: JSON.stringify(dataKeyPolicy(args.scope, { elastiCacheExportBucket: args.elastiCacheExportBucket })),
      },
      { ...child, protect: args.protect ?? false },
    );
    new aws.kms.Alias(`${name}-data`, { name: dataKeyAlias(args.aliasPrefix), targetKeyId: key.keyId }, child);
    this.keyArn = key.arn;
    this.keyId = key.keyId;
    this.registerOutputs({ keyArn: this.keyArn });
  }
}

/** KMS accepts a deletion window of 7 to 30 days. */
export function assertDeletionWindow(resource: pulumi.Resource, field: string, days: number): void {
  if (!Number.isInteger(days) || days < 7 || days > 30) {
    throw new pulumi.ResourceError(`${field}: ${days} is outside the 7–30 days AWS allows`, resource);
  }
}
