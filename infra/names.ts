import { partitionOf } from "./aws-partition";

/**
 * Every name a stack derives from who and where it is — `paimon-<stack>`, the backup bucket,
 * `paimon/<stack>`, the Redis group, the IRSA roles, the service accounts of the fund's namespace —
 * in one place. The program passes these to the components, and the charts' values take theirs
 * from here, so the role an annotation names and the role the program creates cannot drift apart.
 * Pure: no configuration is read here, only what the caller hands over.
 */

/** What the names are derived from: the stack, its account and region, and the fund's namespace. */
export interface StackIdentity {
  readonly stack: string;
  readonly awsAccountId: string;
  readonly region: string;
  /** `paimon:workloads.namespace`: where the fund's workloads and their service accounts live. */
  readonly namespace: string;
}

/** A Kubernetes service account: who a workload role is for. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * A service account as the role tables write it: in a fixed add-on namespace, or — without
 * `namespace` — in the fund's own, configured one.
 */
export interface ServiceAccountHome {
  readonly namespace?: string;
  readonly name: string;
}

/** A workload role's physical name: `<prefix>-<workload in kebab-case>`. */
export function workloadRoleName(prefix: string, workload: string): string {
  return `${prefix}-${workload.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** The backup bucket of a prefix in a region (the DR copy is the same name in the standby region). */
export const backupBucketName = (prefix: string, accountId: string, region: string): string =>
  `${prefix}-backups-${accountId}-${region}`;

/**
 * The stack that takes over a stack's workloads in its DR region (runbooks/disaster-recovery.md):
 * the primary's replica of the signing key lets this stack's rebalance worker sign.
 */
export const standbyStackName = (stack: string): string => `${stack}-dr`;

/** The data key's alias: how anything made before the key, or from configuration alone, names it. */
export const dataKeyAlias = (prefix: string): string => `alias/${prefix}-data`;

/** The names of one stack. */
export interface StackNames {
  /** `paimon-<stack>`: the prefix of every physical name (cluster, keys' aliases, roles, …). */
  readonly prefix: string;
  readonly clusterName: string;
  readonly backupBucket: string;
  /** `paimon/<stack>`: the Secrets Manager prefix of the stack's secrets. */
  readonly secretPrefix: string;
  /** The data key by its alias's ARN (the key's own id exists only once it is made). */
  readonly dataKeyAliasArn: string;
  readonly redisReplicationGroupId: string;
  /** Snapshots the hourly Redis backup takes (and may delete) start with this. */
  readonly redisSnapshotPrefix: string;
  /** The RDS instance, as the database component names it (`<prefix>-postgres`): the DR drill's source. */
  readonly databaseInstance: string;
  /**
   * The DR drill's scratch instances are named with this (and the drill's time); its role may
   * create and delete no other instance.
   */
  readonly drillScratchPrefix: string;
  /** The OpenSearch domain (≤ 28 characters). */
  readonly logDomain: string;
  /**
   * The network load balancer in front of ingress-nginx, named so that the program can find it
   * once the load balancer controller has made it, and point the origin host's record at it.
   */
  readonly originLoadBalancer: string;
  /** The fund's namespace. */
  readonly namespace: string;
  /** The IRSA role name of a workload (`rebalanceWorker` → `paimon-staging-rebalance-worker`). */
  roleName(workload: string): string;
  roleArn(workload: string): string;
  /** Where a service account of a role table lives, the fund's namespace filled in. */
  serviceAccount(home: ServiceAccountHome): ServiceAccountRef;
}

/**
 * The TimescaleDB backup's role keeps the name it was created with: renaming an IAM role
 * replaces it.
 */
const ROLE_NAME_EXCEPTIONS: Readonly<Record<string, string>> = { timescaleBackup: "backup-timescaledb" };

export function stackNames(identity: StackIdentity): StackNames {
  const prefix = `paimon-${identity.stack}`;
  const { partition } = partitionOf(identity.region);
  const roleName = (workload: string) => {
    const exception = ROLE_NAME_EXCEPTIONS[workload];
    return exception === undefined ? workloadRoleName(prefix, workload) : `${prefix}-${exception}`;
  };
  return {
    prefix,
    clusterName: prefix,
    backupBucket: backupBucketName(prefix, identity.awsAccountId, identity.region),
    secretPrefix: `paimon/${identity.stack}`,
    dataKeyAliasArn: `arn:${partition}:kms:${identity.region}:${identity.awsAccountId}:${dataKeyAlias(prefix)}`,
    redisReplicationGroupId: `${prefix}-redis`,
    redisSnapshotPrefix: `${prefix}-`,
    databaseInstance: `${prefix}-postgres`,
    drillScratchPrefix: `${prefix}-drill-`,
    logDomain: `${prefix}-logs`,
    originLoadBalancer: `${prefix}-origin`,
    namespace: identity.namespace,
    roleName,
    roleArn: (workload) => `arn:${partition}:iam::${identity.awsAccountId}:role/${roleName(workload)}`,
    serviceAccount: (home) => ({ namespace: home.namespace ?? identity.namespace, name: home.name }),
  };
}
