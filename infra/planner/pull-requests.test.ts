import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { diffSnapshots, type StackDiff } from "./diff";
import type { Finding, Severity } from "./findings";
import type { PolicyViolation } from "./policy";
import { renderMarkdown } from "./report";
import { parseSnapshot, type Json, type PlannedResource, type PlanSnapshot } from "./snapshot";

/**
 * Realistic pull requests, each a small change to the committed production plan, with the
 * findings an auditor must see (and only those).
 */

const committed = parseSnapshot(
  readFileSync(path.join(__dirname, "..", "plans", "production.json"), "utf8"),
  "infra/plans/production.json",
);
const clone = (): PlanSnapshot => structuredClone(committed);
const KEY = "aws:kms/key:Key";
const find = (snapshot: PlanSnapshot, name: string, type?: string): PlannedResource => {
  const found = snapshot.resources.find(
    (r) => r.name === name && !r.type.startsWith("paimon:") && (type === undefined || r.type === type),
  );
  if (!found) throw new Error(`${name} not in snapshot`);
  return found;
};
type Doc = { Statement: Record<string, Json>[] };
const doc = (resource: PlannedResource, property = "policy"): Doc =>
  (resource.inputs[property] as { "@json": Doc })["@json"];
const podSpec = (resource: PlannedResource) =>
  (resource.inputs["spec"] as { template: { spec: Record<string, Json> & { containers: Record<string, Json>[] } } })
    .template.spec;
const brief = (diff: StackDiff) =>
  diff.findings.map(({ severity, direction, category, name, reason }) => ({
    severity,
    direction,
    category,
    name,
    reason,
  }));
const only = (diff: StackDiff, direction: Finding["direction"] = "weakened") =>
  brief(diff).filter((f) => f.direction === direction);
const expectFinding = (diff: StackDiff, severity: Severity, category: Finding["category"], reason: RegExp) => {
  expect(brief(diff)).toContainEqual(
    expect.objectContaining({ severity, category, reason: expect.stringMatching(reason) as string }),
  );
};

