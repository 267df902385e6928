import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DataStoreAccess } from "../data-store-access";

export const REDIS_PORT = 6379;

export interface CacheArgs {
  /** Physical name prefix of the slow-log group. */
  readonly namePrefix: string;
  /** The replication group's id (also its subnet and parameter groups' names). */
  readonly replicationGroupId: string;
  readonly vpcId: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<string>[];
  /** The only security group that may connect: the cluster's nodes. */
  readonly clientSecurityGroupId: pulumi.Input<string>;
  /** Encrypts data at rest and the slow-log group. */
  readonly kmsKeyArn: pulumi.Input<string>;
  readonly engineVersion: string;
  readonly nodeType: string;
  /** Cluster mode: keys sharded over `shards` node groups. */
  readonly clusterMode: boolean;
  /** Node groups (shards); more than one needs cluster mode. @default 1 */
  readonly shards?: number;
  /** Replicas per shard; one or more turns on automatic failover across AZs. @default 0 */
  readonly replicasPerShard?: number;
  /** Days ElastiCache keeps snapshots (the seed's §7.1: 7). */
  readonly snapshotRetentionDays: number;
  /** Days the slow-log group keeps records. @default 30 */
  readonly logRetentionDays?: number;
  /**
   * `protect` the replication group: Pulumi refuses to delete or replace it until a reviewed change lifts it.
   * @default false
   */
  readonly protect?: boolean;
}

/**
 * ElastiCache Redis 7: TLS required in transit, KMS at rest, a generated AUTH token, reachable
 * from the cluster only. The job queues live here, so `maxmemory-policy noeviction`: a full
 * cache refuses writes loudly instead of silently dropping queued work.
 */
export class Cache extends pulumi.ComponentResource {
  readonly replicationGroupId: pulumi.Output<string>;
  readonly replicationGroupArn: pulumi.Output<string>;
  /** The endpoint clients use: the configuration endpoint in cluster mode, else the primary. */
  readonly endpoint: pulumi.Output<string>;
  /** `rediss://:<token>@<endpoint>:6379`, secret. */
  readonly redisUrl: pulumi.Output<string>;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:data:Cache", name, {}, opts);
    const shards = args.shards ?? 1;
    const replicas = args.replicasPerShard ?? 0;
    if (shards > 1 && !args.clusterMode) {
      throw new pulumi.ResourceError(`shards: ${shards} shards need clusterMode`, this);
    }
    if (args.clusterMode && replicas < 1) {
      throw new pulumi.ResourceError(
        "replicasPerShard: cluster mode needs at least one replica per shard for failover",
        this,
      );
    }
    const child = { parent: this };
    const groupId = args.replicationGroupId;
    const major = args.engineVersion.split(".")[0] ?? "7";

    const access = new DataStoreAccess(
      `${name}-access`,
      {
        description: `${groupId}: Redis from the cluster only`,
        vpcId: args.vpcId,
        port: REDIS_PORT,
        clientSecurityGroupId: args.clientSecurityGroupId,
      },
      child,
    );
    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-subnets`,
      { name: groupId, description: `${groupId} database tier`, subnetIds: args.subnetIds },
      child,
    );
    const parameters = new aws.elasticache.ParameterGroup(
      `${name}-parameters`,
      {
        name: `${groupId}-redis${major}${args.clusterMode ? "-cluster" : ""}`,
        family: `redis${major}`,
        description: `${groupId}: queues must never be evicted`,
        parameters: [
          { name: "maxmemory-policy", value: "noeviction" },
          ...(args.clusterMode ? [{ name: "cluster-enabled", value: "yes" }] : []),
        ],
      },
      child,
    );
    const token = new random.RandomPassword(`${name}-auth`, { length: 64, special: false }, child);
    const slowLog = new aws.cloudwatch.LogGroup(
      `${name}-slow-log`,
      {
        name: `/${args.namePrefix}/elasticache/slow-log`,
        retentionInDays: args.logRetentionDays ?? 30,
        kmsKeyId: args.kmsKeyArn,
      },
      child,
    );
    const failover = replicas > 0;
    const topology = args.clusterMode
      ? { clusterMode: "enabled", numNodeGroups: shards, replicasPerNodeGroup: replicas }
      : { clusterMode: "disabled", numCacheClusters: 1 + replicas };

    const group = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        replicationGroupId: groupId,
        description: "Paimon job queues, locks and cache",
        engine: "redis",
        engineVersion: args.engineVersion,
        nodeType: args.nodeType,
        port: REDIS_PORT,
        parameterGroupName: parameters.name,
        subnetGroupName: subnets.name,
        securityGroupIds: [access.securityGroupId],
        atRestEncryptionEnabled: true,
        kmsKeyId: args.kmsKeyArn,
        transitEncryptionEnabled: true,
        transitEncryptionMode: "required",
        authToken: token.result,
        ...topology,
        automaticFailoverEnabled: failover,
        multiAzEnabled: failover,
        snapshotRetentionLimit: args.snapshotRetentionDays,
        snapshotWindow: "16:00-17:00",
        maintenanceWindow: "sun:19:30-sun:20:30",
        autoMinorVersionUpgrade: true,
        applyImmediately: false,
        logDeliveryConfigurations: [
          { destination: slowLog.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" },
        ],
      },
      { ...child, protect: args.protect ?? false },
    );
    this.replicationGroupId = group.replicationGroupId;
    this.replicationGroupArn = group.arn;
    this.endpoint = args.clusterMode ? group.configurationEndpointAddress : group.primaryEndpointAddress;
    this.redisUrl = pulumi.secret(pulumi.interpolate`rediss://:${token.result}@${this.endpoint}:${REDIS_PORT}`);
    this.registerOutputs({ endpoint: this.endpoint, replicationGroupArn: this.replicationGroupArn });
  }
}
