import ipaddr from "ipaddr.js";
import { z } from "zod";

/**
 * The schema of `Pulumi.<stack>.yaml`. Every field is explicit in every stack file: no
 * defaults hide here, so a reviewer sees each stack's full shape, and a difference between
 * stacks is always a visible difference between two files.
 */

/** Backup kinds of the operations spec's §7.1 table (plus TimescaleDB) that land in the backup bucket. */
export const BACKUP_KINDS = ["postgres", "redis", "secrets", "timescaledb"] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** Values CloudWatch Logs accepts for a log group's retention. */
export const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Config values held as Pulumi secrets (`pulumi config set --secret`); never accepted in plain text. */
export const SECRET_KEYS = ["bscRpcUrl", "bscWsUrl", "pagerdutyRoutingKey"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const days = (max: number) => int(1, max);
const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region such as ap-southeast-1");
const domain = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS name");
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, "must be an IAM role ARN");
const logRetention = z
  .number()
  .int()
  .refine((value) => CLOUDWATCH_RETENTION_DAYS.includes(value), {
    message: `must be one of CloudWatch Logs' retention values: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`,
  });

const vpcCidr = z.string().refine(
  (value) => {
    if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(value)) return false;
    const [address, prefix] = ipaddr.IPv4.parseCIDR(value);
    const network = ipaddr.IPv4.networkAddressFromCIDR(value);
    return prefix >= 16 && prefix <= 20 && network.toString() === address.toString();
  },
  { message: "must be an IPv4 network block from /16 to /20 with no host bits set, e.g. 10.20.0.0/16" },
);

/** An allow-listed range: a real network, never the whole internet. */
const allowedCidr = z
  .string()
  .refine((value) => ipaddr.IPv4.isValidCIDRFourPartDecimal(value) && ipaddr.IPv4.parseCIDR(value)[1] >= 8, {
    message: "must be an IPv4 CIDR block of /8 or narrower (the internet as a whole is never allow-listed)",
  });

const networkSchema = z.strictObject({
  /** The VPC's IPv4 range, split across AZs into public, private and database subnets. */
  cidrBlock: vpcCidr,
  /** How many availability zones the VPC spans; the database tier needs at least two. */
  availabilityZoneCount: int(2, 6),
  /** `single`: one shared NAT gateway. `one-per-az`: each AZ egresses through its own. */
  natGateways: z.enum(["single", "one-per-az"]),
  /** Retention of the VPC flow-log group, in days. */
  flowLogRetentionDays: logRetention,
});

const keysSchema = z.strictObject({
  /** Waiting period before the data key is deleted once scheduled (AWS allows 7–30). */
  dataKeyDeletionWindowDays: int(7, 30),
  /** Waiting period for the signing key; keep it at the 30-day maximum. */
  signingKeyDeletionWindowDays: int(7, 30),
  /**
   * A standby stack only: the replica the primary stack keeps of its multi-Region signing key in
   * this region (`pulumi stack output dr -s <primary>`: `signingKeyReplicaArn`). The stack then
   * creates no signing key of its own — a new key would be a new operator address — and its
   * rebalance worker signs with the replica.
   */
  signingKeyArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/mrk-[0-9a-f]{32}$/,
      "must be the ARN of a multi-Region key (key/mrk-…): the replica of the primary's signing key",
    )
    .optional(),
});

const backupsSchema = z.strictObject({
  /** Days each backup kind's objects are kept (operations spec §7.1). */
  retentionDays: z.strictObject({
    postgres: days(3650),
    redis: days(3650),
    secrets: days(3650),
    timescaledb: days(3650),
  }),
  /** Days a replaced or deleted object version is kept before it expires. */
  noncurrentVersionRetentionDays: days(365),
  /** Whether `pulumi destroy` may delete a bucket that still holds backups. */
  forceDestroy: z.boolean(),
});

