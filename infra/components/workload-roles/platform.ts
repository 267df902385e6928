import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { WorkloadRole } from "./index";
import { loadBalancerControllerPolicy } from "./load-balancer-controller";
import {
  externalSecretsPolicy,
  logShipperPolicy,
  postgresBackupPolicy,
  redisSnapshotPolicy,
  secretsBackupPolicy,
} from "./policies";
import type { ServiceAccountRef } from "./irsa";

/** The service accounts of the platform's workloads: the Kubernetes layer creates them with these names. */
export const SERVICE_ACCOUNTS = {
  rebalanceWorker: { namespace: "paimon", name: "paimon-rebalance-worker" },
  postgresBackup: { namespace: "paimon", name: "paimon-backup-postgres" },
  redisBackup: { namespace: "paimon", name: "paimon-backup-redis" },
  secretsBackup: { namespace: "paimon", name: "paimon-backup-secrets" },
  externalSecrets: { namespace: "external-secrets", name: "external-secrets" },
  logShipper: { namespace: "logging", name: "fluent-bit" },
  loadBalancerController: { namespace: "kube-system", name: "aws-load-balancer-controller" },
} as const satisfies Record<string, ServiceAccountRef>;
export type PlatformWorkload = keyof typeof SERVICE_ACCOUNTS;

/** A workload role's physical name: `<prefix>-<workload in kebab-case>` (what the Kubernetes layer annotates). */
export function workloadRoleName(namePrefix: string, workload: string): string {
  return `${namePrefix}-${workload.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

export interface PlatformRolesArgs {
  /** Role names are `<prefix>-<workload>`. */
  readonly namePrefix: string;
  readonly partition: string;
  readonly oidcProviderArn: pulumi.Input<string>;
  readonly oidcIssuer: pulumi.Input<string>;
  readonly dataKeyArn: pulumi.Input<string>;
  readonly backupBucketArn: pulumi.Input<string>;
  readonly cacheArn: pulumi.Input<string>;
  /** `arn:…:snapshot:<prefix>-`: the Redis snapshots the backup job may manage. */
  readonly cacheSnapshotArnPrefix: string;
  /** `arn:…:secret:paimon/<stack>/*`. */
  readonly secretArnPattern: string;
  /** The log domain, by ARN (known before the domain is). */
  readonly logDomainArn: string;
}

/**
 * One IRSA role per platform workload, each allowed exactly what that workload does. The
 * rebalance worker's role starts with no permission: its grant names the signing key, which
 * names the role, so the program grants it once the key exists.
 */
export class PlatformRoles extends pulumi.ComponentResource {
  readonly roles: Readonly<Record<PlatformWorkload, WorkloadRole>>;

  constructor(name: string, args: PlatformRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:iam:PlatformRoles", name, {}, opts);
    const role = (workload: PlatformWorkload, description: string, policy?: pulumi.Input<aws.iam.PolicyDocument>) =>
      new WorkloadRole(
        `${name}-${workload}`,
        {
          roleName: workloadRoleName(args.namePrefix, workload),
          description,
          oidcProviderArn: args.oidcProviderArn,
          oidcIssuer: args.oidcIssuer,
          serviceAccount: SERVICE_ACCOUNTS[workload],
          ...(policy ? { policy } : {}),
        },
        { parent: this },
      );
    const bucketAndKey = pulumi.all([args.backupBucketArn, args.dataKeyArn]);
    this.roles = {
      rebalanceWorker: role("rebalanceWorker", "Rebalance worker: signs the fund's transactions with the operator key"),
      postgresBackup: role(
        "postgresBackup",
        "Daily pg_dump to the backup bucket",
        bucketAndKey.apply(([bucket, key]) => postgresBackupPolicy(bucket, key)),
      ),
      redisBackup: role(
        "redisBackup",
        "Hourly ElastiCache snapshots, expired after the retention",
        pulumi.output(args.cacheArn).apply((cache) => redisSnapshotPolicy(cache, args.cacheSnapshotArnPrefix)),
      ),
      secretsBackup: role(
        "secretsBackup",
        "Daily encrypted export of the stack's secrets",
        bucketAndKey.apply(([bucket, key]) => secretsBackupPolicy(args.secretArnPattern, bucket, key)),
      ),
      externalSecrets: role(
        "externalSecrets",
        "External Secrets: syncs the stack's secrets into the cluster",
        pulumi.output(args.dataKeyArn).apply((key) => externalSecretsPolicy(args.secretArnPattern, key)),
      ),
      logShipper: role(
        "logShipper",
        "Fluent Bit: ships container logs to the log domain",
        logShipperPolicy(args.logDomainArn),
      ),
      loadBalancerController: role(
        "loadBalancerController",
        "AWS Load Balancer Controller: the ingress controller's load balancer",
        loadBalancerControllerPolicy(args.partition),
      ),
    };
    this.registerOutputs({});
  }
}