describe("pull requests an auditor must catch", () => {
  it("PR: an ingress rule's cidrIpv4 becomes 0.0.0.0/0 → critical: opens 5432 to the internet", () => {
    const head = clone();
    const rule = find(head, "database-access-from-cluster");
    delete rule.inputs["referencedSecurityGroupId"];
    rule.inputs["cidrIpv4"] = "0.0.0.0/0";
    const diff = diffSnapshots(committed, head);
    expect(only(diff)).toEqual([
      expect.objectContaining({
        severity: "critical",
        category: "network-exposure",
        reason: "opens 5432/tcp to the internet (0.0.0.0/0)",
      }),
    ]);
  });

  it("PR: the origin's 443 opened to the internet instead of CloudFront's prefix list → high, and the prefix list goes", () => {
    const head = clone();
    const rule = find(head, "edge-origin-from-cloudfront");
    delete rule.inputs["prefixListId"];
    rule.inputs["cidrIpv4"] = "0.0.0.0/0";
    const diff = diffSnapshots(committed, head);
    expectFinding(diff, "high", "network-exposure", /^opens 443\/tcp to the internet/);
  });

  it("PR: a public range gets the EKS API → medium; the internet gets it → critical", () => {
    const head = clone();
    const cluster = find(head, "cluster-eks");
    (cluster.inputs["vpcConfig"] as Record<string, Json>)["publicAccessCidrs"] = ["0.0.0.0/0"];
    expectFinding(diffSnapshots(committed, head), "critical", "network-exposure", /Kubernetes API endpoint/);
  });

  it("PR: another account becomes a principal of the data key's policy → critical, naming the account", () => {
    const head = clone();
    const statement = doc(find(head, "keys-data", KEY)).Statement[0]!;
    statement["Principal"] = { AWS: ["arn:aws:iam::222222222222:root", "arn:aws:iam::999999999999:root"] };
    const diff = diffSnapshots(committed, head);
    expect(only(diff)).toEqual([
      expect.objectContaining({
        severity: "critical",
        category: "kms-key-policy",
        reason: expect.stringMatching(
          /now also granted to arn:aws:iam::999999999999:root — another account \(999999999999\)/,
        ) as string,
      }),
    ]);
  });

  it("PR: a bucket policy lets another account read the backups → critical", () => {
    const head = clone();
    doc(find(head, "backups-policy")).Statement.push({
      Sid: "PartnerReads",
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::999999999999:role/reader" },
      Action: "s3:GetObject",
      Resource: "<bucket:backups-bucket.arn>/*",
    });
    const diff = diffSnapshots(committed, head);
    expectFinding(diff, "critical", "iam", /statement PartnerReads added: grants .*another account \(999999999999\)/);
    expect(only(diff)).toHaveLength(1);
  });

  it("PR: CloudFront's minimum TLS lowered to TLSv1 → high", () => {
    const head = clone();
    (find(head, "edge-cdn").inputs["viewerCertificate"] as Record<string, Json>)["minimumProtocolVersion"] = "TLSv1";
    const diff = diffSnapshots(committed, head);
    expect(only(diff)).toEqual([
      expect.objectContaining({
        severity: "high",
        category: "tls",
        reason: "CloudFront's minimum viewer TLS lowered: `TLSv1.2_2021` → `TLSv1`",
      }),
    ]);
    const raised = clone();
    (find(raised, "edge-cdn").inputs["viewerCertificate"] as Record<string, Json>)["minimumProtocolVersion"] =
      "TLSv1.3_2025";
    expect(only(diffSnapshots(committed, raised), "strengthened")).toHaveLength(1);
  });

  it("PR: the WAF is taken off the distribution → critical", () => {
    const head = clone();
    delete find(head, "edge-cdn").inputs["webAclId"];
    expect(only(diffSnapshots(committed, head))).toEqual([
      expect.objectContaining({
        severity: "critical",
        category: "waf",
        reason: expect.stringMatching(/no longer behind a WAF/) as string,
      }),
    ]);
  });

  it("PR: a WAF association resource is removed, or a managed rule group → critical, high", () => {
    const base = clone();
    base.resources.push({
      urn: "urn:pulumi:production::paimon::aws:wafv2/webAclAssociation:WebAclAssociation::alb-waf",
      type: "aws:wafv2/webAclAssociation:WebAclAssociation",
      name: "alb-waf",
      inputs: { resourceArn: "<loadBalancer:api.arn>", webAclArn: "<webAcl:edge-waf.arn>" },
    });
    const head = clone();
    const acl = find(head, "edge-waf");
    acl.inputs["rules"] = (acl.inputs["rules"] as Record<string, Json>[]).filter(
      (rule) => !JSON.stringify(rule).includes("KnownBadInputs"),
    );
    const diff = diffSnapshots(base, head);
    expectFinding(diff, "critical", "waf", /WAF association removed: <loadBalancer:api.arn> is no longer filtered/);
    expectFinding(diff, "high", "waf", /AWSManagedRulesKnownBadInputsRuleSet\) removed/);
  });

  it("PR: s3:* granted on * → critical, read as every action of the service", () => {
    const head = clone();
    doc(find(head, "roles-postgresBackup-policy")).Statement.push({
      Sid: "Everything",
      Effect: "Allow",
      Action: "s3:*",
      Resource: "*",
    });
    expect(only(diffSnapshots(committed, head))).toEqual([
      expect.objectContaining({
        severity: "critical",
        reason: expect.stringMatching(/`s3:\*` \(every action of the service\)/) as string,
      }),
    ]);
  });

  it("PR: iam:PassRole on * → critical privilege escalation", () => {
    const head = clone();
    doc(find(head, "roles-loadBalancerController-policy")).Statement.push({
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: "*",
    });
    expectFinding(diffSnapshots(committed, head), "critical", "iam", /`iam:PassRole` \(privilege escalation\)/);
  });

  it("PR: kms:Decrypt on * → high: reads data or secrets", () => {
    const head = clone();
    const statement = doc(find(head, "roles-externalSecrets-policy")).Statement.find(
      (s) => s["Sid"] === "DecryptStackSecrets",
    )!;
    statement["Resource"] = "*";
    expectFinding(
      diffSnapshots(committed, head),
      "high",
      "iam",
      /now on every resource \(`\*`\) — `kms:Decrypt` \(reads data or secrets\)/,
    );
  });

  it("PR: the signing key's administrators get kms:Create* back → critical: it includes kms:CreateGrant", () => {
    const head = clone();
    const admin = doc(find(head, "keys-operator-signing", KEY)).Statement.find(
      (s) => s["Sid"] === "AccountAdministersButCannotSign",
    )!;
    admin["Action"] = [...(admin["Action"] as string[]), "kms:Create*"];
    expectFinding(
      diffSnapshots(committed, head),
      "critical",
      "kms-key-policy",
      /`kms:CreateGrant` via `kms:Create\*` \(privilege escalation\)/,
    );
  });

  it("PR: wildcards replaced by the actions they cover → a narrowing, never 'now also allows'", () => {
    const base = clone();
    const head = clone();
    const statement = (snapshot: PlanSnapshot) =>
      doc(find(snapshot, "keys-operator-signing", KEY)).Statement.find(
        (s) => s["Sid"] === "AccountAdministersButCannotSign",
      )!;
    statement(base)["Action"] = ["kms:Describe*", "kms:Disable*", "kms:Get*"];
    statement(head)["Action"] = ["kms:DescribeKey", "kms:DisableKey", "kms:GetPublicKey"];
    const diff = diffSnapshots(base, head);
    expect(only(diff)).toEqual([]);
    expectFinding(diff, "low", "kms-key-policy", /narrowed \(`kms:Describe\*`, `kms:Disable\*`, `kms:Get\*`\)/);
  });

  it("PR: a condition is dropped from a grant → high", () => {
    const head = clone();
    const statement = doc(find(head, "keys-data", KEY)).Statement.find(
      (s) => s["Sid"] === "CloudWatchLogsEncryptsThisAccountsLogGroups",
    )!;
    delete statement["Condition"];
    expectFinding(diffSnapshots(committed, head), "high", "kms-key-policy", /no longer conditional/);
  });

  it("PR: a workload runs as root → high; with a writable root filesystem → medium; on the host network → critical", () => {
    const head = clone();
    const api = podSpec(find(head, "api-deployment-paimon-paimon-api"));
    const container = api.containers.find((c) => c["name"] === "api")!;
    container["securityContext"] = {
      ...(container["securityContext"] as Record<string, Json>),
      runAsUser: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: false,
    };
    podSpec(find(head, "services-deployment-paimon-paimon-event-listener"))["hostNetwork"] = true;
    const diff = diffSnapshots(committed, head);
    expectFinding(
      diff,
      "high",
      "pod-security",
      /container api runs as UID 0 \(root\).*Pod Security restricted → baseline/,
    );
    expectFinding(diff, "medium", "pod-security", /container api's root filesystem is writable/);
    expectFinding(
      diff,
      "critical",
      "pod-security",
      /hostNetwork: true \(Host Namespaces, breaks the baseline standard\) — Pod Security restricted → privileged/,
    );
  });

  it("PR: a statement without a Sid is added to Sid-less statements → exactly one finding, and a Deny to * is no weakening", () => {
    const strip = (snapshot: PlanSnapshot) => {
      for (const statement of doc(find(snapshot, "backups-policy")).Statement) delete statement["Sid"];
      return snapshot;
    };
    const base = strip(clone());
    const head = strip(clone());
    doc(find(head, "backups-policy")).Statement.unshift({
      Effect: "Deny",
      Principal: "*",
      Action: "s3:DeleteBucket",
      Resource: "<bucket:backups-bucket.arn>",
    });
    const diff = diffSnapshots(base, head);
    expect(brief(diff)).toEqual([
      expect.objectContaining({ direction: "strengthened", severity: "low", category: "iam" }),
    ]);
    const changed = diff.resources.find((r) => r.name === "backups-policy")!;
    expect(changed.changes).toHaveLength(1);
  });

  it("PR: a resource is added → its security-relevant properties are shown, and an open one is a finding", () => {
    const head = clone();
    head.resources.push({
      urn: "urn:pulumi:production::paimon::aws:ec2/securityGroup:SecurityGroup::debug",
      type: "aws:ec2/securityGroup:SecurityGroup",
      name: "debug",
      inputs: {
        ingress: [{ cidrBlocks: ["0.0.0.0/0"], fromPort: 22, toPort: 22, protocol: "tcp" }],
        vpcId: "<vpc:network-vpc.id>",
      },
    });
    const diff = diffSnapshots(committed, head);
    expectFinding(diff, "critical", "network-exposure", /^opens 22\/tcp to the internet/);
    const added = diff.resources.find((r) => r.name === "debug")!;
    expect(added.properties?.join(" ")).toContain("0.0.0.0/0");
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown).toContain("Added (1), with their security-relevant properties");
  });

  it("PR: a change inside a secret value → reported as a changed secret, masked", () => {
    const head = clone();
    const version = find(head, "secrets-database-url", "aws:secretsmanager/secretVersion:SecretVersion");
    expect(version.inputs["secretString"]).toBe("[secret]");
    expect(head.secrets?.[version.urn]?.["secretString"]).toMatch(/^[0-9a-f]{12}$/);
    head.secrets = { ...head.secrets, [version.urn]: { secretString: "0123456789ab" } };
    const diff = diffSnapshots(committed, head);
    expect(brief(diff)).toEqual([
      expect.objectContaining({ severity: "medium", category: "secrets", direction: "changed" }),
    ]);
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown).not.toContain("No infrastructure changes");
    expect(markdown).toContain("`[secret]` → `[secret]` (value changed, masked)");
    expect(markdown).not.toContain("0123456789ab");
  });

  it("PR: the RDS identifier is renamed → in place, no replacement; storage resized → may replace, never a guess", () => {
    const head = clone();
    find(head, "database-primary").inputs["identifier"] = "paimon-production-postgres-v2";
    expect(diffSnapshots(committed, head).stateful).toEqual([]);
    find(head, "database-primary").inputs["allocatedStorage"] = 200;
    const [entry] = diffSnapshots(committed, head).stateful;
    expect(entry).toMatchObject({ reason: "may be replaced", severity: "medium", protected: true });
    expect(entry?.decisions).toEqual([
      {
        property: "allocatedStorage",
        action: "may replace",
        note: expect.any(String) as string,
        source: "internal/service/rds/instance.go",
      },
    ]);
  });

  it("PR: ElastiCache cluster mode, shard and replica counts change in place; at-rest encryption or a downgrade replaces", () => {
    const head = clone();
    const redis = find(head, "cache-redis");
    redis.inputs["clusterMode"] = "compatible";
    redis.inputs["numNodeGroups"] = 4;
    redis.inputs["replicasPerNodeGroup"] = 2;
    expect(diffSnapshots(committed, head).stateful).toEqual([]);
    redis.inputs["engine"] = "valkey";
    expect(diffSnapshots(committed, head).stateful).toEqual([]);
    redis.inputs["engine"] = "redis";
    redis.inputs["engineVersion"] = "6.2";
    redis.inputs["atRestEncryptionEnabled"] = false;
    const [entry] = diffSnapshots(committed, head).stateful;
    // Protected in production: `pulumi up` would refuse, so high rather than critical.
    expect(entry).toMatchObject({ reason: "replaced", severity: "high", protected: true });
    expect(entry?.decisions?.map((d) => [d.property, d.action])).toEqual([
      ["atRestEncryptionEnabled", "replace"],
      ["engineVersion", "replace"],
    ]);
    expect(entry?.detail).toContain("internal/service/elasticache/replication_group.go");
  });

  it("PR: the flow log is removed and the audit log type dropped → high logging findings", () => {
    const head = clone();
    head.resources = head.resources.filter((r) => r.name !== "network-flow-log");
    const cluster = find(head, "cluster-eks");
    cluster.inputs["enabledClusterLogTypes"] = (cluster.inputs["enabledClusterLogTypes"] as string[]).filter(
      (t) => t !== "audit",
    );
    const diff = diffSnapshots(committed, head);
    expectFinding(diff, "high", "logging", /VPC flow log removed/);
    expectFinding(diff, "high", "logging", /EKS control-plane log no longer recorded: audit/);
  });

  it("PR: a policy finding already on the base is shown apart from the one this change brings", () => {
    const base = clone();
    const head = clone();
    const fresh: PolicyViolation = {
      policy: "CKV_AWS_286-iam-no-privilege-escalation",
      enforcement: "mandatory",
      severity: "critical",
      checkov: "CKV_AWS_286",
      message: "statement ? allows iam:PassRole on * (privilege escalation)",
      urn: "urn:x",
      name: "roles-loadBalancerController-policy",
    };
    head.violations = [...(base.violations ?? []), fresh];
    const diff = diffSnapshots(base, head);
    expect(diff.policy?.introduced).toEqual([fresh]);
    expect(diff.policy?.existing).toHaveLength(base.violations?.length ?? 0);
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown).toContain("**New with this change**");
    expect(markdown).toContain(`<details><summary>Already on the base (${base.violations?.length ?? 0})</summary>`);
    expect(markdown.indexOf("**New with this change**")).toBeLessThan(markdown.indexOf("Already on the base"));
  });

  it("PR: a thousand changes → the report leads with the findings and fits a pull-request comment, saying what it trimmed", () => {
    const head = clone();
    for (let index = 0; index < 1000; index += 1) {
      head.resources.push({
        urn: `urn:pulumi:production::paimon::aws:ec2/securityGroup:SecurityGroup::open-${index}`,
        type: "aws:ec2/securityGroup:SecurityGroup",
        name: `open-${index}`,
        inputs: {
          ingress: [{ cidrBlocks: [`0.0.0.0/0`], fromPort: 1000 + index, toPort: 1000 + index, protocol: "tcp" }],
        },
      });
    }
    const diff = diffSnapshots(committed, head);
    expect(diff.counts.added).toBe(1000);
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown.length).toBeLessThan(65_536);
    expect(markdown.startsWith("## Infrastructure plan: changes against `main`")).toBe(true);
    expect(markdown).toContain("| production | 1000 | 0 | 0 | **1000** | 0 | 0 | 0 |");
    expect(markdown).toMatch(
      /✂ Trimmed to fit a pull-request comment .* left out\. The full report: `pnpm plan --diff main --format json`/,
    );
    expect(markdown.indexOf("#### 🔴 Critical (1000)")).toBeLessThan(markdown.indexOf("### Changes"));
  });
});
