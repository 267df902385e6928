import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../planner/policy";
import { policies, wiringRules } from "./policies";
import { manifest, resource, urnOf, type Case } from "./testing";

const VPC = "aws:ec2/vpc:Vpc";
const BUCKET = "aws:s3/bucket:Bucket";
const RDS = "aws:rds/instance:Instance";
const REDIS = "aws:elasticache/replicationGroup:ReplicationGroup";
const DOMAIN = "aws:opensearch/domain:Domain";
const CDN = "aws:cloudfront/distribution:Distribution";
const ACL = "aws:wafv2/webAcl:WebAcl";
const KEY = "aws:kms/key:Key";
const EKS = "aws:eks/cluster:Cluster";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

const vpc = resource(VPC, "vpc", { cidrBlock: "10.0.0.0/16" });
const onVpc = { dependsOn: { vpcId: [urnOf(VPC, "vpc")] } };
const bucket = resource(BUCKET, "bucket", { bucket: "b", forceDestroy: false });
const onBucket = { dependsOn: { bucket: [urnOf(BUCKET, "bucket")] } };
const doc = (...Statement: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement });

const goodRds = {
  storageEncrypted: true,
  kmsKeyId: "arn:key",
  publiclyAccessible: false,
  backupRetentionPeriod: 30,
  multiAz: true,
  deletionProtection: true,
  skipFinalSnapshot: false,
  enabledCloudwatchLogsExports: ["postgresql"],
  performanceInsightsEnabled: true,
};
const goodRedis = {
  atRestEncryptionEnabled: true,
  kmsKeyId: "arn:key",
  transitEncryptionEnabled: true,
  transitEncryptionMode: "required",
  authToken: "token",
  snapshotRetentionLimit: 7,
  automaticFailoverEnabled: true,
  multiAzEnabled: true,
};
const goodDomain = {
  encryptAtRest: { enabled: true },
  nodeToNodeEncryption: { enabled: true },
  domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" },
  vpcOptions: { subnetIds: ["s"] },
  advancedSecurityOptions: { enabled: true, anonymousAuthEnabled: false },
  logPublishingOptions: [{ logType: "AUDIT_LOGS", enabled: true }],
  clusterConfig: {
    zoneAwarenessEnabled: true,
    zoneAwarenessConfig: { availabilityZoneCount: 3 },
    dedicatedMasterEnabled: true,
  },
};
const goodCdn = {
  viewerCertificate: { acmCertificateArn: "arn:cert", minimumProtocolVersion: "TLSv1.2_2021" },
  defaultCacheBehavior: { viewerProtocolPolicy: "https-only" },
  webAclId: "arn:acl",
  origins: [
    { originId: "api", customOriginConfig: { originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"] } },
  ],
};
const goodAcl = {
  rules: [
    { statement: { rateBasedStatement: { limit: 2000 } } },
    { statement: { managedRuleGroupStatement: { name: "AWSManagedRulesKnownBadInputsRuleSet", vendorName: "AWS" } } },
  ],
};
const goodTemplate = {
  metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
  blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
};
const goodEks = {
  vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] },
  encryptionConfig: { resources: ["secrets"], provider: { keyArn: "arn:key" } },
  enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
  deletionProtection: true,
};
const blockAll = {
  blockPublicAcls: true,
  blockPublicPolicy: true,
  ignorePublicAcls: true,
  restrictPublicBuckets: true,
};
const with_ = <T extends object>(base: T, change: Partial<Record<keyof T | string, unknown>>) => ({
  ...base,
  ...change,
});

/**
 * For every rule in the pack but the wiring rules (whose counterexamples are in the tests beside
 * their rule files, rules/*.test.ts): a stack that breaks it and one that does not.
 */
const hardened = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 1001,
  seccompProfile: { type: "RuntimeDefault" },
};
const deployment = (pod: Record<string, unknown> = {}, context: Record<string, unknown> = {}) =>
  manifest({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace: "paimon" },
    spec: {
      template: {
        spec: {
          ...pod,
          containers: [
            {
              name: "api",
              image: "ghcr.io/paimon-fund/paimon@sha256:" + "ab".repeat(32),
              securityContext: { ...hardened, ...context },
              resources: { limits: { cpu: "1", memory: "1Gi" } },
            },
          ],
        },
      },
    },
  });