const nodeGroupSchema = z
  .strictObject({
    instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type")).min(1),
    capacityType: z.enum(["ON_DEMAND", "SPOT"]),
    minSize: int(0, 100),
    desiredSize: int(0, 100),
    maxSize: int(1, 100),
    diskSizeGiB: int(20, 1000),
  })
  .refine((group) => group.minSize <= group.desiredSize && group.desiredSize <= group.maxSize, {
    message: "needs minSize ≤ desiredSize ≤ maxSize",
  });

const clusterSchema = z.strictObject({
  /** EKS Kubernetes version, pinned: upgrades are reviewed changes. */
  kubernetesVersion: z.string().regex(/^1\.\d{2}$/, 'must be a Kubernetes minor version such as "1.31"'),
  /** Ranges allowed to reach the public API endpoint; empty keeps the endpoint private only. */
  publicAccessCidrs: z.array(allowedCidr).max(40),
  /** IAM roles given cluster-admin through EKS access entries. */
  adminRoleArns: z.array(roleArn),
  /** Managed node groups by name; each spans every private subnet. */
  nodeGroups: z
    .record(z.string().regex(/^[a-z][a-z0-9-]{0,30}$/), nodeGroupSchema)
    .refine((groups) => Object.keys(groups).length > 0, {
      message: "needs at least one node group",
    }),
  /** Refuse `DeleteCluster` while set. */
  deletionProtection: z.boolean(),
  /** Days the control-plane log group keeps records. */
  logRetentionDays: logRetention,
});

const databaseSchema = z.strictObject({
  engineVersion: z.string().regex(/^16\.\d+$/, 'must be a PostgreSQL 16 version such as "16.4"'),
  instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "must be an RDS instance class"),
  allocatedStorageGiB: int(20, 65536),
  maxAllocatedStorageGiB: int(20, 65536),
  multiAz: z.boolean(),
  readReplicas: int(0, 5),
  /** Automated backups and point-in-time recovery window (the seed's §7.1 says 30). */
  backupRetentionDays: int(1, 35),
  deletionProtection: z.boolean(),
  performanceInsights: z.boolean(),
  /**
   * Brings the instance up by restoring the latest restorable time of these automated backups
   * (a standby stack in the DR region names the replicated backups here; runbooks/disaster-recovery.md).
   */
  restoreFromBackupsArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:auto-backup:[\w-]+$/, "must be an RDS automated-backups ARN")
    .optional(),
  /** Enhanced monitoring interval; 0 turns it off. */
  monitoringIntervalSeconds: z.union([
    z.literal(0),
    z.literal(1),
    z.literal(5),
    z.literal(10),
    z.literal(15),
    z.literal(30),
    z.literal(60),
  ]),
});

const cacheSchema = z
  .strictObject({
    engineVersion: z.string().regex(/^7\.\d+$/, 'must be a Redis 7 version such as "7.1"'),
    nodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, "must be an ElastiCache node type"),
    /** Cluster mode: data sharded over `shards` node groups. */
    clusterMode: z.boolean(),
    shards: int(1, 90),
    replicasPerShard: int(0, 5),
    /** The seed's §7.1 keeps Redis backups 7 days. */
    snapshotRetentionDays: int(1, 35),
  })
  .refine((cache) => cache.clusterMode || cache.shards === 1, { message: "shards > 1 needs clusterMode: true" });

const timescaleSchema = z.strictObject({
  /** Size of each TimescaleDB replica's encrypted gp3 volume. */
  volumeSizeGiB: int(10, 16384),
});

