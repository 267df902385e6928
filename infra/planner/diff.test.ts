import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { diffSnapshots, flatten, type Finding, type StackDiff } from "./diff";
import { renderMarkdown } from "./report";
import { parseSnapshot, type PlannedResource, type PlanSnapshot } from "./snapshot";

const committed = parseSnapshot(
  readFileSync(path.join(__dirname, "..", "plans", "production.json"), "utf8"),
  "infra/plans/production.json",
);
const clone = (): PlanSnapshot => structuredClone(committed);
const find = (snapshot: PlanSnapshot, name: string, type: string): PlannedResource => {
  const found = snapshot.resources.find((r) => r.name === name && r.type === type);
  if (!found) throw new Error(`${name} not in snapshot`);
  return found;
};
const flags = (diff: StackDiff): Pick<Finding, "category" | "direction" | "name" | "kind">[] =>
  diff.findings.map(({ category, direction, name, kind }) => ({ category, direction, name, kind }));

const securityGroup = (cidr: string, fromPort = 443, toPort = 443): PlannedResource => ({
  urn: "urn:pulumi:production::paimon::aws:ec2/securityGroup:SecurityGroup::api-lb",
  type: "aws:ec2/securityGroup:SecurityGroup",
  name: "api-lb",
  inputs: { ingress: [{ cidrBlocks: [cidr], fromPort, protocol: "tcp", toPort }], vpcId: "<vpc:network-vpc.id>" },
});