const rolePolicy = (name: string, role: string, ...statements: unknown[]) =>
  resource(
    "aws:iam/rolePolicy:RolePolicy",
    name,
    { policy: doc(...statements) },
    { dependsOn: { role: [urnOf("aws:iam/role:Role", role)] } },
  );
const signingKey = (...statements: unknown[]) =>
  resource(KEY, "keys-operator-signing", { keyUsage: "SIGN_VERIFY", policy: doc(...statements) });
const replicaKey = (...statements: unknown[]) =>
  resource("aws:kms/replicaKey:ReplicaKey", "keys-operator-signing-replica", { policy: doc(...statements) });
const worker = "<role:roles-rebalanceWorker-role.arn>";

const CASES: Readonly<Record<string, Case>> = {
  "CKV_K8S_16-k8s-no-privileged": {
    failing: [deployment({}, { privileged: true })],
    passing: [deployment()],
  },
  "CKV_K8S_17-k8s-no-host-namespaces": {
    failing: [deployment({ hostNetwork: true })],
    passing: [deployment({ hostNetwork: false })],
  },
  "CKV_K8S_23-k8s-restricted-pod-security": {
    failing: [deployment({}, { runAsUser: 0, runAsNonRoot: false })],
    passing: [deployment()],
  },
  "CKV_K8S_22-k8s-read-only-root-filesystem": {
    failing: [deployment({}, { readOnlyRootFilesystem: false })],
    passing: [deployment()],
  },
  "CKV_K8S_11-k8s-resource-limits": {
    failing: [
      manifest({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "migrate", namespace: "paimon" },
        spec: { template: { spec: { containers: [{ name: "migrate", securityContext: hardened }] } } },
      }),
    ],
    passing: [deployment()],
  },
  "paimon-helm-release-pods-checked": {
    failing: [
      resource("kubernetes:helm.sh/v3:Release", "r", { chart: "unknown-operator", version: "1.0.0", values: {} }),
    ],
    passing: [
      resource("kubernetes:helm.sh/v3:Release", "r", { chart: "ingress-nginx", version: "4.11.3", values: {} }),
    ],
  },
  "CKV_AWS_286-iam-no-privilege-escalation": {
    failing: [
      rolePolicy("p", "r", { Effect: "Allow", Action: "iam:PassRole", Resource: "*" }),
      rolePolicy("q", "r", { Effect: "Allow", Action: "kms:Create*", Resource: "*" }),
      rolePolicy("s", "r", { Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }),
    ],
    passing: [
      rolePolicy("p", "r", {
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: "*",
        Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
      }),
      rolePolicy("q", "r", { Effect: "Allow", Action: "kms:CreateGrant", Resource: "arn:aws:kms:::key/data" }),
    ],
  },
  "paimon-only-rebalance-worker-signs": {
    failing: [
      signingKey(
        {
          Sid: "Admin",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::1:root" },
          Action: ["kms:Create*"],
          Resource: "*",
        },
        {
          Sid: "Other",
          Effect: "Allow",
          Principal: { AWS: "<role:roles-riskWorker-role.arn>" },
          Action: "kms:Sign",
          Resource: "*",
        },
      ),
      rolePolicy("risk", "roles-riskWorker-role", { Effect: "Allow", Action: "kms:Sign", Resource: "*" }),
      // The standby replica: the account as principal without a pin lets every role of it sign.
      replicaKey({ Sid: "Standby", Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:root" }, Action: "kms:Sign" }),
      replicaKey({
        Sid: "Standby",
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::1:root" },
        Action: "kms:Sign",
        Condition: { ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::1:role/paimon-production-dr-risk-worker"] } },
      }),
    ],
    passing: [
      signingKey(
        {
          Sid: "Admin",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::1:root" },
          Action: ["kms:DescribeKey"],
          Resource: "*",
        },
        { Sid: "Signer", Effect: "Allow", Principal: { AWS: [worker] }, Action: ["kms:Sign"], Resource: "*" },
      ),
      resource("aws:iam/role:Role", "roles-rebalanceWorker-role", { name: "paimon-test-rebalance-worker" }),
      rolePolicy("worker", "roles-rebalanceWorker-role", {
        Effect: "Allow",
        Action: "kms:Sign",
        Resource: "<key:keys-operator-signing.arn>",
      }),
      replicaKey({
        Sid: "StandbyRebalanceWorkerSigns",
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::1:root" },
        Action: ["kms:Sign", "kms:GetPublicKey"],
        Resource: "*",
        Condition: { ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::1:role/paimon-production-dr-rebalance-worker"] } },
      }),
    ],
  },
  "paimon-production-disaster-recovery": {
    failing: [],
    passing: [
      resource("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "dr", {}),
      resource("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "dr", { rules: [{ status: "Enabled" }] }),
    ],
  },
  "paimon-production-stateful-protected": {
    failing: [
      resource(RDS, "db", goodRds),
      resource("aws:secretsmanager/secret:Secret", "secrets-database-url", { name: "paimon/production/database-url" }),
      resource("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "dr-backups", {}),
    ],
    passing: [
      resource(RDS, "db", goodRds, { protect: true }),
      resource(
        "aws:secretsmanager/secret:Secret",
        "secrets-database-url",
        { name: "paimon/production/database-url" },
        { protect: true },
      ),
      resource(
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        "dr-backups",
        {},
        { protect: true },
      ),
    ],
  },
  "CKV2_AWS_11-vpc-flow-logs": {
    failing: [vpc],
    passing: [vpc, resource("aws:ec2/flowLog:FlowLog", "flow", { trafficType: "ALL" }, onVpc)],
  },
  "CKV2_AWS_12-default-security-group-closed": {
    failing: [
      vpc,
      resource(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "default",
        { ingress: [{ fromPort: 0 }], egress: [] },
        onVpc,
      ),
    ],
    passing: [
      vpc,
      resource("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", { ingress: [], egress: [] }, onVpc),
    ],
  },
  "CKV_AWS_130-subnet-no-public-ip-on-launch": {
    failing: [resource("aws:ec2/subnet:Subnet", "s", { mapPublicIpOnLaunch: true })],
    passing: [resource("aws:ec2/subnet:Subnet", "s", { mapPublicIpOnLaunch: false })],
  },
  "CKV_AWS_277-no-internet-ingress-except-edge": {
    failing: [
      resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", {
        cidrIpv4: "0.0.0.0/0",
        fromPort: 5432,
        toPort: 5432,
      }),
    ],
    passing: [
      resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", {
        cidrIpv4: "0.0.0.0/0",
        fromPort: 443,
        toPort: 443,
      }),
      resource("aws:ec2/securityGroup:SecurityGroup", "g", {
        ingress: [{ cidrBlocks: ["10.0.0.0/16"], fromPort: 0, toPort: 65535 }],
      }),
    ],
  },
  "CKV_AWS_23-security-group-rules-described": {
    failing: [
      resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", { fromPort: 443, toPort: 443 }),
    ],
    passing: [
      resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", {
        fromPort: 443,
        toPort: 443,
        description: "https",
      }),
    ],
  },
  "CKV_AWS_38-eks-public-endpoint-restricted": {
    failing: [
      resource(
        EKS,
        "c",
        with_(goodEks, { vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } }),
      ),
    ],
    passing: [
      resource(EKS, "c", goodEks),
      resource(EKS, "private", with_(goodEks, { vpcConfig: { endpointPublicAccess: false } })),
    ],
  },
  "CKV_AWS_58-eks-secrets-encrypted": {
    failing: [resource(EKS, "c", with_(goodEks, { encryptionConfig: undefined }))],
    passing: [resource(EKS, "c", goodEks)],
  },
  "CKV_AWS_37-eks-control-plane-logging": {
    failing: [resource(EKS, "c", with_(goodEks, { enabledClusterLogTypes: ["api"] }))],
    passing: [resource(EKS, "c", goodEks)],
  },
  "paimon-eks-deletion-protection": {
    failing: [resource(EKS, "c", with_(goodEks, { deletionProtection: false }))],
    passing: [resource(EKS, "c", goodEks)],
  },
  "CKV_AWS_79-imdsv2-required": {
    failing: [resource(TEMPLATE, "t", with_(goodTemplate, { metadataOptions: { httpTokens: "optional" } }))],
    passing: [resource(TEMPLATE, "t", goodTemplate)],
  },
  "CKV_AWS_341-imds-hop-limit-one": {
    failing: [
      resource(
        TEMPLATE,
        "t",
        with_(goodTemplate, { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } }),
      ),
    ],
    passing: [resource(TEMPLATE, "t", goodTemplate)],
  },
  "CKV_AWS_8-launch-template-volumes-encrypted": {
    failing: [
      resource(
        TEMPLATE,
        "t",
        with_(goodTemplate, { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }] }),
      ),
    ],
    passing: [resource(TEMPLATE, "t", goodTemplate)],
  },
  "paimon-eks-node-group-launch-template": {
    failing: [resource("aws:eks/nodeGroup:NodeGroup", "n", { clusterName: "c" })],
    passing: [resource("aws:eks/nodeGroup:NodeGroup", "n", { launchTemplate: { id: "lt-1", version: "1" } })],
  },
  "CKV_AWS_16-rds-storage-encrypted": {
    failing: [resource(RDS, "db", with_(goodRds, { storageEncrypted: false }))],
    passing: [resource(RDS, "db", goodRds)],
  },
  "CKV_AWS_17-rds-not-public": {
    failing: [resource(RDS, "db", with_(goodRds, { publiclyAccessible: true }))],
    passing: [resource(RDS, "db", goodRds)],
  },
  "CKV2_AWS_69-rds-tls-enforced": {
    failing: [resource("aws:rds/parameterGroup:ParameterGroup", "p", { family: "postgres16", parameters: [] })],
    passing: [
      resource("aws:rds/parameterGroup:ParameterGroup", "p", {
        family: "postgres16",
        parameters: [{ name: "rds.force_ssl", value: "1" }],
      }),
    ],
  },
  "CKV_AWS_133-rds-backup-retention": {
    failing: [resource(RDS, "db", with_(goodRds, { backupRetentionPeriod: 7 }))],
    passing: [
      resource(RDS, "db", goodRds),
      resource(RDS, "replica", with_(goodRds, { replicateSourceDb: "db", backupRetentionPeriod: 0 })),
    ],
  },
  "CKV_AWS_157-rds-multi-az": {
    failing: [resource(RDS, "db", with_(goodRds, { multiAz: false }))],
    passing: [resource(RDS, "db", goodRds)],
  },
  "CKV_AWS_293-rds-deletion-protection": {
    failing: [resource(RDS, "db", with_(goodRds, { skipFinalSnapshot: true }))],
    passing: [resource(RDS, "db", goodRds)],
  },
  "CKV_AWS_129-rds-logs-exported": {
    failing: [resource(RDS, "db", with_(goodRds, { enabledCloudwatchLogsExports: [] }))],
    passing: [resource(RDS, "db", goodRds)],
  },
  "CKV_AWS_353-rds-performance-insights": {
    failing: [resource(RDS, "db", with_(goodRds, { performanceInsightsEnabled: false }))],
    passing: [resource(RDS, "db", goodRds)],
  },
  "CKV_AWS_29-elasticache-encrypted-at-rest": {
    failing: [resource(REDIS, "r", with_(goodRedis, { kmsKeyId: undefined }))],
    passing: [resource(REDIS, "r", goodRedis)],
  },
  "CKV_AWS_30-elasticache-encrypted-in-transit": {
    failing: [resource(REDIS, "r", with_(goodRedis, { transitEncryptionMode: "preferred" }))],
    passing: [resource(REDIS, "r", goodRedis)],
  },
  "CKV_AWS_31-elasticache-auth-token": {
    failing: [resource(REDIS, "r", with_(goodRedis, { authToken: undefined }))],
    passing: [resource(REDIS, "r", goodRedis)],
  },
  "CKV_AWS_134-elasticache-snapshots": {
    failing: [resource(REDIS, "r", with_(goodRedis, { snapshotRetentionLimit: 1 }))],
    passing: [resource(REDIS, "r", goodRedis)],
  },
  "paimon-elasticache-noeviction": {
    failing: [
      resource("aws:elasticache/parameterGroup:ParameterGroup", "p", {
        parameters: [{ name: "maxmemory-policy", value: "allkeys-lru" }],
      }),
    ],
    passing: [
      resource("aws:elasticache/parameterGroup:ParameterGroup", "p", {
        parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
      }),
    ],
  },
  "paimon-elasticache-failover": {
    failing: [resource(REDIS, "r", with_(goodRedis, { multiAzEnabled: false }))],
    passing: [resource(REDIS, "r", goodRedis)],
  },
  "CKV_AWS_149-secrets-manager-kms": {
    failing: [resource("aws:secretsmanager/secret:Secret", "s", { name: "x" })],
    passing: [resource("aws:secretsmanager/secret:Secret", "s", { name: "x", kmsKeyId: "arn:key" })],
  },
  "CKV_AWS_5-opensearch-encrypted-at-rest": {
    failing: [resource(DOMAIN, "d", with_(goodDomain, { encryptAtRest: { enabled: false } }))],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV_AWS_6-opensearch-node-to-node-encryption": {
    failing: [resource(DOMAIN, "d", with_(goodDomain, { nodeToNodeEncryption: { enabled: false } }))],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV_AWS_83-opensearch-https-only": {
    failing: [
      resource(
        DOMAIN,
        "d",
        with_(goodDomain, {
          domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-0-2019-07" },
        }),
      ),
    ],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV_AWS_137-opensearch-in-vpc": {
    failing: [resource(DOMAIN, "d", with_(goodDomain, { vpcOptions: undefined }))],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV2_AWS_52-opensearch-fine-grained-access": {
    failing: [
      resource(
        DOMAIN,
        "d",
        with_(goodDomain, { advancedSecurityOptions: { enabled: true, anonymousAuthEnabled: true } }),
      ),
    ],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV_AWS_317-opensearch-audit-logs": {
    failing: [resource(DOMAIN, "d", with_(goodDomain, { logPublishingOptions: [] }))],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV_AWS_318-opensearch-highly-available": {
    failing: [resource(DOMAIN, "d", with_(goodDomain, { clusterConfig: { zoneAwarenessEnabled: false } }))],
    passing: [resource(DOMAIN, "d", goodDomain)],
  },
  "CKV_AWS_53-s3-public-access-blocked": {
    failing: [
      resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "b",
        with_(blockAll, { restrictPublicBuckets: false }),
      ),
    ],
    passing: [resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "b", blockAll)],
  },
  "CKV2_AWS_6-s3-bucket-public-access-block": {
    failing: [bucket],
    passing: [bucket, resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "block", blockAll, onBucket)],
  },
  "CKV_AWS_145-s3-kms-encryption": {
    failing: [
      bucket,
      resource(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "sse",
        { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        onBucket,
      ),
    ],
    passing: [
      bucket,
      resource(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "sse",
        { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:key" } }] },
        onBucket,
      ),
    ],
  },
  "CKV_AWS_21-s3-versioning": {
    failing: [
      bucket,
      resource(
        "aws:s3/bucketVersioning:BucketVersioning",
        "v",
        { versioningConfiguration: { status: "Suspended" } },
        onBucket,
      ),
    ],
    passing: [
      bucket,
      resource(
        "aws:s3/bucketVersioning:BucketVersioning",
        "v",
        { versioningConfiguration: { status: "Enabled" } },
        onBucket,
      ),
    ],
  },
  "CKV2_AWS_61-s3-lifecycle": {
    failing: [bucket],
    passing: [
      bucket,
      resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "l", { rules: [] }, onBucket),
    ],
  },
  "paimon-s3-tls-only": {
    failing: [bucket, resource("aws:s3/bucketPolicy:BucketPolicy", "p", { policy: doc() }, onBucket)],
    passing: [
      bucket,
      resource(
        "aws:s3/bucketPolicy:BucketPolicy",
        "p",
        {
          policy: doc({
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: "*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        },
        onBucket,
      ),
    ],
  },
  "paimon-s3-policy-no-public-grant": {
    failing: [
      resource("aws:s3/bucketPolicy:BucketPolicy", "p", {
        policy: doc({ Sid: "Open", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }),
      }),
    ],
    passing: [
      resource("aws:s3/bucketPolicy:BucketPolicy", "p", {
        policy: doc({ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*" }),
      }),
    ],
  },
  "paimon-s3-backups-kept": {
    failing: [resource(BUCKET, "b", { forceDestroy: true })],
    passing: [bucket],
  },
  "CKV_AWS_7-kms-rotation": {
    failing: [resource(KEY, "keys-data", { enableKeyRotation: false })],
    passing: [
      resource(KEY, "keys-data", { enableKeyRotation: true }),
      resource(KEY, "keys-operator-signing", { enableKeyRotation: false }),
    ],
  },
  "CKV_AWS_33-kms-no-public-principal": {
    failing: [
      resource(KEY, "k", {
        policy: doc({ Sid: "Open", Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" }),
      }),
    ],
    passing: [
      resource(KEY, "k", {
        policy: doc({ Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:ScheduleKeyDeletion", Resource: "*" }),
      }),
    ],
  },
  "paimon-kms-signing-key-protected": {
    failing: [resource(KEY, "signing", { keyUsage: "SIGN_VERIFY", deletionWindowInDays: 7 })],
    passing: [resource(KEY, "signing", { keyUsage: "SIGN_VERIFY", deletionWindowInDays: 30 }, { protect: true })],
  },
  "CKV_AWS_355-iam-no-wildcard-on-everything": {
    failing: [
      resource("aws:iam/rolePolicy:RolePolicy", "p", {
        policy: doc({ Effect: "Allow", Action: "s3:*", Resource: "*" }),
      }),
    ],
    passing: [
      resource("aws:iam/rolePolicy:RolePolicy", "p", {
        policy: doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/*" }),
      }),
    ],
  },
  "CKV_AWS_61-iam-trust-not-public": {
    failing: [
      resource("aws:iam/role:Role", "r", {
        assumeRolePolicy: doc({
          Effect: "Allow",
          Principal: { Federated: "arn:oidc" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "oidc:aud": "sts.amazonaws.com" } },
        }),
      }),
    ],
    passing: [
      resource("aws:iam/role:Role", "r", {
        assumeRolePolicy: doc({
          Effect: "Allow",
          Principal: { Federated: "arn:oidc" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "oidc:sub": "system:serviceaccount:a:b" } },
        }),
      }),
    ],
  },
  "CKV_AWS_274-no-administrator-access": {
    failing: [
      resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
        policyArn: "arn:aws:iam::aws:policy/AdministratorAccess",
      }),
    ],
    passing: [
      resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
        policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
      }),
    ],
  },
  "CKV_AWS_174-cloudfront-tls12": {
    failing: [resource(CDN, "cdn", with_(goodCdn, { viewerCertificate: { cloudfrontDefaultCertificate: true } }))],
    passing: [resource(CDN, "cdn", goodCdn)],
  },
  "CKV_AWS_34-cloudfront-https-only": {
    failing: [resource(CDN, "cdn", with_(goodCdn, { defaultCacheBehavior: { viewerProtocolPolicy: "allow-all" } }))],
    passing: [resource(CDN, "cdn", goodCdn)],
  },
  "CKV_AWS_68-cloudfront-waf": {
    failing: [resource(CDN, "cdn", with_(goodCdn, { webAclId: undefined }))],
    passing: [resource(CDN, "cdn", goodCdn)],
  },
  "paimon-cloudfront-origin-tls12": {
    failing: [
      resource(
        CDN,
        "cdn",
        with_(goodCdn, {
          origins: [
            {
              originId: "api",
              customOriginConfig: { originProtocolPolicy: "http-only", originSslProtocols: ["TLSv1"] },
            },
          ],
        }),
      ),
    ],
    passing: [resource(CDN, "cdn", goodCdn)],
  },
  "CKV_AWS_192-waf-known-bad-inputs": {
    failing: [resource(ACL, "acl", { rules: [goodAcl.rules[0]] })],
    passing: [resource(ACL, "acl", goodAcl)],
  },
  "paimon-waf-rate-limit": {
    failing: [resource(ACL, "acl", { rules: [goodAcl.rules[1]] })],
    passing: [resource(ACL, "acl", goodAcl)],
  },
  "CKV2_AWS_31-waf-logging": {
    failing: [resource(ACL, "acl", goodAcl)],
    passing: [
      resource(ACL, "acl", goodAcl),
      resource(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "log",
        {},
        { dependsOn: { resourceArn: [urnOf(ACL, "acl")] } },
      ),
    ],
  },
  "CKV_AWS_158-log-group-kms": {
    failing: [resource("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 365 })],
    passing: [
      resource("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 365, kmsKeyId: "arn:key" }),
      resource("aws:cloudwatch/logGroup:LogGroup", "edge-waf-logs", { retentionInDays: 365 }),
    ],
  },
  "CKV_AWS_338-log-retention": {
    failing: [resource("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 30 })],
    passing: [resource("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: 365 })],
  },
};

const named = (name: string) => {
  const policy = policies.find((candidate) => candidate.name === name);
  if (!policy) throw new Error(`no policy ${name}`);
  return policy;
};

describe("the policy pack", () => {
  it("then it has at least 25 rules, each with a case below, each named after its Checkov check or as paimon's own", () => {
    expect(policies.length).toBeGreaterThanOrEqual(25);
    expect(
      policies
        .filter((policy) => !wiringRules.includes(policy))
        .map((policy) => policy.name)
        .sort(),
    ).toEqual(Object.keys(CASES).sort());
    for (const policy of policies) expect(policy.name).toMatch(/^(CKV2?_(AWS|K8S)_\d+|paimon)-[a-z0-9-]+$/);
  });

  it.each(Object.entries(CASES))(
    "when %s meets a resource that breaks it, then it fires; on one that does not, it stays quiet",
    (name, testCase) => {
      const config = { environment: testCase.environment ?? "production" } as const;
      const fired = evaluatePolicies([named(name)], testCase.failing, config);
      expect(fired.length).toBeGreaterThan(0);
      expect(fired.every((violation) => violation.policy === name)).toBe(true);
      expect(evaluatePolicies([named(name)], testCase.passing, config)).toEqual([]);
    },
  );

  it("when the standby replica lets the account sign unpinned, or pins another role, then each is a signer finding", () => {
    const rule = [named("paimon-only-rebalance-worker-signs")];
    const config = { environment: "production" } as const;
    const root = { AWS: "arn:aws:iam::1:root" };
    const unpinned = replicaKey({ Sid: "Standby", Effect: "Allow", Principal: root, Action: "kms:Sign" });
    const other = replicaKey({
      Sid: "Standby",
      Effect: "Allow",
      Principal: root,
      Action: "kms:Sign",
      Condition: { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::1:role/paimon-production-dr-risk-worker" } },
    });
    expect(evaluatePolicies(rule, [unpinned], config).map((v) => v.message)).toEqual([
      expect.stringContaining("lets arn:aws:iam::1:root sign"),
    ]);
    expect(evaluatePolicies(rule, [other], config).map((v) => v.message)).toEqual([
      expect.stringContaining("lets arn:aws:iam::1:role/paimon-production-dr-risk-worker sign"),
    ]);
  });

  it("when a production stack is the standby (its database restored from replicated backups), then it needs no DR of its own", () => {
    const rule = [named("paimon-production-disaster-recovery")];
    const config = { environment: "production" } as const;
    const standby = resource(RDS, "db", {
      ...goodRds,
      restoreToPointInTime: { sourceDbInstanceAutomatedBackupsArn: "arn:aws:rds:ap-northeast-1:1:auto-backup:ab-x" },
    });
    expect(evaluatePolicies(rule, [standby], config)).toEqual([]);
    expect(evaluatePolicies(rule, [resource(RDS, "db", goodRds)], config)).toHaveLength(2);
  });

  it("when a stack is staging, then production-only rules stay quiet", () => {
    const single = [
      resource(RDS, "db", with_(goodRds, { multiAz: false, deletionProtection: false, backupRetentionPeriod: 7 })),
    ];
    expect(
      evaluatePolicies(policies, single, { environment: "staging" }).filter((v) => v.enforcement === "mandatory"),
    ).toEqual([]);
    expect(evaluatePolicies(policies, single, { environment: "production" }).map((v) => v.policy)).toEqual(
      expect.arrayContaining([
        "CKV_AWS_157-rds-multi-az",
        "CKV_AWS_293-rds-deletion-protection",
        "CKV_AWS_133-rds-backup-retention",
        "paimon-production-stateful-protected",
      ]),
    );
  });

  it("when a production stateful resource is not protected, then the violation is mandatory: the plan is refused", () => {
    const found = evaluatePolicies([named("paimon-production-stateful-protected")], [resource(REDIS, "r", goodRedis)], {
      environment: "production",
    });
    expect(found).toEqual([expect.objectContaining({ enforcement: "mandatory", severity: "high", name: "r" })]);
  });

  it("then the signing key's exemption from rotation is by name and says why", () => {
    const rotation = named("CKV_AWS_7-kms-rotation") as { exemptions?: Record<string, string> };
    expect(rotation.exemptions?.["keys-operator-signing"]).toMatch(/cannot rotate.*operator address/);
  });
});
