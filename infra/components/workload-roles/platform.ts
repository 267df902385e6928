import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceAccountHome, StackNames } from "../../names";
import { WorkloadRole } from "./index";
import { loadBalancerControllerPolicy } from "./load-balancer-controller";
import {
  certManagerDns01Policy,
  drDrillPolicy,
  externalSecretsPolicy,
  logDomainSecurityPolicy,
  logShipperPolicy,
  postgresBackupPolicy,
  redisSnapshotPolicy,
  secretsBackupPolicy,
} from "./policies";

/**
 * The service accounts of the platform's workloads: the Kubernetes layer creates them with
 * these names. Those without a namespace live in the fund's own (`paimon:workloads.namespace`);
 * the add-ons' live in their releases' namespaces.
 */
export const SERVICE_ACCOUNTS = {
  rebalanceWorker: { name: "paimon-rebalance-worker" },
  postgresBackup: { name: "paimon-backup-postgres" },
  redisBackup: { name: "paimon-backup-redis" },
  secretsBackup: { name: "paimon-backup-secrets" },
  drDrill: { name: "paimon-dr-drill" },
  externalSecrets: { namespace: "external-secrets", name: "external-secrets" },
  logShipper: { namespace: "logging", name: "fluent-bit" },
  logDomainSecurity: { namespace: "logging", name: "opensearch-security" },
  loadBalancerController: { namespace: "kube-system", name: "aws-load-balancer-controller" },
  certManager: { namespace: "cert-manager", name: "cert-manager" },
} as const satisfies Record<string, ServiceAccountHome>;
export type PlatformWorkload = keyof typeof SERVICE_ACCOUNTS;

export interface PlatformRolesArgs {
  /** Each role's name, and where its service account lives (the stack's naming module). */
  readonly names: Pick<StackNames, "roleName" | "serviceAccount">;
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
  /** What the DR drill's point-in-time restore names: the live instance, its groups, the scratch prefix. */
  readonly drill: {
    readonly region: string;
    readonly sourceInstanceArn: pulumi.Input<string>;
    readonly subnetGroupArn: pulumi.Input<string>;
    readonly parameterGroupArn: pulumi.Input<string>;
    /** `arn:…:db:<prefix>`: the scratch instances' identifiers start with the prefix. */
    readonly scratchInstanceArnPrefix: string;
    /** `arn:…:og:default:postgres-*`. */
    readonly defaultOptionGroupArns: string;
  };
  /** The public hosted zone where cert-manager answers DNS-01 challenges. */
  readonly hostedZoneId: pulumi.Input<string>;
  /** The hosts cert-manager obtains certificates for (the ingress hosts). */
  readonly certificateHosts: readonly string[];
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
          roleName: args.names.roleName(workload),
          description,
          oidcProviderArn: args.oidcProviderArn,
          oidcIssuer: args.oidcIssuer,
          serviceAccount: args.names.serviceAccount(SERVICE_ACCOUNTS[workload]),
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
        "Hourly ElastiCache snapshot, exported to the backup bucket",
        pulumi
          .all([args.cacheArn, args.backupBucketArn, args.dataKeyArn])
          .apply(([cache, bucket, key]) => redisSnapshotPolicy(cache, args.cacheSnapshotArnPrefix, bucket, key)),
      ),
      secretsBackup: role(
        "secretsBackup",
        "Daily encrypted export of the stack's secrets",
        bucketAndKey.apply(([bucket, key]) => secretsBackupPolicy(args.secretArnPattern, bucket, key)),
      ),
      drDrill: role(
        "drDrill",
        "Monthly DR drill: restores the database to a point in time into a scratch instance, deleted after",
        pulumi
          .all([
            args.drill.sourceInstanceArn,
            args.drill.subnetGroupArn,
            args.drill.parameterGroupArn,
            args.backupBucketArn,
            args.dataKeyArn,
          ])
          .apply(([sourceInstanceArn, subnetGroupArn, parameterGroupArn, bucketArn, dataKeyArn]) =>
            drDrillPolicy({
              sourceInstanceArn,
              scratchInstanceArnPrefix: args.drill.scratchInstanceArnPrefix,
              subnetGroupArn,
              parameterGroupArn,
              defaultOptionGroupArns: args.drill.defaultOptionGroupArns,
              bucketArn,
              dataKeyArn,
              region: args.drill.region,
            }),
          ),
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
      logDomainSecurity: role(
        "logDomainSecurity",
        "The log domain's master user: maps the platform's roles to OpenSearch roles",
        logDomainSecurityPolicy(args.logDomainArn),
      ),
      loadBalancerController: role(
        "loadBalancerController",
        "AWS Load Balancer Controller: the ingress controller's load balancer",
        loadBalancerControllerPolicy(args.partition),
      ),
      certManager: role(
        "certManager",
        "cert-manager: answers DNS-01 challenges for the origin's certificate",
        pulumi.output(args.hostedZoneId).apply((zone) =>
          certManagerDns01Policy(
            args.partition,
            zone,
            args.certificateHosts.map((host) => `_acme-challenge.${host}`),
          ),
        ),
      ),
    };
    this.registerOutputs({});
  }
}
