import { planSubnets } from "../components/network/subnets";
import { TIMESCALE_STORAGE_CLASS } from "../components/timescale";
import { SERVICE_ACCOUNTS, type PlatformWorkload } from "../components/workload-roles/platform";
import type { StackConfig } from "../config";
import { stackNames } from "../names";

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

/**
 * The BullMQ key prefix of every stack's queues: a hash tag, so that in Redis Cluster all of a
 * queue's keys hash to one slot and BullMQ's multi-key scripts run (the services' own default).
 */
export const QUEUE_PREFIX = "{paimon}";

/** Everything the charts need, derived from the stack's configuration alone, so synth needs no cloud. */
export interface WorkloadValues {
  readonly stack: string;
  readonly environment: "staging" | "production";
  readonly namespace: string;
  readonly region: string;
  readonly image: string;
  readonly timescaledbImage: string;
  /** The ingress host: the origin CloudFront calls. */
  readonly host: string;
  /** The public hosted zone the host lies in, where cert-manager answers DNS-01 challenges. */
  readonly zoneName: string;
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
  /** The data key by its alias's ARN: the backups' SSE-KMS key and the secrets export's envelope key. */
  readonly backupKmsKeyId: string;
  readonly redisReplicationGroupId: string;
  /** The RDS instance: what the DR drill restores to a point in time. */
  readonly databaseInstance: string;
  /** The DR drill's scratch instances are named with it; its role may create and delete no others. */
  readonly drillScratchPrefix: string;
  /** The Redis backup's snapshots are named with it; its role may delete no others. */
  readonly redisSnapshotPrefix: string;
  /** ElastiCache runs in cluster mode: the services must discover its shards (`REDIS_CLUSTER`). */
  readonly redisCluster: boolean;
  /** The OpenSearch domain the logs go to. */
  readonly logDomain: string;
  readonly timescaleVolumeGiB: number;
  /** IRSA role ARNs by workload: every platform workload's, and the TimescaleDB backup's. */
  readonly roleArns: Readonly<Record<IrsaWorkload, string>>;
  /** The operators' role, mapped to OpenSearch's administrator roles. */
  readonly logAdminRoleArn: string;
  /** The database tier's ranges: RDS and ElastiCache live there. */
  readonly databaseCidrs: readonly string[];
  readonly vpcCidr: string;
  readonly timescaleStorageClass: string;
}

/** The workloads with an IRSA role: the platform's service accounts, and the TimescaleDB backup's. */
export type IrsaWorkload = PlatformWorkload | "timescaleBackup";

export function workloadValues(config: StackConfig): WorkloadValues {
  const names = stackNames({ ...config, namespace: config.workloads.namespace });
  const withRoles: readonly IrsaWorkload[] = [
    ...(Object.keys(SERVICE_ACCOUNTS) as PlatformWorkload[]),
    "timescaleBackup",
  ];
  const roleArns = Object.fromEntries(withRoles.map((workload) => [workload, names.roleArn(workload)])) as Record<
    IrsaWorkload,
    string
  >;
  const { workloads } = config;
  return {
    stack: config.stack,
    environment: config.environment,
    namespace: names.namespace,
    region: config.region,
    image: workloads.image,
    timescaledbImage: workloads.timescaledbImage,
    host: config.edge.originDomain,
    zoneName: config.edge.zoneName,
    tlsIssuer: workloads.tlsIssuer,
    acmeEmail: workloads.acmeEmail,
    api: workloads.api,
    highAvailability: workloads.highAvailability,
    chain: workloads.chain,
    secretPrefix: names.secretPrefix,
    backupBucket: names.backupBucket,
    backupKmsKeyId: names.dataKeyAliasArn,
    redisReplicationGroupId: names.redisReplicationGroupId,
    databaseInstance: names.databaseInstance,
    drillScratchPrefix: names.drillScratchPrefix,
    redisSnapshotPrefix: names.redisSnapshotPrefix,
    redisCluster: config.cache.clusterMode,
    logDomain: names.logDomain,
    timescaleVolumeGiB: config.timescale.volumeSizeGiB,
    roleArns,
    logAdminRoleArn: config.logs.adminRoleArn,
    databaseCidrs: planSubnets(config.network.cidrBlock, config.network.availabilityZoneCount).database,
    vpcCidr: config.network.cidrBlock,
    timescaleStorageClass: TIMESCALE_STORAGE_CLASS,
  };
}
