import type { Json } from "./snapshot";

/**
 * What an auditor reads first. Each category is a question a reviewer asks of any change:
 * who may do what (IAM), what can be reached (network, public access), is data protected
 * (encryption, deletion protection, retention), and can we see what happened (logging).
 */
export const SECURITY_CATEGORIES = {
  iam: "IAM and resource policies",
  "kms-key-policy": "KMS key policies",
  "network-exposure": "Network ingress and exposure",
  "public-access": "Public access",
  encryption: "Encryption",
  "deletion-protection": "Deletion protection",
  "backup-retention": "Backup and log retention",
  logging: "Audit logging",
  tls: "TLS and ciphers",
  waf: "Web application firewall",
  "pod-security": "Kubernetes pod security",
  secrets: "Secrets",
  replacement: "Stateful resources replaced or deleted",
} as const;
export type SecurityCategory = keyof typeof SECURITY_CATEGORIES;

/** How a change moves a setting: towards safety, away from it, or neither that we can tell. */
export type Direction = "weakened" | "strengthened" | "changed";

/** A leaf property path: `policy.@json.Statement[Sid=DenyInsecureTransport].Effect`. */
export type PropertyPath = string;

interface Rule {
  readonly category: SecurityCategory;
  /** Resource types the rule applies to (prefix match on the type token); all when absent. */
  readonly types?: readonly string[];
  /** Property paths the rule applies to; all paths of matching types when absent. */
  readonly path?: RegExp;
}

const leaf = (...names: string[]) => new RegExp(`(^|\\.)(${names.join("|")})(\\[|\\.|$)`);

