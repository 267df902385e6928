import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket } from "./components/backup-bucket";
import { Cache } from "./components/cache";
import { Cluster } from "./components/cluster";
import { Database } from "./components/database";
import { DisasterRecovery } from "./components/dr";
import { Edge, ORIGIN_VERIFY_HEADER } from "./components/edge";
import { OriginRecord } from "./components/edge/origin-record";
import { DataKey, SigningKey } from "./components/keys";
import { LogDomain, domainArn } from "./components/logs";
import { Network } from "./components/network";
import { KubernetesPlatform } from "./components/kubernetes-platform";
import { Paging } from "./components/paging";
import { PlatformSecrets, secretArnPattern, type SecretSource } from "./components/secrets";
import { TimescalePrerequisites } from "./components/timescale";
import { PlatformRoles } from "./components/workload-roles/platform";
import { rebalanceWorkerPolicy } from "./components/workload-roles/policies";
import { loadStackConfig } from "./config";
import { backupBucketName, stackNames, standbyStackName } from "./names";
import { synthesizeStack } from "./k8s/main";
import type { SyncedSecretKey } from "./k8s/secrets-chart";
import { metricsDatabaseUrl, timescaleHost } from "./k8s/timescaledb-chart";
import { alertmanagerConfig } from "@paimon/monitoring/alertmanager";

/** What `pulumi stack output` shows: what operators and the Kubernetes layer read. */
export interface StackOutputs {
  readonly region: string;
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly databaseSubnetIds: pulumi.Output<string>[];
  readonly natPublicIps: pulumi.Output<string>[];
  readonly dataKeyArn: pulumi.Output<string>;
  readonly signingKeyArn: pulumi.Output<string>;
  readonly signingKeyId: pulumi.Output<string>;
  readonly backupBucketName: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  readonly clusterEndpoint: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly storageClasses: { readonly default: string; readonly timescaledb: string };
  readonly databaseAddress: pulumi.Output<string>;
  readonly databaseReplicaAddresses: pulumi.Output<string>[];
  readonly redisEndpoint: pulumi.Output<string>;
  readonly redisReplicationGroupId: pulumi.Output<string>;
  readonly logDomainEndpoint: pulumi.Output<string>;
  readonly secretNames: Readonly<Record<string, string>>;
  readonly workloadRoles: Readonly<
    Record<string, { roleArn: pulumi.Output<string>; namespace: string; serviceAccount: string }>
  >;
  readonly edge: {
    readonly apiDomain: string;
    readonly originDomain: string;
    readonly distributionDomainName: pulumi.Output<string>;
    readonly originSecurityGroupId: pulumi.Output<string>;
    /** The network load balancer the origin host points at (made by the load balancer controller). */
    readonly originLoadBalancerDnsName: pulumi.Output<string>;
    readonly originVerifyHeader: string;
  };
  /** What a deploy reads: the image the workloads run (its rollback target), where, and which Deployments. */
  readonly workloads: {
    readonly image: string;
    readonly namespace: string;
    readonly deployments: readonly string[];
  };
  readonly dr?: {
    readonly region: string;
    readonly keyArn: pulumi.Output<string>;
    readonly backupBucketName: pulumi.Output<string>;
    readonly replicatedDatabaseBackupsArn: pulumi.Output<string>;
    /** The operator key's replica: the standby stack's `paimon:keys.signingKeyArn`. */
    readonly signingKeyReplicaArn: pulumi.Output<string>;
  };
}

/**
 * The composition root: reads the stack's configuration once, builds each component from the
 * previous ones' outputs, and returns the stack outputs. Nothing else reads configuration.
 */
