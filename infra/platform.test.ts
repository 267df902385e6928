import { beforeAll, describe, expect, it } from "vitest";
import { planStacks, type StackPlan } from "./planner/plan";
import type { PlannedResource } from "./planner/snapshot";

/**
 * The security-critical settings of the AWS platform, per stack, read from a fresh plan of each
 * (one process per stack, as `pnpm plan` runs them).
 */
let plans: Record<string, StackPlan>;
beforeAll(async () => {
  plans = Object.fromEntries((await planStacks(["staging", "production"])).map((plan) => [plan.stack, plan]));
});

const all = (stack: string, type: string): PlannedResource[] =>
  plans[stack]!.snapshot.resources.filter((resource) => resource.type === type);
const one = (stack: string, type: string, name: string): PlannedResource => {
  const found = all(stack, type).find((resource) => resource.name === name);
  if (!found) throw new Error(`${stack} has no ${type} named ${name}`);
  return found;
};
const statements = (resource: PlannedResource, property = "policy") =>
  (resource.inputs[property] as { "@json": { Statement: Record<string, unknown>[] } })["@json"].Statement;

describe.each(["staging", "production"])("the %s platform", (stack) => {
  it("then the policy pack finds no mandatory violation", () => {
    expect(plans[stack]!.violations.filter((violation) => violation.enforcement === "mandatory")).toEqual([]);
  });

  it("then PostgreSQL 16 is private, encrypted with the data key, TLS-only, with a generated password", () => {
    const primary = one(stack, "aws:rds/instance:Instance", "database-primary");
    expect(primary.inputs).toMatchObject({
      engine: "postgres",
      publiclyAccessible: false,
      storageEncrypted: true,
      kmsKeyId: "<key:keys-data.arn>",
      password: "[secret]",
    });
    expect(primary.inputs["engineVersion"]).toMatch(/^16\./);
    const parameters = one(stack, "aws:rds/parameterGroup:ParameterGroup", "database-parameters").inputs["parameters"];
    expect(parameters).toContainEqual({ name: "rds.force_ssl", value: "1" });
    const ingress = one(
      stack,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "database-access-from-cluster",
    );
    expect(ingress.inputs).toMatchObject({
      fromPort: 5432,
      toPort: 5432,
      referencedSecurityGroupId: "<cluster:cluster-eks.clusterSecurityGroupId>",
    });
    expect(ingress.inputs["cidrIpv4"]).toBeUndefined();
  });

  it("then Redis 7 requires TLS and AUTH, is encrypted with the data key, keeps 7 days of snapshots, never evicts", () => {
    const redis = one(stack, "aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis");
    expect(redis.inputs).toMatchObject({
      transitEncryptionEnabled: true,
      transitEncryptionMode: "required",
      atRestEncryptionEnabled: true,
      kmsKeyId: "<key:keys-data.arn>",
      authToken: "[secret]",
      snapshotRetentionLimit: 7,
    });
    expect(
      one(stack, "aws:elasticache/parameterGroup:ParameterGroup", "cache-parameters").inputs["parameters"],
    ).toContainEqual({
      name: "maxmemory-policy",
      value: "noeviction",
    });
  });

  it("then EKS is private but for allow-listed ranges, encrypts secrets, logs everything, and its nodes require IMDSv2", () => {
    const cluster = one(stack, "aws:eks/cluster:Cluster", "cluster-eks");
    expect(cluster.inputs).toMatchObject({
      version: "1.31",
      vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: true },
      encryptionConfig: { provider: { keyArn: "<key:keys-data.arn>" }, resources: ["secrets"] },
      enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
    });
    const cidrs = (cluster.inputs["vpcConfig"] as { publicAccessCidrs: string[] }).publicAccessCidrs;
    expect(cidrs.length).toBeGreaterThan(0);
    expect(cidrs).not.toContain("0.0.0.0/0");
    for (const template of all(stack, "aws:ec2/launchTemplate:LaunchTemplate")) {
      expect(template.inputs).toMatchObject({
        metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
        blockDeviceMappings: [{ ebs: { encrypted: "true", volumeType: "gp3", kmsKeyId: "<key:keys-data.arn>" } }],
      });
    }
    const storageClass = one(stack, "kubernetes:storage.k8s.io/v1:StorageClass", "cluster-gp3-encrypted");
    expect(storageClass.inputs).toMatchObject({
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true", kmsKeyId: "<key:keys-data.arn>" },
      metadata: { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    });
    expect(one(stack, "kubernetes:storage.k8s.io/v1:StorageClass", "timescale-storage").inputs["reclaimPolicy"]).toBe(
      "Retain",
    );
  });

  it("then only the rebalance worker's role may sign, and that role may do nothing else", () => {
    const key = one(stack, "aws:kms/key:Key", "keys-operator-signing");
    const signers = statements(key).filter((s) => (s["Action"] as string[]).includes("kms:Sign"));
    expect(signers).toEqual([
      expect.objectContaining({ Principal: { AWS: ["<role:roles-rebalanceWorker-role.arn>"] } }),
    ]);
    const grant = one(stack, "aws:iam/rolePolicy:RolePolicy", "roles-rebalanceWorker-policy");
    expect(statements(grant)).toEqual([
      {
        Sid: "SignWithOperatorKey",
        Effect: "Allow",
        Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
        Resource: "<key:keys-operator-signing.arn>",
      },
    ]);
  });

  it("then every workload role trusts exactly one service account of this cluster", () => {
    const roles = all(stack, "aws:iam/role:Role").filter((role) =>
      JSON.stringify(role.inputs).includes("AssumeRoleWithWebIdentity"),
    );
    expect(roles.length).toBe(13);
    for (const role of roles) {
      const [trust] = statements(role, "assumeRolePolicy");
      const equals = (trust!["Condition"] as { StringEquals: Record<string, string> }).StringEquals;
      expect(equals).toEqual({
        "<cluster:cluster-eks.oidcIssuer>:sub": expect.stringMatching(
          /^system:serviceaccount:[a-z-]+:[a-z-]+$/,
        ) as string,
        "<cluster:cluster-eks.oidcIssuer>:aud": "sts.amazonaws.com",
      });
    }
  });

  it("then backup jobs may only add objects under their own prefix", () => {
    for (const [role, prefix] of [
      ["roles-postgresBackup-policy", "postgres"],
      ["roles-secretsBackup-policy", "secrets"],
      ["timescale-backup-policy", "timescaledb"],
    ] as const) {
      const write = statements(one(stack, "aws:iam/rolePolicy:RolePolicy", role)).find(
        (s) => s["Sid"] === "WriteOwnPrefix",
      );
      expect(write).toEqual({
        Sid: "WriteOwnPrefix",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: `<bucket:backups-bucket.arn>/${prefix}/*`,
      });
    }
  });

  it("then every secret lives under the stack's prefix, encrypted with the data key, and none holds a value in the plan", () => {
    const secrets = all(stack, "aws:secretsmanager/secret:Secret");
    expect(secrets.map((secret) => secret.inputs["name"]).sort()).toEqual(
      [
        "bsc-rpc-url",
        "bsc-ws-url",
        "database-url",
        "jwt-secret",
        "kms-key-id",
        "metrics-database-url",
        "origin-verify",
        "pagerduty-key",
        "redis-url",
        "slack-webhook-url",
        "smtp-password",
        "timescaledb-password",
      ].map((name) => `paimon/${stack}/${name}`),
    );
    expect(secrets.every((secret) => secret.inputs["kmsKeyId"] === "<key:keys-data.arn>")).toBe(true);
    for (const version of all(stack, "aws:secretsmanager/secretVersion:SecretVersion")) {
      expect(version.inputs["secretString"]).toBe("[secret]");
    }
  });

  it("then the edge serves HTTPS only, TLS 1.2+, behind WAF's managed groups and a rate limit", () => {
    const cdn = one(stack, "aws:cloudfront/distribution:Distribution", "edge-cdn");
    expect(cdn.inputs).toMatchObject({
      viewerCertificate: { minimumProtocolVersion: "TLSv1.2_2021", sslSupportMethod: "sni-only" },
      defaultCacheBehavior: { viewerProtocolPolicy: "https-only" },
      webAclId: "<webAcl:edge-waf.arn>",
    });
    const acl = one(stack, "aws:wafv2/webAcl:WebAcl", "edge-waf");
    const groups = (acl.inputs["rules"] as { statement: { managedRuleGroupStatement?: { name: string } } }[]).flatMap(
      (rule) => rule.statement.managedRuleGroupStatement?.name ?? [],
    );
    expect(groups).toEqual([
      "AWSManagedRulesCommonRuleSet",
      "AWSManagedRulesKnownBadInputsRuleSet",
      "AWSManagedRulesAmazonIpReputationList",
    ]);
    const origin = one(
      stack,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "edge-origin-from-cloudfront",
    );
    expect(origin.inputs).toMatchObject({
      fromPort: 443,
      prefixListId: "<prefixList:com.amazonaws.global.cloudfront.origin-facing.id>",
    });
  });

  it("then the log domain is in the VPC, encrypted at rest and between nodes, HTTPS with TLS 1.2+, fine-grained", () => {
    expect(one(stack, "aws:opensearch/domain:Domain", "logs-domain").inputs).toMatchObject({
      encryptAtRest: { enabled: true, kmsKeyId: "<key:keys-data.arn>" },
      nodeToNodeEncryption: { enabled: true },
      domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: "Policy-Min-TLS-1-2-PFS-2023-10" },
      advancedSecurityOptions: {
        enabled: true,
        internalUserDatabaseEnabled: false,
        masterUserOptions: { masterUserArn: "<role:roles-logDomainSecurity-role.arn>" },
      },
    });
  });

  it("then the log domain's master may only write its security configuration, and the shipper only its documents", () => {
    const domain = `arn:aws:es:ap-southeast-1:${stack === "production" ? "222222222222" : "111111111111"}:domain/paimon-${stack}-logs`;
    expect(statements(one(stack, "aws:iam/rolePolicy:RolePolicy", "roles-logDomainSecurity-policy"))).toEqual([
      { Sid: "FindTheDomain", Effect: "Allow", Action: "es:DescribeDomain", Resource: domain },
      {
        Sid: "WriteSecurityConfiguration",
        Effect: "Allow",
        Action: "es:ESHttpPut",
        Resource: `${domain}/_plugins/_security/api/*`,
      },
    ]);
  });

  it("then cert-manager may write only the origin's TXT challenge records, in the stack's zone", () => {
    const zone = stack === "production" ? "paimon.fund" : "staging.paimon.fund";
    const [write, ...rest] = statements(one(stack, "aws:iam/rolePolicy:RolePolicy", "roles-certManager-policy"));
    expect(write).toEqual({
      Sid: "WriteChallengeRecords",
      Effect: "Allow",
      Action: "route53:ChangeResourceRecordSets",
      Resource: `arn:aws:route53:::hostedzone/<zone:${zone}.id>`,
      Condition: {
        "ForAllValues:StringEquals": {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`_acme-challenge.origin-api.${zone}`],
          "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
          "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
        },
      },
    });
    expect(rest.filter((statement) => statement["Resource"] === "*").map((statement) => statement["Action"])).toEqual([
      "route53:ListHostedZonesByName",
    ]);
  });

  it("then the origin host is an alias of the ingress controller's named load balancer, and its certificate is cert-manager's", () => {
    const zone = stack === "production" ? "paimon.fund" : "staging.paimon.fund";
    expect(one(stack, "aws:route53/record:Record", "edge-origin-a").inputs).toMatchObject({
      name: `origin-api.${zone}`,
      type: "A",
      zoneId: `<zone:${zone}.id>`,
      aliases: [{ name: `<loadBalancer:paimon-${stack}-origin.dnsName>`, evaluateTargetHealth: true }],
    });
    expect(
      all(stack, "aws:acm/certificate:Certificate").map((certificate) => certificate.inputs["domainName"]),
    ).toEqual([`api.${zone}`]);
  });
});

