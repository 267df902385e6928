import { planSubnets } from "../components/network/subnets";
import { TIMESCALE_STORAGE_CLASS, timescaleBackupRoleName } from "../components/timescale";
import { SERVICE_ACCOUNTS, workloadRoleName } from "../components/workload-roles/platform";
import { partitionOf } from "../aws-partition";
import type { StackConfig } from "../config";

/** Ports the services listen on: the API's, and the health/metrics ports of the others. */
export const PORTS = {
  api: 8000,
  eventListener: 8001,
  workers: 8002,
  timescaledb: 5432,
  postgres: 5432,
  redis: 6379,
} as const;

/** The synced Kubernetes secret that replaces the seed's plain-text §2.4 Secret. */
export const SECRET_NAME = "paimon-secrets";

/** Everything the charts need, derived from the stack's configuration alone, so synth needs no cloud. */
export interface WorkloadValues {
  readonly stack: string;
  readonly environment: "staging" | "production";
  readonly namespace: string;
  readonly region: string;
  readonly image: string;
  readonly backupToolsImage: string;
  readonly timescaledbImage: string;
  /** The ingress host: the origin CloudFront calls. */
  readonly host: string;
  readonly tlsIssuer: "letsencrypt-staging" | "letsencrypt-prod";
  readonly acmeEmail: string;
  readonly api: {
    readonly replicas: number;
    readonly autoscaling?: { minReplicas: number; maxReplicas: number; targetCpuPercent: number } | undefined;
  };
  readonly highAvailability: boolean;
  readonly chain: {
    readonly chainId: number;
    readonly fundAddress: string;
    readonly deployBlock: number;
    readonly finalityDepth: number;
  };
  /** `paimon/<stack>`: the Secrets Manager prefix ExternalSecrets read. */
  readonly secretPrefix: string;
  readonly backupBucket: string;
  readonly redisReplicationGroupId: string;
  readonly redisSnapshotPrefix: string;
  readonly timescaleVolumeGiB: number;
  /** Retention of Redis snapshots the hourly job keeps, in days. */
  readonly redisBackupRetentionDays: number;
  /** IRSA role ARNs by workload. */
  readonly roleArns: Readonly<Record<string, string>>;
  /** The database tier's ranges: RDS and ElastiCache live there. */
  readonly databaseCidrs: readonly string[];
  readonly vpcCidr: string;
  readonly timescaleStorageClass: string;
}

export function workloadValues(config: StackConfig): WorkloadValues {
  const prefix = `paimon-${config.stack}`;
  const { partition } = partitionOf(config.region);
  const roleArn = (name: string) => `arn:${partition}:iam::${config.awsAccountId}:role/${name}`;
  const roleArns: Record<string, string> = Object.fromEntries(
    Object.keys(SERVICE_ACCOUNTS).map((workload) => [workload, roleArn(workloadRoleName(prefix, workload))]),
  );
  roleArns["timescaleBackup"] = roleArn(timescaleBackupRoleName(prefix));
  const { workloads } = config;
  return {
    stack: config.stack,
    environment: config.environment,
    namespace: workloads.namespace,
    region: config.region,
    image: workloads.image,
    backupToolsImage: workloads.backupToolsImage,
    timescaledbImage: workloads.timescaledbImage,
    host: config.edge.originDomain,
    tlsIssuer: workloads.tlsIssuer,
    acmeEmail: workloads.acmeEmail,
    api: workloads.api,
    highAvailability: workloads.highAvailability,
    chain: workloads.chain,
    secretPrefix: `paimon/${config.stack}`,
    backupBucket: `${prefix}-backups-${config.awsAccountId}-${config.region}`,
    redisReplicationGroupId: `${prefix}-redis`,
    redisSnapshotPrefix: `${prefix}-`,
    timescaleVolumeGiB: config.timescale.volumeSizeGiB,
    redisBackupRetentionDays: config.backups.retentionDays.redis,
    roleArns,
    databaseCidrs: planSubnets(config.network.cidrBlock, config.network.availabilityZoneCount).database,
    vpcCidr: config.network.cidrBlock,
    timescaleStorageClass: TIMESCALE_STORAGE_CLASS,
  };
}
