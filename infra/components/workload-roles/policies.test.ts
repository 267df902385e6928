import type * as aws from "@pulumi/aws";
import { DR_DRILL_SCRATCH_TAG as DRILL_SCRATCH_TAG } from "@paimon/core/workloads";
import { describe, expect, it } from "vitest";
import { expandActions, patternCovers } from "../../policy/iam-actions";
import { globMatches } from "../../policy/kubernetes";
import { escalations } from "../../policy/rules/hardening";
import { statementsOf as normalized } from "../../policy/rule";
import { stackNames } from "../../names";
import {
  drDrillPolicy,
  postgresBackupPolicy,
  redisSnapshotPolicy,
  secretsBackupPolicy,
  timescaleBackupPolicy,
} from "./policies";

const BUCKET = "arn:aws:s3:::paimon-staging-backups-111111111111-ap-southeast-1";
const KEY = "arn:aws:kms:ap-southeast-1:111111111111:key/data";
const GROUP = "arn:aws:elasticache:ap-southeast-1:111111111111:replicationgroup:paimon-staging-redis";
const SNAPSHOTS = "arn:aws:elasticache:ap-southeast-1:111111111111:snapshot:paimon-staging-";
const SECRETS = "arn:aws:secretsmanager:ap-southeast-1:111111111111:secret:paimon/staging/*";

const list = (value: unknown): string[] =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]) as string[];
const statementsOf = (policy: aws.iam.PolicyDocument) =>
  (policy.Statement as aws.iam.PolicyStatement[]).map((statement) => ({
    sid: statement.Sid ?? "",
    actions: list(statement.Action).sort(),
    resources: list(statement.Resource).sort(),
    condition: statement.Condition,
  }));
/** Every action a policy grants, with the resources it grants it on. */
const grantsOf = (policy: aws.iam.PolicyDocument) => {
  const granted = new Map<string, string[]>();
  for (const statement of statementsOf(policy))
    for (const action of statement.actions)
      granted.set(action, [...(granted.get(action) ?? []), ...statement.resources]);
  return granted;
};

const POLICIES = {
  postgres: postgresBackupPolicy(BUCKET, KEY),
  timescaledb: timescaleBackupPolicy(BUCKET, KEY),
  secrets: secretsBackupPolicy(SECRETS, BUCKET, KEY),
  redis: redisSnapshotPolicy(GROUP, SNAPSHOTS, BUCKET, KEY),
};

describe("the backup jobs' policies", () => {
  it.each(Object.entries(POLICIES))(
    "then %s adds objects under its own prefix and reads them back, and never deletes elsewhere",
    (kind, policy) => {
      const granted = grantsOf(policy);
      expect(granted.get("s3:PutObject")).toEqual([`${BUCKET}/${kind}/*`]);
      expect(granted.get("s3:GetObject")).toEqual([`${BUCKET}/${kind}/*`]);
      expect(granted.get("s3:AbortMultipartUpload")).toEqual([`${BUCKET}/${kind}/*`]);
      expect(statementsOf(policy).find((s) => s.sid === "ListOwnPrefix")?.condition).toEqual({
        StringLike: { "s3:prefix": [`${kind}/*`] },
      });
      expect(granted.get("s3:DeleteObject") ?? []).toEqual(kind === "redis" ? [`${BUCKET}/redis/*`] : []);
      expect([...granted.keys()].filter((action) => action.startsWith("s3:") && action.includes("*"))).toEqual([]);
    },
  );

  it.each(Object.entries(POLICIES))(
    "then %s uses the data key for SSE-KMS, the read-back and its alias, and nothing else of KMS",
    (_kind, policy) => {
      const kms = [...grantsOf(policy)].filter(([action]) => action.startsWith("kms:"));
      expect(kms).toEqual([
        ["kms:Decrypt", [KEY]],
        ["kms:DescribeKey", [KEY]],
        ["kms:GenerateDataKey", [KEY]],
      ]);
    },
  );

  it.each(Object.entries(POLICIES))(
    "then %s has no wildcard action, no escalation, and `*` only where AWS offers no resource",
    (kind, policy) => {
      for (const statement of statementsOf(policy)) expect(statement.actions.some((a) => a.includes("*"))).toBe(false);
      expect(normalized(policy).flatMap(escalations)).toEqual([]);
      const onEverything = statementsOf(policy).filter((statement) => statement.resources.includes("*"));
      expect(onEverything.flatMap((statement) => statement.actions)).toEqual(
        kind === "secrets" ? ["secretsmanager:ListSecrets"] : kind === "redis" ? ["s3:ListAllMyBuckets"] : [],
      );
    },
  );

  it("then the secrets job reads the stack's secrets and writes none", () => {
    const granted = grantsOf(POLICIES.secrets);
    expect(granted.get("secretsmanager:GetSecretValue")).toEqual([SECRETS]);
    expect([...expandActions([...granted.keys()])].filter((action) => action.startsWith("secretsmanager:"))).toEqual([
      "secretsmanager:GetSecretValue",
      "secretsmanager:ListSecrets",
    ]);
  });

  it("then the Redis job snapshots the one group, touches only its own snapshots, and exports only into redis/", () => {
    const granted = grantsOf(POLICIES.redis);
    expect(granted.get("elasticache:CreateSnapshot")?.sort()).toEqual([GROUP, `${SNAPSHOTS}*`].sort());
    expect(granted.get("elasticache:DescribeSnapshots")).toEqual([`${SNAPSHOTS}*`]);
    expect(granted.get("elasticache:DeleteSnapshot")).toEqual([`${SNAPSHOTS}*`]);
    expect(granted.get("elasticache:CopySnapshot")?.sort()).toEqual(
      [`${SNAPSHOTS}*`, "arn:aws:elasticache:ap-southeast-1:111111111111:snapshot:redis/*"].sort(),
    );
    expect([...granted.keys()].filter((action) => action.startsWith("elasticache:")).sort()).toEqual([
      "elasticache:CopySnapshot",
      "elasticache:CreateSnapshot",
      "elasticache:DeleteSnapshot",
      "elasticache:DescribeSnapshots",
    ]);
    expect(granted.get("s3:GetBucketLocation")).toEqual([BUCKET]);
    expect(granted.get("s3:ListAllMyBuckets")).toEqual(["*"]);
  });
});