describe.each(["staging", "production"])("the %s cluster's contents", (stack) => {
  it("then the add-ons are Helm releases with pinned versions and their values visible", () => {
    const releases = all(stack, "kubernetes:helm.sh/v3:Release");
    expect(releases.map((release) => release.inputs["chart"]).sort()).toEqual([
      "aws-load-balancer-controller",
      "cert-manager",
      "external-secrets",
      "fluent-bit",
      "ingress-nginx",
      "kube-prometheus-stack",
      "metrics-server",
      "prometheus-postgres-exporter",
      "prometheus-postgres-exporter",
      "prometheus-pushgateway",
      "prometheus-redis-exporter",
    ]);
    for (const release of releases) expect(release.inputs["version"]).toMatch(/^v?\d+\.\d+\.\d+$/);
    const secrets = one(stack, "kubernetes:helm.sh/v3:Release", "kubernetes-external-secrets");
    expect(secrets.inputs["values"]).toMatchObject({
      serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "<role:roles-externalSecrets-role.arn>" } },
    });
    const nginx = one(stack, "kubernetes:helm.sh/v3:Release", "kubernetes-ingress-nginx");
    expect(nginx.inputs["values"]).toMatchObject({
      controller: {
        service: {
          annotations: {
            "service.beta.kubernetes.io/aws-load-balancer-security-groups": "<securityGroup:edge-origin-sg.id>",
          },
        },
      },
    });
  });

  it("then the Redis exporter reads the services' URL (address, TLS and token), as a cluster's where ElastiCache is sharded", () => {
    const exporter = one(stack, "kubernetes:helm.sh/v3:Release", "kubernetes-prometheus-redis-exporter");
    const values = exporter.inputs["values"] as Record<string, unknown>;
    expect(values).toMatchObject({
      redisAddressConfig: { enabled: true, isSecret: true, source: { name: "paimon-secrets", key: "redis-url" } },
      auth: { enabled: false },
    });
    // Sharded exactly where the services are told so (REDIS_CLUSTER, infra/k8s/charts.test.ts).
    const sharded = one(stack, "aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis").inputs[
      "numNodeGroups"
    ];
    expect(values["extraArgs"]).toEqual(
      typeof sharded === "number" && sharded > 1 ? { "is-cluster": true } : undefined,
    );
  });

  it("then every generated manifest is its own resource, custom resources after the release with their CRDs", () => {
    const resources = plans[stack]!.snapshot.resources;
    const manifests = resources.filter(
      (r) =>
        r.type.startsWith("kubernetes:") &&
        r.type !== "kubernetes:helm.sh/v3:Release" &&
        r.parent?.includes("KubernetesPlatform"),
    );
    expect(manifests.length).toBeGreaterThan(50);
    const rule = manifests.find((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule")!;
    expect(rule.options?.dependsOn).toEqual([expect.stringContaining("kubernetes-kube-prometheus-stack")]);
    const external = manifests.find((r) => r.type === "kubernetes:external-secrets.io/v1beta1:ExternalSecret")!;
    expect(external.options?.dependsOn).toEqual(
      expect.arrayContaining([expect.stringContaining("kubernetes-external-secrets")]),
    );
    const deployment = manifests.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
    expect(deployment.options?.dependsOn).toEqual([expect.stringContaining("v1:Namespace")]);
  });
});