const edgeSchema = z
  .strictObject({
    /** The Route 53 public hosted zone that holds the API's records. */
    zoneName: domain,
    /** The public API host, served by CloudFront. */
    apiDomain: domain,
    /** The load balancer's host that CloudFront calls; serves only requests carrying the origin secret. */
    originDomain: domain,
    /** Requests one client IP may make in 5 minutes before WAF blocks it. */
    rateLimitPer5Minutes: int(100, 2_000_000_000),
    priceClass: z.enum(["PriceClass_100", "PriceClass_200", "PriceClass_All"]),
  })
  .refine((edge) => edge.apiDomain.endsWith(`.${edge.zoneName}`) && edge.originDomain.endsWith(`.${edge.zoneName}`), {
    message: "apiDomain and originDomain must lie inside zoneName",
  });

const logsSchema = z
  .strictObject({
    engineVersion: z.string().regex(/^OpenSearch_\d+\.\d+$/, 'must be an engine version such as "OpenSearch_2.17"'),
    instanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+\.search$/, "must be an OpenSearch instance type"),
    instanceCount: int(1, 80),
    availabilityZoneCount: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    dedicatedMasterCount: z.union([z.literal(0), z.literal(3), z.literal(5)]),
    dedicatedMasterType: z
      .string()
      .regex(/\.search$/)
      .optional(),
    volumeSizeGiB: int(10, 16384),
    /**
     * The operators' IAM role, mapped to OpenSearch's `all_access` and `security_manager` roles by
     * the security provisioner (whose own role is the domain's master user).
     */
    adminRoleArn: roleArn,
    /** Days OpenSearch's own slow and error logs stay in CloudWatch Logs. */
    logRetentionDays: logRetention,
  })
  .refine((logs) => logs.instanceCount % logs.availabilityZoneCount === 0, {
    message: "instanceCount must be a multiple of availabilityZoneCount",
  })
  .refine((logs) => logs.dedicatedMasterCount === 0 || logs.dedicatedMasterType !== undefined, {
    message: "dedicated masters need dedicatedMasterType",
  });

const secretsSchema = z.strictObject({
  /** Days a deleted secret can still be restored (AWS allows 7–30). */
  recoveryWindowDays: int(7, 30),
});

const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/, "must be an e-mail address");
const escalationLevel = z.strictObject({
  users: z.array(email).min(1),
  escalateAfterMinutes: int(1, 1440),
});
const pagingSchema = z.strictObject({
  serviceName: z.string().min(1).max(100),
  timeZone: z.string().regex(/^[A-Za-z]+\/[A-Za-z_]+$/, "must be an IANA time zone such as Asia/Singapore"),
  rotationStart: z.iso.datetime({ offset: true }),
  shiftHours: int(1, 24 * 14),
  levels: z.strictObject({
    onCall: escalationLevel,
    backend: escalationLevel,
    techLead: escalationLevel,
    management: escalationLevel,
  }),
});

/** A container image: registry/repository, a tag and/or a digest; never `latest`. */
const image = z
  .string()
  .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, "must be an image reference")
  .refine((reference) => !/:latest(@|$)/.test(reference) && /[:@]/.test(reference.split("/").pop() ?? ""), {
    message: "must name a version (a tag other than latest, or a digest)",
  });

