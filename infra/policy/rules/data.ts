import { get, resourceRule, text } from "../rule";

const RDS = "aws:rds/instance:Instance";
const REDIS = "aws:elasticache/replicationGroup:ReplicationGroup";
/** Read replicas take their data and backups from the primary; some rules are for primaries only. */
const isPrimary = (props: Record<string, unknown>) => !props["replicateSourceDb"];
const parameter = (props: Record<string, unknown>, name: string) =>
  ((props["parameters"] as { name: string; value: string }[] | undefined) ?? []).find((p) => p.name === name)?.value;

export const dataRules = [
  resourceRule({
    name: "CKV_AWS_16-rds-storage-encrypted",
    description: "RDS storage is encrypted with the platform's KMS key.",
    enforcement: "mandatory",
    types: [RDS],
    check: ({ props }) => [
      ...(props["storageEncrypted"] === true ? [] : ["storageEncrypted is off"]),
      ...(typeof props["kmsKeyId"] === "string" && props["kmsKeyId"] !== "" ? [] : ["no customer-managed kmsKeyId"]),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_17-rds-not-public",
    description: "No database instance is publicly accessible.",
    enforcement: "mandatory",
    types: [RDS],
    check: ({ props }) => (props["publiclyAccessible"] === true ? "publiclyAccessible is true" : undefined),
  }),
  resourceRule({
    name: "CKV2_AWS_69-rds-tls-enforced",
    description: "PostgreSQL parameter groups force TLS (rds.force_ssl = 1).",
    enforcement: "mandatory",
    types: ["aws:rds/parameterGroup:ParameterGroup"],
    check: ({ props }) =>
      text(props["family"]).startsWith("postgres") && parameter(props, "rds.force_ssl") !== "1"
        ? "rds.force_ssl is not 1"
        : undefined,
  }),
  resourceRule({
    name: "CKV_AWS_133-rds-backup-retention",
    description: "Primaries keep automated backups (point-in-time recovery): 7 days at least, 30 in production (§7.1).",
    enforcement: "mandatory",
    types: [RDS],
    check: ({ props, config }) => {
      if (!isPrimary(props)) return undefined;
      const minimum = config.environment === "production" ? 30 : 7;
      const days = Number(props["backupRetentionPeriod"] ?? 0);
      return days >= minimum ? undefined : `backupRetentionPeriod ${days} < ${minimum} days`;
    },
  }),
  resourceRule({
    name: "CKV_AWS_157-rds-multi-az",
    description: "Production primaries have a Multi-AZ standby.",
    enforcement: "mandatory",
    productionOnly: true,
    types: [RDS],
    check: ({ props }) => (isPrimary(props) && props["multiAz"] !== true ? "multiAz is off" : undefined),
  }),
  resourceRule({
    name: "CKV_AWS_293-rds-deletion-protection",
    description: "Production databases refuse deletion, and leave a final snapshot if forced.",
    enforcement: "mandatory",
    productionOnly: true,
    types: [RDS],
    check: ({ props }) => [
      ...(props["deletionProtection"] === true ? [] : ["deletionProtection is off"]),
      ...(isPrimary(props) && props["skipFinalSnapshot"] === true ? ["skipFinalSnapshot is on"] : []),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_129-rds-logs-exported",
    description: "PostgreSQL logs are exported to CloudWatch Logs.",
    enforcement: "advisory",
    types: [RDS],
    check: ({ props }) =>
      ((props["enabledCloudwatchLogsExports"] as string[] | undefined) ?? []).includes("postgresql")
        ? undefined
        : "postgresql log export is off",
  }),
  resourceRule({
    name: "CKV_AWS_353-rds-performance-insights",
    description: "Production databases record Performance Insights, encrypted.",
    enforcement: "advisory",
    productionOnly: true,
    types: [RDS],
    check: ({ props }) => (props["performanceInsightsEnabled"] === true ? undefined : "Performance Insights is off"),
  }),
  resourceRule({
    name: "CKV_AWS_29-elasticache-encrypted-at-rest",
    description: "Redis data is encrypted at rest with the platform's KMS key (CKV_AWS_191).",
    enforcement: "mandatory",
    types: [REDIS],
    check: ({ props }) => [
      ...(props["atRestEncryptionEnabled"] === true || props["atRestEncryptionEnabled"] === "true"
        ? []
        : ["atRestEncryptionEnabled is off"]),
      ...(typeof props["kmsKeyId"] === "string" && props["kmsKeyId"] !== "" ? [] : ["no customer-managed kmsKeyId"]),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_30-elasticache-encrypted-in-transit",
    description: "Redis requires TLS.",
    enforcement: "mandatory",
    types: [REDIS],
    check: ({ props }) => [
      ...(props["transitEncryptionEnabled"] === true ? [] : ["transitEncryptionEnabled is off"]),
      ...(props["transitEncryptionMode"] === "preferred"
        ? ["transitEncryptionMode is preferred: plain connections are still accepted"]
        : []),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_31-elasticache-auth-token",
    description: "Redis requires an AUTH token.",
    enforcement: "mandatory",
    types: [REDIS],
    check: ({ props }) => (props["authToken"] ? undefined : "no authToken"),
  }),
  resourceRule({
    name: "CKV_AWS_134-elasticache-snapshots",
    description: "Redis snapshots are kept 7 days (§7.1).",
    enforcement: "mandatory",
    types: [REDIS],
    check: ({ props }) => {
      const days = Number(props["snapshotRetentionLimit"] ?? 0);
      return days >= 7 ? undefined : `snapshotRetentionLimit ${days} < 7 days`;
    },
  }),
  resourceRule({
    name: "paimon-elasticache-noeviction",
    description: "Redis holds the job queues: it must refuse writes when full, never evict keys.",
    enforcement: "mandatory",
    types: ["aws:elasticache/parameterGroup:ParameterGroup"],
    check: ({ props }) =>
      parameter(props, "maxmemory-policy") === "noeviction" ? undefined : "maxmemory-policy is not noeviction",
  }),
  resourceRule({
    name: "paimon-elasticache-failover",
    description: "Production Redis fails over automatically to a replica in another AZ.",
    enforcement: "mandatory",
    productionOnly: true,
    types: [REDIS],
    check: ({ props }) => [
      ...(props["automaticFailoverEnabled"] === true ? [] : ["automaticFailoverEnabled is off"]),
      ...(props["multiAzEnabled"] === true ? [] : ["multiAzEnabled is off"]),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_149-secrets-manager-kms",
    description: "Secrets are encrypted with the platform's KMS key, not the AWS-managed one.",
    enforcement: "mandatory",
    types: ["aws:secretsmanager/secret:Secret"],
    check: ({ props }) =>
      typeof props["kmsKeyId"] === "string" && props["kmsKeyId"] !== "" ? undefined : "no kmsKeyId",
  }),
  resourceRule({
    name: "CKV_AWS_5-opensearch-encrypted-at-rest",
    description: "The log domain is encrypted at rest with the platform's key.",
    enforcement: "mandatory",
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) => (get(props, "encryptAtRest", "enabled") === true ? undefined : "encryptAtRest is off"),
  }),
  resourceRule({
    name: "CKV_AWS_6-opensearch-node-to-node-encryption",
    description: "The log domain encrypts traffic between its nodes.",
    enforcement: "mandatory",
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) =>
      get(props, "nodeToNodeEncryption", "enabled") === true ? undefined : "nodeToNodeEncryption is off",
  }),
  resourceRule({
    name: "CKV_AWS_83-opensearch-https-only",
    description: "The log domain accepts HTTPS only, TLS 1.2 or newer (CKV_AWS_228).",
    enforcement: "mandatory",
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) => [
      ...(get(props, "domainEndpointOptions", "enforceHttps") === true ? [] : ["enforceHttps is off"]),
      ...(text(get(props, "domainEndpointOptions", "tlsSecurityPolicy")).includes("TLS-1-2")
        ? []
        : ["TLS policy admits TLS 1.0"]),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_137-opensearch-in-vpc",
    description: "The log domain lives inside the VPC.",
    enforcement: "mandatory",
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) =>
      ((get(props, "vpcOptions", "subnetIds") as unknown[] | undefined) ?? []).length > 0
        ? undefined
        : "no vpcOptions: the domain has a public endpoint",
  }),
  resourceRule({
    name: "CKV2_AWS_52-opensearch-fine-grained-access",
    description: "The log domain authenticates every request (fine-grained access control, no anonymous access).",
    enforcement: "mandatory",
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) => [
      ...(get(props, "advancedSecurityOptions", "enabled") === true ? [] : ["fine-grained access control is off"]),
      ...(get(props, "advancedSecurityOptions", "anonymousAuthEnabled") === true ? ["anonymous access is on"] : []),
    ],
  }),
  resourceRule({
    name: "CKV_AWS_317-opensearch-audit-logs",
    description: "The log domain publishes its audit log.",
    enforcement: "advisory",
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) =>
      ((props["logPublishingOptions"] as Record<string, unknown>[] | undefined) ?? []).some(
        (o) => o["logType"] === "AUDIT_LOGS" && o["enabled"] !== false,
      )
        ? undefined
        : "audit log is not published",
  }),
  resourceRule({
    name: "CKV_AWS_318-opensearch-highly-available",
    description: "In production the log domain spans three AZs with dedicated masters.",
    enforcement: "mandatory",
    productionOnly: true,
    types: ["aws:opensearch/domain:Domain"],
    check: ({ props }) => [
      ...(get(props, "clusterConfig", "zoneAwarenessEnabled") === true &&
      get(props, "clusterConfig", "zoneAwarenessConfig", "availabilityZoneCount") === 3
        ? []
        : ["not spread over three AZs"]),
      ...(get(props, "clusterConfig", "dedicatedMasterEnabled") === true ? [] : ["no dedicated masters"]),
    ],
  }),
];