export async function program(): Promise<StackOutputs> {
  const config = loadStackConfig();
  const names = stackNames({ ...config, namespace: config.workloads.namespace });
  const { prefix } = names;
  // Every stateful resource's `protect` (the database's follows its deletion protection).
  const protect = config.protectStatefulResources;

  // An explicit provider pins the region and refuses to touch any account but the configured
  // one, whatever credentials the operator's shell happens to hold.
  const provider = new aws.Provider("aws", {
    region: config.region as aws.Region,
    allowedAccountIds: [config.awsAccountId],
    defaultTags: {
      tags: {
        project: "paimon",
        environment: config.environment,
        stack: config.stack,
        "managed-by": "pulumi",
        ...config.tags,
      },
    },
  });
  const opts = { providers: { aws: provider } };

  const [zones, partition] = await Promise.all([
    aws.getAvailabilityZones(
      { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
      { provider },
    ),
    aws.getPartition({}, { provider }),
  ]);
  const availabilityZones = [...zones.names].sort().slice(0, config.network.availabilityZoneCount);
  if (availabilityZones.length < config.network.availabilityZoneCount) {
    throw new Error(
      `${config.file}: paimon:network.availabilityZoneCount: ${config.region} has only ${zones.names.length} ` +
        `standard availability zones, ${config.network.availabilityZoneCount} were asked for`,
    );
  }
  const scope = { accountId: config.awsAccountId, partition: partition.partition, region: config.region };

  const dataKey = new DataKey(
    "keys",
    {
      aliasPrefix: prefix,
      scope,
      deletionWindowDays: config.keys.dataKeyDeletionWindowDays,
      protect,
      // The Redis backup's ElastiCache exports land in the backup bucket, encrypted with this key.
      elastiCacheExportBucket: names.backupBucket,
    },
    opts,
  );

  const network = new Network(
    "network",
    {
      namePrefix: prefix,
      cidrBlock: config.network.cidrBlock,
      availabilityZones,
      natGateways: config.network.natGateways,
      region: config.region,
      accountId: config.awsAccountId,
      partition: scope.partition,
      flowLogKmsKeyArn: dataKey.keyArn,
      flowLogRetentionDays: config.network.flowLogRetentionDays,
    },
    opts,
  );

  const backups = new BackupBucket(
    "backups",
    {
      bucketName: names.backupBucket,
      kmsKeyArn: dataKey.keyArn,
      retentionDays: config.backups.retentionDays,
      noncurrentVersionRetentionDays: config.backups.noncurrentVersionRetentionDays,
      forceDestroy: config.backups.forceDestroy,
      protect,
      elastiCacheExportRegion: config.region,
    },
    opts,
  );

  const cluster = new Cluster(
    "cluster",
    {
      clusterName: names.clusterName,
      kubernetesVersion: config.cluster.kubernetesVersion,
      region: config.region,
      partition: scope.partition,
      privateSubnetIds: network.privateSubnetIds,
      publicAccessCidrs: config.cluster.publicAccessCidrs,
      adminRoleArns: config.cluster.adminRoleArns,
      dataKeyArn: dataKey.keyArn,
      nodeGroups: config.cluster.nodeGroups,
      deletionProtection: config.cluster.deletionProtection,
      logRetentionDays: config.cluster.logRetentionDays,
    },
    opts,
  );

  const dataStore = {
    namePrefix: prefix,
    vpcId: network.vpcId,
    subnetIds: network.databaseSubnetIds,
    clientSecurityGroupId: cluster.nodeSecurityGroupId,
    kmsKeyArn: dataKey.keyArn,
  };
  const database = new Database("database", { ...dataStore, ...config.database }, opts);
  const cache = new Cache(
    "cache",
    {
      ...dataStore,
      ...config.cache,
      replicationGroupId: names.redisReplicationGroupId,
      logRetentionDays: config.logs.logRetentionDays,
      protect,
    },
    opts,
  );

  const edge = new Edge(
    "edge",
    {
      namePrefix: prefix,
      ...config.edge,
      vpcId: network.vpcId,
      vpcCidr: config.network.cidrBlock,
      wafLogRetentionDays: config.logs.logRetentionDays,
    },
    opts,
  );

  const platformRoles = new PlatformRoles(
    "roles",
    {
      names,
      partition: scope.partition,
      oidcProviderArn: cluster.oidcProviderArn,
      oidcIssuer: cluster.oidcIssuer,
      dataKeyArn: dataKey.keyArn,
      backupBucketArn: backups.bucketArn,
      cacheArn: cache.replicationGroupArn,
      cacheSnapshotArnPrefix: `arn:${scope.partition}:elasticache:${config.region}:${config.awsAccountId}:snapshot:${names.redisSnapshotPrefix}`,
      secretArnPattern: secretArnPattern(scope, names.secretPrefix),
      drill: {
        region: config.region,
        sourceInstanceArn: database.instanceArn,
        subnetGroupArn: database.subnetGroupArn,
        parameterGroupArn: database.parameterGroupArn,
        scratchInstanceArnPrefix: `arn:${scope.partition}:rds:${config.region}:${config.awsAccountId}:db:${names.drillScratchPrefix}`,
        defaultOptionGroupArns: `arn:${scope.partition}:rds:${config.region}:${config.awsAccountId}:og:default:postgres-*`,
      },
      logDomainArn: domainArn(scope.partition, config.region, config.awsAccountId, names.logDomain),
      hostedZoneId: edge.zoneId,
      // The ingress serves the origin host; cert-manager proves it holds it.
      certificateHosts: [config.edge.originDomain],
    },
    opts,
  );
  const { roles } = platformRoles;

  // The signing key names the worker's role as its only signer, and the role's grant names the
  // key: the role exists first, then the key, then the grant.
  // A standby stack signs with the replica its primary keeps here (the same key, so the same
  // operator address); every other stack owns its key, multi-Region where it keeps a DR region.
  const existingKeyArn = config.keys.signingKeyArn;
  const signingKey: Pick<SigningKey, "keyArn" | "keyId" | "replicaArn"> = existingKeyArn
    ? { keyArn: pulumi.output(existingKeyArn), keyId: pulumi.output(existingKeyArn.split("/")[1] ?? "") }
    : new SigningKey(
        "keys",
        {
          aliasPrefix: prefix,
          scope,
          deletionWindowDays: config.keys.signingKeyDeletionWindowDays,
          signerRoleArns: [roles.rebalanceWorker.roleArn],
          ...(config.dr
            ? {
                replica: {
                  region: config.dr.region,
                  standbySignerRoleArns: [
                    stackNames({
                      ...config,
                      stack: standbyStackName(config.stack),
                      region: config.dr.region,
                      namespace: config.workloads.namespace,
                    }).roleArn("rebalanceWorker"),
                  ],
                },
              }
            : {}),
        },
        opts,
      );
  roles.rebalanceWorker.grant(signingKey.keyArn.apply(rebalanceWorkerPolicy));

  const { adminRoleArn, ...domainSettings } = config.logs;
  const logs = new LogDomain(
    "logs",
    {
      domainName: names.logDomain,
      ...scope,
      vpcId: network.vpcId,
      subnetIds: network.databaseSubnetIds,
      clientSecurityGroupId: cluster.nodeSecurityGroupId,
      kmsKeyArn: dataKey.keyArn,
      ...domainSettings,
      // The security provisioner (infra/k8s/logging-chart.ts) is the master user: it maps the
      // log shipper's role and the operators' to OpenSearch roles.
      masterUserArn: roles.logDomainSecurity.roleArn,
      clientRoleArns: [roles.logDomainSecurity.roleArn, roles.logShipper.roleArn, adminRoleArn],
      protect,
    },
    opts,
  );

  const timescale = new TimescalePrerequisites(
    "timescale",
    {
      backupRoleName: names.roleName("timescaleBackup"),
      namespace: names.namespace,
      provider: cluster.provider,
      oidcProviderArn: cluster.oidcProviderArn,
      oidcIssuer: cluster.oidcIssuer,
      kmsKeyArn: dataKey.keyArn,
      backupBucketArn: backups.bucketArn,
    },
    opts,
  );

  // Paging is provisioned where configured; its integration key becomes the `pagerduty-key` secret.
  const paging = config.paging ? new Paging("paging", config.paging) : undefined;

  const fromConfig = (value: pulumi.Output<string> | undefined, key: string): SecretSource =>
    value ? { value } : { outOfBand: `pulumi config set --secret paimon:${key}, or put the value in Secrets Manager` };
  const secrets = new PlatformSecrets(
    "secrets",
    {
      prefix: names.secretPrefix,
      ...scope,
      kmsKeyArn: dataKey.keyArn,
      recoveryWindowDays: config.secrets.recoveryWindowDays,
      protect,
      // Typed by the keys the cluster syncs: a secret missing here, or one nothing reads, does not compile.
      secrets: {
        "database-url": { value: database.databaseUrl },
        "redis-url": { value: cache.redisUrl },
        "bsc-rpc-url": fromConfig(config.secretValues.bscRpcUrl, "bscRpcUrl"),
        "bsc-ws-url": fromConfig(config.secretValues.bscWsUrl, "bscWsUrl"),
        "jwt-secret": { generate: 64 },
        "kms-key-id": { value: signingKey.keyId },
        "pagerduty-key": paging
          ? { value: paging.integrationKey }
          : fromConfig(config.secretValues.pagerdutyRoutingKey, "pagerdutyRoutingKey"),
        "timescaledb-password": { generate: 32 },
        // Derived inside the component, so the generated password keeps its resource (and value):
        // TimescaleDB reads POSTGRES_PASSWORD only when it first initializes its volume.
        "metrics-database-url": {
          from: "timescaledb-password",
          compose: (password) => password.apply((value) => metricsDatabaseUrl(names.namespace, value)),
        },
        "origin-verify": { value: edge.originVerifySecret },
        "slack-webhook-url": { outOfBand: "the #paimon-alerts channel's incoming webhook URL" },
        "smtp-password": { outOfBand: "the SES SMTP password of the alertmanager user" },
      } satisfies Record<SyncedSecretKey, SecretSource>,
    },
    opts,
  );

  const charts = synthesizeStack(config);
  const kubernetes = new KubernetesPlatform(
    "kubernetes",
    {
      provider: cluster.provider,
      charts,
      clusterName: cluster.clusterName,
      region: config.region,
      vpcId: network.vpcId,
      highAvailability: config.workloads.highAvailability,
      loadBalancerControllerRoleArn: roles.loadBalancerController.roleArn,
      externalSecretsRoleArn: roles.externalSecrets.roleArn,
      logShipperRoleArn: roles.logShipper.roleArn,
      certManagerRoleArn: roles.certManager.roleArn,
      originSecurityGroupId: edge.originSecurityGroupId,
      originLoadBalancerName: names.originLoadBalancer,
      logDomainEndpoint: logs.endpoint,
      alertmanagerConfig: alertmanagerConfig({
        environment: config.environment,
        paging: config.paging !== undefined,
      }) as Record<string, unknown>,
      storageClass: cluster.storageClassName,
      timescaleHost: timescaleHost(names.namespace),
      servicesImage: config.workloads.image,
      redisCluster: config.cache.clusterMode,
      protect,
    },
    // The workload charts need the platform's secrets synced and its volume classes in place.
    { dependsOn: [secrets, timescale] },
  );

  const origin = new OriginRecord(
    "edge-origin",
    {
      zoneId: edge.zoneId,
      host: config.edge.originDomain,
      loadBalancerName: names.originLoadBalancer,
      loadBalancerCreatedBy: [kubernetes.releases.ingressNginx],
    },
    opts,
  );

  const dr = config.dr
    ? new DisasterRecovery(
        "dr",
        {
          namePrefix: prefix,
          region: config.dr.region,
          bucketName: backupBucketName(prefix, config.awsAccountId, config.dr.region),
          accountId: config.awsAccountId,
          partition: scope.partition,
          sourceBucket: backups,
          sourceKeyArn: dataKey.keyArn,
          retentionDays: config.backups.retentionDays,
          noncurrentVersionRetentionDays: config.backups.noncurrentVersionRetentionDays,
          databaseInstanceArn: database.instanceArn,
          databaseBackupRetentionDays: config.dr.backupRetentionDays,
          protect,
        },
        opts,
      )
    : undefined;

  const workloadRoles = Object.fromEntries(
    Object.entries({ ...roles, timescaleBackup: timescale.backupRole }).map(([workload, role]) => [
      workload,
      { roleArn: role.roleArn, namespace: role.serviceAccount.namespace, serviceAccount: role.serviceAccount.name },
    ]),
  );

  return {
    region: config.region,
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    databaseSubnetIds: network.databaseSubnetIds,
    natPublicIps: network.natPublicIps,
    dataKeyArn: dataKey.keyArn,
    signingKeyArn: signingKey.keyArn,
    signingKeyId: signingKey.keyId,
    backupBucketName: backups.bucketName,
    clusterName: cluster.clusterName,
    clusterEndpoint: cluster.endpoint,
    kubeconfig: cluster.kubeconfig,
    storageClasses: { default: cluster.storageClassName, timescaledb: timescale.storageClassName },
    databaseAddress: database.address,
    databaseReplicaAddresses: database.replicaAddresses,
    redisEndpoint: cache.endpoint,
    redisReplicationGroupId: cache.replicationGroupId,
    logDomainEndpoint: logs.endpoint,
    secretNames: secrets.names,
    workloadRoles,
    edge: {
      apiDomain: config.edge.apiDomain,
      originDomain: config.edge.originDomain,
      distributionDomainName: edge.distributionDomainName,
      originSecurityGroupId: edge.originSecurityGroupId,
      originLoadBalancerDnsName: origin.loadBalancerDnsName,
      originVerifyHeader: ORIGIN_VERIFY_HEADER,
    },
    workloads: {
      image: config.workloads.image,
      namespace: names.namespace,
      deployments: charts
        .flatMap((chart) => chart.objects)
        .filter((object) => object["kind"] === "Deployment")
        .map((object) => (object["metadata"] as { name: string }).name)
        .sort(),
    },
    ...(dr
      ? {
          dr: {
            region: config.dr?.region ?? "",
            keyArn: dr.keyArn,
            backupBucketName: dr.bucketName,
            replicatedDatabaseBackupsArn: dr.replicatedBackupsArn,
            signingKeyReplicaArn: signingKey.replicaArn ?? pulumi.output(""),
          },
        }
      : {}),
  };
}