const workloadsSchema = z
  .strictObject({
    /** The namespace of the fund's workloads. */
    namespace: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    /** The services' image (one image, every service: see the Dockerfile). */
    image,
    /** TimescaleDB (PostgreSQL 16 with the extension). */
    timescaledbImage: image,
    /** Refuse image references without a digest (production runs only what was reviewed). */
    requireImageDigests: z.boolean(),
    /** cert-manager ClusterIssuer of the ingress certificate. */
    tlsIssuer: z.enum(["letsencrypt-staging", "letsencrypt-prod"]),
    /** Contact address of the ACME account. */
    acmeEmail: z.string().regex(/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/),
    api: z.strictObject({
      replicas: int(1, 50),
      /** HorizontalPodAutoscaler bounds; absent keeps the replica count fixed. */
      autoscaling: z
        .strictObject({ minReplicas: int(1, 50), maxReplicas: int(1, 100), targetCpuPercent: int(10, 95) })
        .optional(),
    }),
    /** Spread replicas across zones and nodes, and keep a PodDisruptionBudget per Deployment. */
    highAvailability: z.boolean(),
    /** The chain the event listener follows, and the fund contract on it. */
    chain: z.strictObject({
      /** 56 BSC, 97 its testnet: the listener refuses a node on another chain. */
      chainId: int(1, 2_147_483_647),
      fundAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address"),
      /** The block the fund was deployed in: where following starts on an empty database. */
      deployBlock: int(0, Number.MAX_SAFE_INTEGER),
      /** Blocks behind the head at which work is released as final (with the node's `finalized` tag). */
      finalityDepth: int(0, 1000),
    }),
  })
  .refine(
    (workloads) =>
      !workloads.requireImageDigests ||
      [workloads.image, workloads.timescaledbImage].every((ref) => ref.includes("@sha256:")),
    {
      message: "every image needs an @sha256: digest when requireImageDigests is true",
    },
  )
  .refine(
    (workloads) =>
      !workloads.api.autoscaling || workloads.api.autoscaling.minReplicas <= workloads.api.autoscaling.maxReplicas,
    {
      message: "api.autoscaling needs minReplicas ≤ maxReplicas",
    },
  );

const drSchema = z.strictObject({
  /** The standby region: backups are replicated there, and a standby environment is built there from config. */
  region,
  /** Days replicated RDS automated backups are kept in the DR region. */
  backupRetentionDays: int(1, 35),
});

export const stackConfigSchema = z
  .strictObject({
    environment: z.enum(["staging", "production"]),
    awsAccountId: z.string().regex(/^\d{12}$/, "must be the 12-digit AWS account id, quoted"),
    region,
    network: networkSchema,
    keys: keysSchema,
    backups: backupsSchema,
    cluster: clusterSchema,
    database: databaseSchema,
    cache: cacheSchema,
    timescale: timescaleSchema,
    edge: edgeSchema,
    logs: logsSchema,
    secrets: secretsSchema,
    /** The Kubernetes workloads (infra/k8s). */
    workloads: workloadsSchema,
    /** PagerDuty escalation (spec §10); where absent, critical alerts reach the team's chat only. */
    paging: pagingSchema.optional(),
    /** Present only where a DR region is kept (production). */
    dr: drSchema.optional(),
    /**
     * `protect` on every stateful resource — the databases, the cache, the buckets, the keys, the
     * search domain, the secrets, the DR copies, TimescaleDB: Pulumi refuses to delete or replace
     * one until a reviewed change lifts it. Production sets it (the policy pack requires it there).
     */
    // A top-level value reaches the program as text (`true`), as Pulumi hands scalars over.
    protectStatefulResources: z.stringbool({ truthy: ["true"], falsy: ["false"] }),
    tags: z.record(
      z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "tag keys are lower-case kebab-case"),
      z.string().min(1).max(256),
    ),
    bscRpcUrl: z.string().min(1).optional(),
    bscWsUrl: z.string().min(1).optional(),
    pagerdutyRoutingKey: z.string().min(1).optional(),
  })
  .refine((config) => config.dr === undefined || config.dr.region !== config.region, {
    message: "dr.region must differ from the stack's region",
    path: ["dr", "region"],
  })
  .refine((config) => config.keys.signingKeyArn === undefined || config.dr === undefined, {
    message: "a stack that signs with another stack's replica is a standby, and a standby keeps no dr of its own",
    path: ["keys", "signingKeyArn"],
  })
  .refine(
    (config) =>
      config.keys.signingKeyArn === undefined ||
      config.keys.signingKeyArn.split(":").slice(3, 5).join(":") === `${config.region}:${config.awsAccountId}`,
    {
      message: "must name a key in this stack's region and account",
      path: ["keys", "signingKeyArn"],
    },
  );

export type StackConfigValues = z.infer<typeof stackConfigSchema>;