describe("diffSnapshots", () => {
  it("when nothing changed, then there is nothing to report and the markdown is one line", () => {
    const diff = diffSnapshots(committed, clone());
    expect(diff.resources).toEqual([]);
    expect(diff.counts.unchanged).toBe(committed.resources.length);
    expect(renderMarkdown({ base: "main", stacks: [diff] })).toMatch(
      /^No infrastructure changes against `main` \(production\)\.\n\n### Policy violations in the proposed plan\n/,
    );
  });

  it("when the backup bucket's public access block is turned off, then it is flagged as weakened public access", () => {
    const head = clone();
    const block = find(head, "backups-public-access", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
    block.inputs["blockPublicPolicy"] = false;
    block.inputs["restrictPublicBuckets"] = false;
    const diff = diffSnapshots(committed, head);
    expect(flags(diff)).toEqual([
      { category: "public-access", direction: "weakened", name: "backups-public-access", kind: "changed" },
      { category: "public-access", direction: "weakened", name: "backups-public-access", kind: "changed" },
    ]);
    expect(renderMarkdown({ base: "main", stacks: [diff] })).toContain(
      "| production | ⚠ weakened | Public access | `backups-public-access` aws:s3:BucketPublicAccessBlock | `blockPublicPolicy`: true → false |",
    );
  });

  it("when the public access block is deleted, then its removal is flagged as weakened", () => {
    const head = clone();
    head.resources = head.resources.filter((r) => r.name !== "backups-public-access");
    expect(flags(diffSnapshots(committed, head))).toContainEqual({
      category: "public-access",
      direction: "weakened",
      name: "backups-public-access",
      kind: "removed",
    });
  });

  it("when a bucket policy grants to everyone, then the IAM change is flagged as weakened", () => {
    const head = clone();
    const policy = find(head, "backups-policy", "aws:s3/bucketPolicy:BucketPolicy");
    const statement = (policy.inputs["policy"] as { "@json": { Statement: Record<string, unknown>[] } })["@json"]
      .Statement[0]!;
    statement["Effect"] = "Allow";
    const diff = diffSnapshots(committed, head);
    expect(diff.findings).toContainEqual(
      expect.objectContaining({
        category: "iam",
        direction: "weakened",
        severity: "critical",
        path: "policy.Statement[Sid=DenyInsecureTransport]",
        reason: expect.stringMatching(/turns from Deny to Allow: grants Allow `s3:\*`.* to everyone/) as string,
      }),
    );
  });

  it("when an ingress rule is widened to the internet, then it is flagged as weakened network exposure", () => {
    const base = clone();
    base.resources.push(securityGroup("10.30.0.0/16"));
    const head = clone();
    head.resources.push(securityGroup("0.0.0.0/0", 0, 65535));
    const diff = diffSnapshots(base, head);
    expect(diff.findings.filter((f) => f.category === "network-exposure")).toEqual([
      expect.objectContaining({
        direction: "weakened",
        severity: "critical",
        reason: "opens every tcp port to the internet (0.0.0.0/0)",
      }),
    ]);
  });

  it("when a new security group opens to the internet, then its addition is flagged as weakened", () => {
    const head = clone();
    head.resources.push(securityGroup("0.0.0.0/0"));
    expect(flags(diffSnapshots(committed, head))).toEqual([
      { category: "network-exposure", direction: "weakened", name: "api-lb", kind: "added" },
    ]);
  });

  it("when encryption is dropped or downgraded, then it is flagged as weakened encryption", () => {
    const removed = clone();
    removed.resources = removed.resources.filter((r) => r.name !== "backups-encryption");
    expect(flags(diffSnapshots(committed, removed))).toContainEqual({
      category: "encryption",
      direction: "weakened",
      name: "backups-encryption",
      kind: "removed",
    });

    const downgraded = clone();
    const sse = find(
      downgraded,
      "backups-encryption",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    );
    sse.inputs["rules"] = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: false }];
    const diff = diffSnapshots(committed, downgraded);
    expect(diff.findings.filter((f) => f.direction === "weakened").map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
        "rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId",
        "rules[0].bucketKeyEnabled",
      ]),
    );

    const unrotated = clone();
    find(unrotated, "keys-data", "aws:kms/key:Key").inputs["enableKeyRotation"] = false;
    expect(flags(diffSnapshots(committed, unrotated))).toEqual([
      { category: "encryption", direction: "weakened", name: "keys-data", kind: "changed" },
    ]);
  });

  it("when retention is shortened, then it is flagged as weakened; lengthened, as strengthened", () => {
    const head = clone();
    const lifecycle = find(
      head,
      "backups-lifecycle",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    );
    const rules = lifecycle.inputs["rules"] as { id: string; expiration: { days: number } }[];
    rules.find((r) => r.id === "expire-postgres")!.expiration.days = 7;
    find(head, "network-flow-logs", "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] = 731;
    const diff = diffSnapshots(committed, head);
    const found = diff.findings.map(({ category, direction, path: p, before, after }) => ({
      category,
      direction,
      path: p,
      before,
      after,
    }));
    expect(found).toHaveLength(2);
    expect(found).toEqual(
      expect.arrayContaining([
        {
          category: "backup-retention",
          direction: "weakened",
          path: "rules[id=expire-postgres].expiration.days",
          before: 30,
          after: 7,
        },
        { category: "backup-retention", direction: "strengthened", path: "retentionInDays", before: 365, after: 731 },
      ]),
    );
  });

  it("when a key policy changes, then it is reported as a KMS key policy change, not twice", () => {
    const head = clone();
    const key = find(head, "keys-operator-signing", "aws:kms/key:Key");
    const document = (key.inputs["policy"] as { "@json": { Statement: Record<string, unknown>[] } })["@json"];
    document.Statement = document.Statement.filter((s) => s["Effect"] !== "Deny");
    const diff = diffSnapshots(committed, head);
    expect(new Set(diff.findings.map((f) => f.category))).toEqual(new Set(["kms-key-policy"]));
  });

  it("when protection is lifted from the signing key, then it is flagged as weakened deletion protection", () => {
    const head = clone();
    delete find(head, "keys-operator-signing", "aws:kms/key:Key").options;
    expect(diffSnapshots(committed, head).findings).toContainEqual(
      expect.objectContaining({
        category: "deletion-protection",
        direction: "weakened",
        path: "options.protect",
        before: true,
      }),
    );
  });

  it("when a stateful resource's identity changes, then its replacement is called out", () => {
    const head = clone();
    find(head, "backups-bucket", "aws:s3/bucket:Bucket").inputs["bucket"] = "paimon-production-backups-v2";
    const diff = diffSnapshots(committed, head);
    expect(diff.stateful).toEqual([
      // Production protects every stateful resource: the replacement would stop at `pulumi up`.
      expect.objectContaining({ name: "backups-bucket", reason: "replaced", protected: true }),
    ]);
    expect(diff.stateful[0]!.detail).toMatch(
      /^changing `bucket` \(ForceNew: a change replaces the resource; internal\/service\/s3\/bucket\.go\) forces a new Bucket/,
    );
  });

  it("when a protected stateful resource is deleted or moved, then the report says so", () => {
    const head = clone();
    const signing = find(head, "keys-operator-signing", "aws:kms/key:Key");
    signing.urn = signing.urn.replace("paimon:security:SigningKey$", "paimon:security:OperatorKey$");
    head.resources = head.resources.filter((r) => r.name !== "backups-bucket");
    const diff = diffSnapshots(committed, head);
    const found = diff.stateful.map(({ name, reason, protected: p }) => ({ name, reason, protected: p }));
    expect(found).toHaveLength(2);
    expect(found).toEqual(
      expect.arrayContaining([
        { name: "keys-operator-signing", reason: "replaced", protected: true },
        { name: "backups-bucket", reason: "deleted", protected: true },
      ]),
    );
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown).toContain(
      "| Stateful resources replaced or deleted | `backups-bucket` aws:s3:Bucket | **deleted**",
    );
    expect(markdown).toContain("(protected: `pulumi up` refuses until `protect` is lifted)");
  });

  it("when hundreds of resources change, then the summary stays first and long lists fold", () => {
    const head = clone();
    for (let index = 0; index < 300; index += 1) {
      head.resources.push({
        urn: `urn:pulumi:production::paimon::aws:ec2/subnet:Subnet::extra-${index}`,
        type: "aws:ec2/subnet:Subnet",
        name: `extra-${index}`,
        inputs: { cidrBlock: `10.40.${index % 256}.0/24`, mapPublicIpOnLaunch: true },
      });
    }
    const diff = diffSnapshots(committed, head);
    expect(diff.counts.added).toBe(300);
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown.startsWith("## Infrastructure plan: changes against `main`")).toBe(true);
    expect(markdown).toContain("| production | 300 | 0 | 0 | 0 | **300** | 0 | 0 |");
    expect(markdown).toContain("<details><summary>Added (300), with their security-relevant properties</summary>");
    expect(markdown).toContain("- `extra-0` aws:ec2:Subnet");
    expect(markdown.length).toBeLessThan(65_536);
  });

  it("when only secrets are involved, then no secret value can appear: they are placeholders on both sides", () => {
    const base = clone();
    base.resources.push({
      urn: "urn:x::s",
      type: "aws:secretsmanager/secretVersion:SecretVersion",
      name: "s",
      inputs: { secretString: "[secret]" },
    });
    const head = structuredClone(base);
    expect(diffSnapshots(base, head).resources).toEqual([]);
  });
});

