import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DataStoreAccess } from "../data-store-access";

/** The OpenSearch log types published to CloudWatch Logs; AUDIT_LOGS needs fine-grained access. */
export const OPENSEARCH_LOG_TYPES = [
  "INDEX_SLOW_LOGS",
  "SEARCH_SLOW_LOGS",
  "ES_APPLICATION_LOGS",
  "AUDIT_LOGS",
] as const;

/** The indices the platform's logs go to (`<prefix>-YYYY.MM.DD`, the seed's §6.2 index name). */
export const LOG_INDEX_PREFIX = "paimon-logs";

export interface LogDomainArgs {
  /** The domain's name (≤ 28 characters), e.g. `paimon-production-logs`. */
  readonly domainName: string;
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
  readonly vpcId: pulumi.Input<string>;
  /** Subnets, one per AZ the domain spans, in the database tier. */
  readonly subnetIds: pulumi.Input<string>[];
  /** The only security group that may connect: the cluster's nodes (the log shipper runs there). */
  readonly clientSecurityGroupId: pulumi.Input<string>;
  readonly kmsKeyArn: pulumi.Input<string>;
  readonly engineVersion: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly availabilityZoneCount: 1 | 2 | 3;
  readonly dedicatedMasterCount: 0 | 3 | 5;
  readonly dedicatedMasterType?: string | undefined;
  readonly volumeSizeGiB: number;
  /**
   * Fine-grained access control's master user: the role that maps every other role to an
   * OpenSearch role through the security API (the security provisioner Job's, infra/k8s).
   */
  readonly masterUserArn: pulumi.Input<string>;
  /** Roles allowed through the domain's access policy (the master, the log shipper, the operators). */
  readonly clientRoleArns: readonly pulumi.Input<string>[];
  readonly logRetentionDays: number;
  /**
   * `protect` the domain: Pulumi refuses to delete or replace it until a reviewed change lifts it.
   * @default false
   */
  readonly protect?: boolean;
}

/** The domain's ARN, known before the domain exists so that roles can name it. */
export const domainArn = (partition: string, region: string, accountId: string, domainName: string): string =>
  `arn:${partition}:es:${region}:${accountId}:domain/${domainName}`;

/**
 * The "ELK" of §6.2 as an OpenSearch domain: inside the VPC, encrypted at rest with the data key
 * and node to node, HTTPS only with TLS 1.2+, fine-grained access control mapped to IAM roles,
 * its own logs (audit included) in CloudWatch Logs, spread over three AZs in production.
 */
export class LogDomain extends pulumi.ComponentResource {
  readonly domainArn: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: LogDomainArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:observability:LogDomain", name, {}, opts);
    if (args.domainName.length > 28 || !/^[a-z][a-z0-9-]+$/.test(args.domainName)) {
      throw new pulumi.ResourceError(
        `domainName: "${args.domainName}" must be 3–28 lower-case letters, digits, hyphens`,
        this,
      );
    }
    if (args.instanceCount % args.availabilityZoneCount !== 0) {
      throw new pulumi.ResourceError("instanceCount: must be a multiple of availabilityZoneCount", this);
    }
    if (args.dedicatedMasterCount > 0 && !args.dedicatedMasterType) {
      throw new pulumi.ResourceError("dedicatedMasterType: dedicated masters need an instance type", this);
    }
    const child = { parent: this };
    const arn = domainArn(args.partition, args.region, args.accountId, args.domainName);

    const access = new DataStoreAccess(
      `${name}-access`,
      {
        description: `${args.domainName}: HTTPS from the cluster only`,
        vpcId: args.vpcId,
        port: 443,
        clientSecurityGroupId: args.clientSecurityGroupId,
      },
      child,
    );

    const logGroups = OPENSEARCH_LOG_TYPES.map(
      (logType) =>
        [
          logType,
          new aws.cloudwatch.LogGroup(
            `${name}-${logType.toLowerCase().replace(/_/g, "-")}`,
            {
              name: `/aws/opensearch/${args.domainName}/${logType.toLowerCase().replace(/_/g, "-")}`,
              retentionInDays: args.logRetentionDays,
              kmsKeyId: args.kmsKeyArn,
            },
            child,
          ),
        ] as const,
    );
    const logPolicy = new aws.cloudwatch.LogResourcePolicy(
      `${name}-log-delivery`,
      {
        policyName: `${args.domainName}-log-delivery`,
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "OpenSearchPublishesItsLogs",
              Effect: "Allow",
              Principal: { Service: "es.amazonaws.com" },
              Action: ["logs:PutLogEvents", "logs:CreateLogStream"],
              Resource: `arn:${args.partition}:logs:${args.region}:${args.accountId}:log-group:/aws/opensearch/${args.domainName}/*`,
              Condition: { StringEquals: { "aws:SourceAccount": args.accountId }, ArnLike: { "aws:SourceArn": arn } },
            },
          ],
        }),
      },
      child,
    );

    const zoneAware = args.availabilityZoneCount > 1;
    const domain = new aws.opensearch.Domain(
      `${name}-domain`,
      {
        domainName: args.domainName,
        engineVersion: args.engineVersion,
        clusterConfig: {
          instanceType: args.instanceType,
          instanceCount: args.instanceCount,
          zoneAwarenessEnabled: zoneAware,
          ...(zoneAware ? { zoneAwarenessConfig: { availabilityZoneCount: args.availabilityZoneCount } } : {}),
          dedicatedMasterEnabled: args.dedicatedMasterCount > 0,
          ...(args.dedicatedMasterCount > 0
            ? { dedicatedMasterCount: args.dedicatedMasterCount, dedicatedMasterType: args.dedicatedMasterType }
            : {}),
        },
        vpcOptions: {
          subnetIds: args.subnetIds.slice(0, args.availabilityZoneCount),
          securityGroupIds: [access.securityGroupId],
        },
        ebsOptions: { ebsEnabled: true, volumeType: "gp3", volumeSize: args.volumeSizeGiB },
        encryptAtRest: { enabled: true, kmsKeyId: args.kmsKeyArn },
        nodeToNodeEncryption: { enabled: true },
        domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" },
        advancedSecurityOptions: {
          enabled: true,
          anonymousAuthEnabled: false,
          internalUserDatabaseEnabled: false,
          masterUserOptions: { masterUserArn: args.masterUserArn },
        },
        accessPolicies: pulumi.output(args.clientRoleArns).apply((roles) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "PlatformRolesOnly",
                Effect: "Allow",
                Principal: { AWS: [...roles].sort() },
                Action: ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                Resource: `${arn}/*`,
              },
            ],
          }),
        ),
        logPublishingOptions: logGroups.map(([logType, group]) => ({
          logType,
          cloudwatchLogGroupArn: group.arn,
          enabled: true,
        })),
        softwareUpdateOptions: { autoSoftwareUpdateEnabled: true },
      },
      { ...child, dependsOn: [logPolicy], protect: args.protect ?? false },
    );
    this.domainArn = domain.arn;
    this.endpoint = domain.endpoint;
    this.registerOutputs({ domainArn: this.domainArn, endpoint: this.endpoint });
  }
}
