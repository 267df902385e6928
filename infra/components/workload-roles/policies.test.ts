import type * as aws from "@pulumi/aws";
import { describe, expect, it } from "vitest";
import { expandActions } from "../../policy/iam-actions";
import { escalations } from "../../policy/rules/hardening";
import { statementsOf as normalized } from "../../policy/rule";
import { postgresBackupPolicy, redisSnapshotPolicy, secretsBackupPolicy, timescaleBackupPolicy } from "./policies";

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