describe("the DR drill's policy", () => {
  const names = stackNames({
    stack: "staging",
    awsAccountId: "111111111111",
    region: "ap-southeast-1",
    namespace: "fund",
  });
  const rds = (type: string, name: string) => `arn:aws:rds:ap-southeast-1:111111111111:${type}:${name}`;
  const live = rds("db", names.databaseInstance);
  const replica = rds("db", `${names.databaseInstance}-replica-1`);
  const scratch = rds("db", `${names.drillScratchPrefix}20261201t134500123z`);
  const policy = drDrillPolicy({
    sourceInstanceArn: live,
    scratchInstanceArnPrefix: rds("db", names.drillScratchPrefix),
    subnetGroupArn: rds("subgrp", names.databaseInstance),
    parameterGroupArn: rds("pg", `${names.databaseInstance}-pg16`),
    defaultOptionGroupArns: rds("og", "default:postgres-*"),
    bucketArn: BUCKET,
    dataKeyArn: KEY,
    region: "ap-southeast-1",
  });
  const drillTag = { [`aws:RequestTag/${DRILL_SCRATCH_TAG.key}`]: DRILL_SCRATCH_TAG.value };
  const taggedAsDrill = { [`rds:db-tag/${DRILL_SCRATCH_TAG.key}`]: DRILL_SCRATCH_TAG.value };

  /**
   * Whether the policy allows `action` on `resource` in a request with `context`, as IAM decides
   * it for an identity policy without denials: an Allow statement whose action and resource
   * patterns match and all of whose conditions hold (StringEquals and Bool; an absent key fails).
   */
  const allows = (action: string, resource: string, context: Record<string, string> = {}) =>
    normalized(policy).some(
      (statement) =>
        statement.Effect === "Allow" &&
        statement.Action.some((pattern) => patternCovers(pattern, action)) &&
        statement.Resource.some((pattern) => globMatches(pattern, resource)) &&
        Object.entries((statement.Condition ?? {}) as Record<string, Record<string, string | string[]>>).every(
          ([operator, keys]) => {
            if (operator !== "StringEquals" && operator !== "Bool")
              throw new Error(`the test cannot evaluate ${operator}`);
            return Object.entries(keys).every(([key, values]) => {
              const value = context[key];
              return value !== undefined && (Array.isArray(values) ? values : [values]).includes(value);
            });
          },
        ),
    );

  const CHANGES = [
    "rds:DeleteDBInstance",
    "rds:ModifyDBInstance",
    "rds:RebootDBInstance",
    "rds:StopDBInstance",
    "rds:AddTagsToResource",
    "rds:RemoveTagsFromResource",
    "rds:PromoteReadReplica",
    "rds:CreateDBSnapshot",
  ];

  it.each([
    ["the live instance", live],
    ["its read replica", replica],
  ])("then it can change nothing of %s, whatever tags the request or the instance carry", (_what, arn) => {
    for (const action of CHANGES) {
      expect(allows(action, arn), action).toBe(false);
      expect(allows(action, arn, { ...drillTag, ...taggedAsDrill }), action).toBe(false);
    }
    expect(allows("rds:DescribeDBInstances", live)).toBe(true);
  });

  it("then it may list every instance of the region, to find the scratches earlier drills left behind, and do nothing else to one outside the prefix", () => {
    expect(grantsOf(policy).get("rds:DescribeDBInstances")).toEqual([rds("db", "*")]);
    const other = rds("db", "paimon-staging-other");
    expect(
      normalized(policy)
        .filter((statement) => statement.Resource.some((pattern) => globMatches(pattern, other)))
        .flatMap((statement) => statement.Action),
    ).toEqual(["rds:DescribeDBInstances"]);
  });

  it("then the live instance's identifier is not under the scratch prefix", () => {
    expect(names.databaseInstance.startsWith(names.drillScratchPrefix)).toBe(false);
    expect(`${names.databaseInstance}-replica-1`.startsWith(names.drillScratchPrefix)).toBe(false);
  });

  it("then it restores the live instance only into the prefix, and only with the drill's tag in the request", () => {
    const restore = "rds:RestoreDBInstanceToPointInTime";
    for (const arn of [live, scratch, rds("subgrp", names.databaseInstance), rds("og", "default:postgres-16")])
      expect(allows(restore, arn, drillTag), arn).toBe(true);
    expect(allows(restore, scratch)).toBe(false);
    expect(allows(restore, rds("db", "paimon-staging-other"), drillTag)).toBe(false);
    expect(allows("rds:AddTagsToResource", scratch, drillTag)).toBe(true);
    expect(allows("rds:AddTagsToResource", scratch)).toBe(false);
  });

  it("then it deletes a scratch instance only while it carries the drill's tag", () => {
    expect(allows("rds:DeleteDBInstance", scratch, taggedAsDrill)).toBe(true);
    expect(allows("rds:ModifyDBInstance", scratch, taggedAsDrill)).toBe(true);
    expect(allows("rds:DeleteDBInstance", scratch)).toBe(false);
    expect(allows("rds:DeleteDBInstance", scratch, { [`rds:db-tag/${DRILL_SCRATCH_TAG.key}`]: "other" })).toBe(false);
  });

  it("then it writes its backup under postgres/ and its record under drills/, reads back only its backup, deletes nothing", () => {
    const granted = grantsOf(policy);
    expect(granted.get("s3:PutObject")?.sort()).toEqual([`${BUCKET}/drills/*`, `${BUCKET}/postgres/*`]);
    expect(granted.get("s3:GetObject")).toEqual([`${BUCKET}/postgres/*`]);
    expect([...granted.keys()].filter((action) => action.startsWith("s3:")).sort()).toEqual([
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]);
  });

  it("then it uses the data key as a backup job does, and grants it only to RDS, for AWS resources", () => {
    const kms = [...grantsOf(policy)].filter(([action]) => action.startsWith("kms:"));
    expect(kms).toEqual([
      ["kms:CreateGrant", [KEY]],
      ["kms:Decrypt", [KEY]],
      ["kms:DescribeKey", [KEY]],
      ["kms:GenerateDataKey", [KEY]],
    ]);
    expect(allows("kms:CreateGrant", KEY)).toBe(false);
    expect(
      allows("kms:CreateGrant", KEY, {
        "kms:GrantIsForAWSResource": "true",
        "kms:ViaService": "s3.ap-southeast-1.amazonaws.com",
      }),
    ).toBe(false);
    expect(
      allows("kms:CreateGrant", KEY, {
        "kms:GrantIsForAWSResource": "true",
        "kms:ViaService": "rds.ap-southeast-1.amazonaws.com",
      }),
    ).toBe(true);
  });

  it("then it has no wildcard action, no escalation, and nothing on `*`", () => {
    for (const statement of statementsOf(policy)) {
      expect(statement.actions.some((a) => a.includes("*"))).toBe(false);
      expect(statement.resources).not.toContain("*");
    }
    expect(normalized(policy).flatMap(escalations)).toEqual([]);
  });
});