describe("production against staging", () => {
  it("then production's database is Multi-AZ with a read replica, deletion protection and 30 days of PITR; staging's is single-AZ with 7", () => {
    const primary = (stack: string) => one(stack, "aws:rds/instance:Instance", "database-primary");
    expect(primary("production").inputs).toMatchObject({
      multiAz: true,
      deletionProtection: true,
      backupRetentionPeriod: 30,
      performanceInsightsEnabled: true,
      skipFinalSnapshot: false,
    });
    expect(primary("production").options?.protect).toBe(true);
    expect(primary("staging").inputs).toMatchObject({
      multiAz: false,
      deletionProtection: false,
      backupRetentionPeriod: 7,
    });
    expect(all("production", "aws:rds/instance:Instance").filter((db) => db.inputs["replicateSourceDb"])).toHaveLength(
      1,
    );
    expect(all("staging", "aws:rds/instance:Instance")).toHaveLength(1);
  });

  it("then production's Redis is sharded 2 × (1 + 1) across AZs with failover; staging's is one node", () => {
    expect(one("production", "aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis").inputs).toMatchObject({
      clusterMode: "enabled",
      numNodeGroups: 2,
      replicasPerNodeGroup: 1,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
    });
    expect(one("staging", "aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis").inputs).toMatchObject({
      clusterMode: "disabled",
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
    });
  });

  it("then production's log domain spans three AZs with dedicated masters", () => {
    expect(one("production", "aws:opensearch/domain:Domain", "logs-domain").inputs["clusterConfig"]).toMatchObject({
      instanceCount: 3,
      zoneAwarenessEnabled: true,
      zoneAwarenessConfig: { availabilityZoneCount: 3 },
      dedicatedMasterEnabled: true,
      dedicatedMasterCount: 3,
    });
  });

  it("then production pages through PagerDuty along the spec's §10.2 path; staging pages nobody", () => {
    const policy = one("production", "pagerduty:index/escalationPolicy:EscalationPolicy", "paging-escalation");
    const rules = policy.inputs["rules"] as {
      escalationDelayInMinutes: number;
      targets: { type: string; id: string }[];
    }[];
    expect(rules.map((rule) => rule.escalationDelayInMinutes)).toEqual([30, 60, 60, 30]);
    expect(rules[0]!.targets).toEqual([{ type: "schedule_reference", id: "<schedule:paging-oncall.id>" }]);
    expect(rules.slice(1).map((rule) => rule.targets.map((target) => target.id))).toEqual([
      ["<user:dev@paimon.fund.id>"],
      ["<user:tech-lead@paimon.fund.id>"],
      ["<user:fund@paimon.fund.id>"],
    ]);
    expect(all("production", "pagerduty:index/serviceIntegration:ServiceIntegration")).toHaveLength(1);
    expect(all("staging", "pagerduty:index/escalationPolicy:EscalationPolicy")).toEqual([]);
  });

  it("then only production replicates backups and database backups to the DR region", () => {
    const replication = one("production", "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "dr-replication");
    expect(replication.inputs).toMatchObject({
      rules: [
        { status: "Enabled", destination: { encryptionConfiguration: { replicaKmsKeyId: "<key:dr-data.arn>" } } },
      ],
    });
    expect(one("production", "aws:s3/bucket:Bucket", "dr-backups-bucket").inputs).toMatchObject({
      region: "ap-northeast-1",
    });
    expect(
      one(
        "production",
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        "dr-postgres-backups",
      ).inputs,
    ).toMatchObject({
      region: "ap-northeast-1",
      retentionPeriod: 30,
      kmsKeyId: "<key:dr-data.arn>",
    });
    expect(plans["staging"]!.snapshot.resources.some((resource) => resource.name.startsWith("dr-"))).toBe(false);
  });
});