const RULES: readonly Rule[] = [
  { category: "kms-key-policy", types: ["aws:kms/key:Key", "aws:kms/keyPolicy:"], path: /^(policy)(\.|$)/ },
  { category: "kms-key-policy", types: ["aws:kms/grant:"] },
  { category: "iam", types: ["aws:iam/"] },
  { category: "iam", path: /^(policy|assumeRolePolicy|inlinePolicies|managedPolicyArns|accessPolicies)(\.|\[|$)/ },
  // Who administers a search domain's fine-grained access control.
  { category: "iam", types: ["aws:opensearch/domain:Domain"], path: leaf("masterUserOptions") },
  {
    category: "network-exposure",
    types: [
      "aws:ec2/securityGroup:",
      "aws:ec2/securityGroupRule:",
      "aws:vpc/securityGroupIngressRule:",
      "aws:vpc/securityGroupEgressRule:",
      "aws:ec2/defaultSecurityGroup:",
      "aws:ec2/networkAcl",
      "aws:ec2/defaultNetworkAcl:",
      "aws:ec2/internetGateway:",
      "aws:ec2/eip:",
      "aws:lb/listener:",
    ],
  },
  {
    category: "network-exposure",
    types: ["aws:ec2/route:"],
    path: leaf("destinationCidrBlock", "gatewayId", "destinationIpv6CidrBlock"),
  },
  {
    category: "network-exposure",
    path: leaf(
      "mapPublicIpOnLaunch",
      "associatePublicIpAddress",
      "endpointPublicAccess",
      "publicAccessCidrs",
      "ingress",
      "cidrBlocks",
      "ipv6CidrBlocks",
      "internal",
    ),
  },
  {
    category: "public-access",
    types: [
      "aws:s3/bucketPublicAccessBlock:",
      "aws:s3/accountPublicAccessBlock:",
      "aws:s3/bucketAcl",
      "aws:s3/bucketOwnershipControls:",
    ],
  },
  { category: "public-access", path: leaf("publiclyAccessible", "acl") },
  { category: "encryption", types: ["aws:s3/bucketServerSideEncryptionConfiguration"] },
  {
    category: "encryption",
    path: leaf(
      "kmsKeyId",
      "kmsKeyArn",
      "kmsMasterKeyId",
      "sseAlgorithm",
      "storageEncrypted",
      "encrypted",
      "atRestEncryptionEnabled",
      "transitEncryptionEnabled",
      "encryptionConfig",
      "encryptAtRest",
      "nodeToNodeEncryption",
      "enforceHttps",
      "tlsSecurityPolicy",
      "minimumProtocolVersion",
      "sslPolicy",
      "bucketKeyEnabled",
      "enableKeyRotation",
      "rotationPeriodInDays",
      "customerMasterKeySpec",
      "keyUsage",
      "viewerProtocolPolicy",
      "originProtocolPolicy",
    ),
  },
  {
    category: "deletion-protection",
    path: /^(options\.(protect|retainOnDelete))$|(^|\.)(deletionProtection|deletionWindowInDays|forceDestroy|skipFinalSnapshot|finalSnapshotIdentifier|mfaDelete)(\.|$)/,
  },
  { category: "deletion-protection", types: ["aws:s3/bucketVersioning"] },
  { category: "backup-retention", types: ["aws:s3/bucketLifecycleConfiguration"] },
  {
    category: "backup-retention",
    path: leaf(
      "backupRetentionPeriod",
      "snapshotRetentionLimit",
      "retentionInDays",
      "recoveryWindowInDays",
      "retentionPeriod",
    ),
  },
  { category: "logging", types: ["aws:ec2/flowLog:", "aws:cloudtrail/", "aws:s3/bucketLogging"] },
  {
    category: "logging",
    path: leaf(
      "enabledClusterLogTypes",
      "logPublishingOptions",
      "enabledCloudwatchLogsExports",
      "loggingConfig",
      "logDeliveryConfigurations",
    ),
  },
];

/** The categories a change to `path` of a `type` resource belongs to. */
export function categorize(type: string, path: PropertyPath): SecurityCategory[] {
  // Tags label resources; they grant and protect nothing.
  if (/^(tags|tagsAll)(\.|$)/.test(path)) return [];
  const found = new Set<SecurityCategory>();
  for (const rule of RULES) {
    if (rule.types && !rule.types.some((prefix) => type.startsWith(prefix))) continue;
    if (rule.path && !rule.path.test(path)) continue;
    found.add(rule.category);
  }
  // A key's policy is reported once, as a key policy.
  if (found.has("kms-key-policy")) found.delete("iam");
  return [...found];
}

/** Settings where `true` is the safe value. */
const SAFE_WHEN_TRUE = leaf(
  "storageEncrypted",
  "encrypted",
  "atRestEncryptionEnabled",
  "transitEncryptionEnabled",
  "enableKeyRotation",
  "bucketKeyEnabled",
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
  "deletionProtection",
  "enforceHttps",
  "protect",
  "retainOnDelete",
);
/** Settings where `false` is the safe value. */
const SAFE_WHEN_FALSE = leaf(
  "forceDestroy",
  "skipFinalSnapshot",
  "mapPublicIpOnLaunch",
  "associatePublicIpAddress",
  "publiclyAccessible",
  "endpointPublicAccess",
);
/** Numbers where more is safer: retention and waiting periods. */
const MORE_IS_SAFER = leaf(
  "days",
  "noncurrentDays",
  "backupRetentionPeriod",
  "snapshotRetentionLimit",
  "retentionInDays",
  "recoveryWindowInDays",
  "deletionWindowInDays",
  "retentionPeriod",
);
const OPEN_TO_THE_INTERNET = new Set(["0.0.0.0/0", "::/0"]);

/** Whether a leaf change makes the platform less safe, more safe, or neither we can tell. */
export function directionOf(path: PropertyPath, before: Json | undefined, after: Json | undefined): Direction {
  if (
    typeof after === "string" &&
    OPEN_TO_THE_INTERNET.has(after) &&
    /ingress|cidrBlocks|publicAccessCidrs/i.test(path)
  ) {
    return "weakened";
  }
  if (typeof before === "string" && OPEN_TO_THE_INTERNET.has(before) && after === undefined) return "strengthened";
  if (/versioningConfiguration\.status$/.test(path)) {
    if (before === "Enabled" && after !== "Enabled") return "weakened";
    if (after === "Enabled") return "strengthened";
  }
  if (/(^|\.)(kmsKeyId|kmsKeyArn|kmsMasterKeyId)$/.test(path) && before !== undefined && after === undefined) {
    return "weakened";
  }
  if (/sseAlgorithm$/.test(path)) {
    if (before === "aws:kms" || before === "aws:kms:dsse")
      return after === "aws:kms:dsse" ? "strengthened" : "weakened";
  }
  if (/(^|\.)(Action|Resource|NotAction|NotResource)(\[\d+\])?$/.test(path) && after === "*") return "weakened";
  if (/(^|\.)Principal(\.AWS)?(\[\d+\])?$/.test(path) && after === "*") return "weakened";
  if (/(^|\.)Effect$/.test(path)) {
    if (before === "Deny" && after !== "Deny") return "weakened";
    if (after === "Deny") return "strengthened";
  }
  const asBoolean = (value: Json | undefined) =>
    typeof value === "boolean" ? value : value === "true" ? true : value === "false" ? false : undefined;
  if (SAFE_WHEN_TRUE.test(path) || SAFE_WHEN_FALSE.test(path)) {
    const safe = SAFE_WHEN_TRUE.test(path);
    const b = asBoolean(before);
    const a = asBoolean(after);
    if (a === !safe && b !== !safe) return "weakened";
    if (a === safe && b !== safe && b !== undefined) return "strengthened";
    if (a === undefined && b === safe) return "weakened";
  }
  if (MORE_IS_SAFER.test(path) && typeof before === "number") {
    if (typeof after !== "number") return "weakened";
    if (after < before) return "weakened";
    if (after > before) return "strengthened";
  }
  return "changed";
}
