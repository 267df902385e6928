import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { WorkloadRole } from "../workload-roles";
import { timescaleBackupPolicy } from "../workload-roles/policies";

/** The service account of TimescaleDB's backup job, in the fund's namespace. */
export const TIMESCALE_BACKUP_SERVICE_ACCOUNT = "paimon-backup-timescaledb";
/** Encrypted gp3 volumes, retained when their claim is deleted. */
export const TIMESCALE_STORAGE_CLASS = "gp3-encrypted-retain";

export interface TimescaleArgs {
  /** The backup job's IAM role (the Kubernetes layer annotates its service account with it). */
  readonly backupRoleName: string;
  /** The fund's namespace, where TimescaleDB and its backup job run. */
  readonly namespace: string;
  /** The cluster's Kubernetes provider. */
  readonly provider: k8s.Provider;
  readonly oidcProviderArn: pulumi.Input<string>;
  readonly oidcIssuer: pulumi.Input<string>;
  /** Encrypts the volumes. */
  readonly kmsKeyArn: pulumi.Input<string>;
  readonly backupBucketArn: pulumi.Input<string>;
}

/**
 * What the cluster needs to host TimescaleDB, which RDS cannot load: a StorageClass of encrypted
 * gp3 volumes that are retained when their claim goes (metrics history outlives any pod), and
 * the backup job's role, which may only add objects under `timescaledb/` in the backup bucket.
 * The StatefulSet itself and its credentials' sync belong to the Kubernetes layer.
 */
export class TimescalePrerequisites extends pulumi.ComponentResource {
  readonly storageClassName: string;
  /** The backup job's role, for its service account's annotation. */
  readonly backupRole: WorkloadRole;

  constructor(name: string, args: TimescaleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:data:TimescalePrerequisites", name, {}, opts);
    this.storageClassName = TIMESCALE_STORAGE_CLASS;
    new k8s.storage.v1.StorageClass(
      `${name}-storage`,
      {
        metadata: { name: this.storageClassName },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true", kmsKeyId: args.kmsKeyArn, iops: "3000", throughput: "125" },
        reclaimPolicy: "Retain",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { parent: this, provider: args.provider },
    );
    this.backupRole = new WorkloadRole(
      `${name}-backup`,
      {
        roleName: args.backupRoleName,
        description: "TimescaleDB daily dump to the backup bucket",
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        serviceAccount: { namespace: args.namespace, name: TIMESCALE_BACKUP_SERVICE_ACCOUNT },
        policy: pulumi
          .all([args.backupBucketArn, args.kmsKeyArn])
          .apply(([bucket, key]) => timescaleBackupPolicy(bucket, key)),
      },
      { parent: this },
    );
    this.registerOutputs({ backupRoleArn: this.backupRole.roleArn });
  }
}