/** The backup bucket's policy statement `sid` in `snapshot`, to edit in place. */
const statement = (snapshot: PlanSnapshot, sid: string): Record<string, unknown> => {
  const policy = find(snapshot, "backups-policy", "aws:s3/bucketPolicy:BucketPolicy");
  const document = (policy.inputs["policy"] as { "@json": { Statement: Record<string, unknown>[] } })["@json"];
  const found = document.Statement.find((s) => s["Sid"] === sid);
  if (!found) throw new Error(`${sid} not in backups-policy`);
  return found;
};

/** A diff's IAM findings, as the report words them. */
const iam = (diff: StackDiff) =>
  diff.findings
    .filter((f) => f.category === "iam")
    .map(({ direction, severity, reason }) => ({ direction, severity, reason }));

describe("diffSnapshots, when a policy statement's condition changes", () => {
  const names = ["ap-southeast-1.elasticache-snapshot.amazonaws.com", "elasticache.amazonaws.com"];
  // Commit c238105: the denial spared every AWS service, then ElastiCache alone.
  const exceptServices = {
    StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" },
    Bool: { "aws:PrincipalIsAWSService": "false" },
  };
  const exceptElastiCache = (serviceNames: string[]) => ({
    StringNotEqualsIfExists: { "aws:PrincipalServiceName": serviceNames, "s3:x-amz-server-side-encryption": "aws:kms" },
  });
  const withCondition = (sid: string, condition: unknown): PlanSnapshot => {
    const snapshot = clone();
    if (condition === undefined) delete statement(snapshot, sid)["Condition"];
    else statement(snapshot, sid)["Condition"] = condition;
    return snapshot;
  };

  it("when a Deny spares ElastiCache alone instead of every AWS service (c238105), then it is strengthened; the reverse is weakened", () => {
    const services = withCondition("DenyOtherEncryption", exceptServices);
    const elastiCache = withCondition("DenyOtherEncryption", exceptElastiCache(names));
    expect(iam(diffSnapshots(services, elastiCache))).toEqual([
      {
        direction: "strengthened",
        severity: "low",
        reason: expect.stringMatching(
          /^policy: statement DenyOtherEncryption: denies whenever it did, and more: if \{"StringNotEqualsIfExists":.*"aws:PrincipalServiceName".*\(was if \{"Bool":/,
        ) as string,
      },
    ]);
    expect(iam(diffSnapshots(elastiCache, services))).toEqual([
      {
        direction: "weakened",
        severity: "high",
        reason: expect.stringMatching(/^policy: statement DenyOtherEncryption: denies only if \{"Bool":/) as string,
      },
    ]);
  });

  it("when a Deny's negated clause loses a value, then it is strengthened; when it gains one, weakened", () => {
    const two = withCondition("DenyOtherEncryption", exceptElastiCache(names));
    const one = withCondition("DenyOtherEncryption", exceptElastiCache([names[1]!]));
    const three = withCondition("DenyOtherEncryption", exceptElastiCache([...names, "lambda.amazonaws.com"]));
    expect(iam(diffSnapshots(two, one))).toEqual([
      expect.objectContaining({
        direction: "strengthened",
        severity: "low",
        reason: expect.stringContaining("denies whenever it did, and more") as string,
      }),
    ]);
    expect(iam(diffSnapshots(two, three))).toEqual([
      expect.objectContaining({
        direction: "weakened",
        severity: "high",
        reason: expect.stringContaining("denies only if") as string,
      }),
    ]);
  });

  it("when a Deny gains an unrelated clause, then it is weakened; when it loses one, or its whole condition, strengthened", () => {
    const tls = { Bool: { "aws:SecureTransport": "false" } };
    const tlsOutsideVpce = { ...tls, StringNotEquals: { "aws:SourceVpce": "vpce-1" } };
    const narrow = withCondition("DenyInsecureTransport", tlsOutsideVpce);
    expect(iam(diffSnapshots(clone(), narrow))).toEqual([
      expect.objectContaining({
        direction: "weakened",
        severity: "high",
        reason: expect.stringContaining("denies only if") as string,
      }),
    ]);
    expect(iam(diffSnapshots(narrow, clone()))).toEqual([
      expect.objectContaining({ direction: "strengthened", severity: "low" }),
    ]);
    expect(iam(diffSnapshots(clone(), withCondition("DenyInsecureTransport", undefined)))).toEqual([
      {
        direction: "strengthened",
        severity: "low",
        reason:
          'policy: statement DenyInsecureTransport: denies whenever it did, and more: always (was if {"Bool":{"aws:SecureTransport":"false"}})',
      },
    ]);
  });

  it("when an Allow gains a clause, then it is narrowed; when its condition becomes an unrelated one, it is a change, as before", () => {
    const account = { StringEquals: { "aws:SourceAccount": "111122223333" } };
    const arn = { ArnLike: { "aws:SourceArn": "arn:aws:elasticache:ap-southeast-1:111122223333:*" } };
    const sid = "ElastiCacheExportsRedisSnapshots";
    expect(iam(diffSnapshots(clone(), withCondition(sid, account)))).toEqual([
      {
        direction: "strengthened",
        severity: "low",
        reason: `policy: statement ${sid}: narrowed (allows only where it did, and less: if {"StringEquals":{"aws:SourceAccount":"111122223333"}} (was unconditional))`,
      },
    ]);
    expect(iam(diffSnapshots(withCondition(sid, account), withCondition(sid, { ...account, ...arn })))).toEqual([
      expect.objectContaining({ direction: "strengthened", severity: "low" }),
    ]);
    expect(iam(diffSnapshots(withCondition(sid, account), withCondition(sid, arn)))).toEqual([
      {
        direction: "changed",
        severity: "medium",
        reason: expect.stringMatching(
          /^policy: statement ElastiCacheExportsRedisSnapshots: condition changes from /,
        ) as string,
      },
    ]);
  });
});

describe("diffSnapshots, when a policy statement's resources or its Not… form change", () => {
  const edit = (sid: string, change: (found: Record<string, unknown>) => void): PlanSnapshot => {
    const snapshot = clone();
    change(statement(snapshot, sid));
    return snapshot;
  };
  const objects = (statement: Record<string, unknown>) => statement["Resource"] as string;

  it("when a Deny no longer covers some of its resources, then it is weakened; when it covers more, strengthened", () => {
    // DenyOtherEncryption denies on every object (`<bucket>/*`); on `<bucket>/postgres/*` alone, it
    // no longer denies on the other prefixes.
    let arn = "";
    const narrow = edit("DenyOtherEncryption", (statement) => {
      arn = objects(statement);
      statement["Resource"] = arn.replace(/\*$/, "postgres/*");
    });
    expect(iam(diffSnapshots(clone(), narrow))).toEqual([
      {
        direction: "weakened",
        severity: "high",
        reason: `policy: statement DenyOtherEncryption: no longer denies on \`${arn}\``,
      },
    ]);
    expect(iam(diffSnapshots(narrow, clone()))).toEqual([
      expect.objectContaining({ direction: "strengthened", severity: "low" }),
    ]);
  });

  it("when a Deny's NotAction list gains an action, then it is weakened: the action is no longer denied", () => {
    const notAction = (actions: string[]) =>
      edit("DenyInsecureTransport", (statement) => {
        delete statement["Action"];
        statement["NotAction"] = actions;
      });
    expect(iam(diffSnapshots(notAction(["s3:GetObject"]), notAction(["s3:GetObject", "s3:PutObject"])))).toEqual([
      {
        direction: "weakened",
        severity: "high",
        reason: "policy: statement DenyInsecureTransport: no longer denies `s3:PutObject`",
      },
    ]);
    expect(iam(diffSnapshots(notAction(["s3:GetObject", "s3:PutObject"]), notAction(["s3:GetObject"])))).toEqual([
      expect.objectContaining({ direction: "strengthened", severity: "low" }),
    ]);
  });

  it("when a Deny's NotResource list gains an exclusion, then it is weakened: it no longer denies there", () => {
    let arn = "";
    const notResource = (prefixes: string[]) =>
      edit("DenyOtherEncryption", (statement) => {
        arn = objects(statement);
        delete statement["Resource"];
        statement["NotResource"] = prefixes.map((prefix) => arn.replace(/\*$/, `${prefix}/*`));
      });
    const logs = notResource(["logs"]);
    const logsAndRedis = notResource(["logs", "redis"]);
    expect(iam(diffSnapshots(logs, logsAndRedis))).toEqual([
      {
        direction: "weakened",
        severity: "high",
        reason: `policy: statement DenyOtherEncryption: no longer denies on \`${arn.replace(/\*$/, "redis/*")}\``,
      },
    ]);
    expect(iam(diffSnapshots(logsAndRedis, logs))).toEqual([
      expect.objectContaining({ direction: "strengthened", severity: "low" }),
    ]);
  });

  it("when a `*` becomes a `?`, then the `?` is not read as covering what the `*` did", () => {
    let arn = "";
    const resource = (pattern: string) =>
      edit("DenyOtherEncryption", (statement) => {
        arn = objects(statement);
        statement["Resource"] = arn.replace(/\*$/, pattern);
      });
    // A Deny on every object narrowed to one-character keys denies less.
    expect(iam(diffSnapshots(resource("*"), resource("?")))).toEqual([
      expect.objectContaining({ direction: "weakened", severity: "high" }),
    ]);
    const action = (pattern: string) =>
      edit("DenyOtherEncryption", (statement) => {
        statement["Action"] = pattern;
      });
    expect(iam(diffSnapshots(action("s3:Put*"), action("s3:Put?")))).toEqual([
      expect.objectContaining({ direction: "weakened", severity: "high" }),
    ]);
    // An Allow widened from one-character keys to every key grants more.
    const allow = (pattern: string) =>
      edit("ElastiCacheExportsRedisSnapshots", (statement) => {
        statement["Resource"] = objects(statement).replace(/\*$/, pattern);
      });
    expect(iam(diffSnapshots(allow("?"), allow("*")))).toEqual([expect.objectContaining({ direction: "weakened" })]);
  });

  it("when a statement changes where the diff finds neither more nor less, then it is a change to read, not a strengthening", () => {
    const respelt = edit("DenyOtherEncryption", (statement) => {
      statement["Resource"] = [objects(statement), objects(statement)];
    });
    expect(iam(diffSnapshots(clone(), respelt))).toEqual([
      {
        direction: "changed",
        severity: "medium",
        reason: expect.stringMatching(
          /^policy: statement DenyOtherEncryption: changed in a way the diff cannot judge — now /,
        ) as string,
      },
    ]);
  });

  it("when a statement switches between Action and NotAction, then it is read as a new one", () => {
    const toNotAction = edit("DenyOtherEncryption", (statement) => {
      statement["NotAction"] = statement["Action"];
      delete statement["Action"];
    });
    expect(iam(diffSnapshots(clone(), toNotAction))).toEqual([
      expect.objectContaining({
        direction: "weakened",
        severity: "high",
        reason: expect.stringMatching(/^policy: statement DenyOtherEncryption switches to NotAction: denies/) as string,
      }),
    ]);
    const allowNotAction = edit("ElastiCacheExportsRedisSnapshots", (statement) => {
      statement["NotAction"] = statement["Action"];
      delete statement["Action"];
    });
    expect(iam(diffSnapshots(clone(), allowNotAction))).toEqual([
      expect.objectContaining({
        direction: "weakened",
        reason: expect.stringContaining("switches to NotAction: grants") as string,
      }),
    ]);
  });
});

describe("flatten", () => {
  it("when list elements carry a Sid or id, then paths use it so an insertion shifts nothing", () => {
    const leaves = flatten({
      Statement: [
        { Sid: "A", Effect: "Allow" },
        { Sid: "B", Effect: "Deny" },
      ],
      tags: [],
    });
    expect([...leaves]).toEqual([
      ["Statement[Sid=A].Sid", "A"],
      ["Statement[Sid=A].Effect", "Allow"],
      ["Statement[Sid=B].Sid", "B"],
      ["Statement[Sid=B].Effect", "Deny"],
      ["tags", []],
    ]);
  });
});
