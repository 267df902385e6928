import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { planStack, planStacks, type StackPlan } from "./planner/plan";
import { serializeSnapshot, type PlannedResource } from "./planner/snapshot";
import { summarize } from "./planner/summary";

/** Both stacks planned fresh, each in its own process, as `pnpm plan` does. */
let plans: Record<string, StackPlan>;
beforeAll(async () => {
  const planned = await planStacks(["staging", "production"]);
  plans = Object.fromEntries(planned.map((plan) => [plan.stack, plan]));
});

const resources = (stack: string, type: string): PlannedResource[] =>
  plans[stack]!.snapshot.resources.filter((resource) => resource.type === type);
const one = (stack: string, type: string, name: string): PlannedResource => {
  const found = resources(stack, type).find((resource) => resource.name === name);
  if (!found) throw new Error(`${stack} has no ${type} ${name}`);
  return found;
};

describe.each(["staging", "production"])("the %s plan", (stack) => {
  it("then its committed snapshot is fresh, byte for byte", () => {
    const committed = readFileSync(path.join(__dirname, "plans", `${stack}.json`), "utf8");
    expect(serializeSnapshot(plans[stack]!.snapshot)).toBe(committed);
  });

  it("then the backup bucket keeps postgres 30, redis 7, secrets 90, timescaledb 30 days, encrypted and private", () => {
    const lifecycle = one(
      stack,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "backups-lifecycle",
    );
    const rules = lifecycle.inputs["rules"] as { filter: { prefix?: string }; expiration: { days?: number } }[];
    expect(
      Object.fromEntries(rules.filter((r) => r.filter.prefix).map((r) => [r.filter.prefix, r.expiration.days])),
    ).toEqual({
      "postgres/": 30,
      "redis/": 7,
      "secrets/": 90,
      "timescaledb/": 30,
    });
    expect(
      one(
        stack,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "backups-encryption",
      ).inputs["rules"],
    ).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "<key:keys-data.arn>" },
        bucketKeyEnabled: true,
      },
    ]);
    expect(
      one(stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access").inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
  });

  it("then the signing key is secp256k1, unrotated and protected; the data key rotates", () => {
    const signing = one(stack, "aws:kms/key:Key", "keys-operator-signing");
    expect(signing.inputs).toMatchObject({
      customerMasterKeySpec: "ECC_SECG_P256K1",
      keyUsage: "SIGN_VERIFY",
      enableKeyRotation: false,
    });
    expect(signing.options?.protect).toBe(true);
    expect(one(stack, "aws:kms/key:Key", "keys-data").inputs["enableKeyRotation"]).toBe(true);
  });

  it("then the provider may only touch the stack's own account and region", () => {
    const provider = one(stack, "pulumi:providers:aws", "aws");
    const account = stack === "production" ? "222222222222" : "111111111111";
    expect(provider.inputs["allowedAccountIds"]).toEqual({ "@json": [account] });
    expect(provider.inputs["region"]).toBe("ap-southeast-1");
  });

  it("then no public IP is handed out on launch in any subnet", () => {
    expect(resources(stack, "aws:ec2/subnet:Subnet").every((s) => s.inputs["mapPublicIpOnLaunch"] === false)).toBe(
      true,
    );
  });

  it("then the printed summary shows the security-relevant settings", () => {
    const text = summarize(plans[stack]!.snapshot);
    for (const expected of [
      "Encryption",
      "customerMasterKeySpec=ECC_SECG_P256K1",
      "deletionWindowInDays=30 protect=true",
      "expire-redis.days=7",
      "blockPublicAcls=true",
      "NobodyDeletesOrDisablesTheOperatorKey: Deny kms:ScheduleKeyDeletion, kms:DisableKey on * to AWS:*",
      "DenyInsecureTransport: Deny s3:*",
    ]) {
      expect(text).toContain(expected);
    }
  });
});

describe("staging against production", () => {
  it("then staging spans two AZs behind one NAT gateway, production three AZs with one NAT each", () => {
    const zones = (stack: string) =>
      new Set(resources(stack, "aws:ec2/subnet:Subnet").map((subnet) => subnet.inputs["availabilityZone"]));
    expect(zones("staging").size).toBe(2);
    expect(zones("production").size).toBe(3);
    expect(resources("staging", "aws:ec2/natGateway:NatGateway")).toHaveLength(1);
    expect(resources("production", "aws:ec2/natGateway:NatGateway")).toHaveLength(3);
  });

  it("then production keeps flow logs and old backup versions longer", () => {
    const retention = (stack: string) =>
      one(stack, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").inputs["retentionInDays"];
    expect([retention("staging"), retention("production")]).toEqual([30, 365]);
  });

  it("then a second planning run in another process produces the same bytes", async () => {
    const again = await planStack("staging");
    expect(serializeSnapshot(again.snapshot)).toBe(serializeSnapshot(plans["staging"]!.snapshot));
  });
});
