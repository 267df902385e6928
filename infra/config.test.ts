import { describe, expect, it } from "vitest";
import { readStackFile } from "./planner/stacks";
import { StackConfigError, parseStackConfig } from "./config";

const staging = readStackFile("staging").config;

function withValue(key: string, mutate: (value: Record<string, unknown>) => void): Record<string, string> {
  const value = JSON.parse(staging[key]!) as Record<string, unknown>;
  mutate(value);
  return { ...staging, [key]: JSON.stringify(value) };
}

function problemsOf(values: Record<string, string>, stack = "staging"): string {
  try {
    parseStackConfig(values, stack);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be refused");
}

describe("parseStackConfig", () => {
  it.each(["staging", "production"])("when %s's committed file is read, then it validates", (stack) => {
    const config = parseStackConfig(readStackFile(stack).config, stack);
    expect(config.environment).toBe(stack);
    expect(Object.isFrozen(config.network)).toBe(true);
  });

  it("then staging and production differ as the design's table says", () => {
    const s = parseStackConfig(readStackFile("staging").config, "staging");
    const p = parseStackConfig(readStackFile("production").config, "production");
    expect([s.network.availabilityZoneCount, s.network.natGateways]).toEqual([2, "single"]);
    expect([p.network.availabilityZoneCount, p.network.natGateways]).toEqual([3, "one-per-az"]);
    for (const config of [s, p])
      expect(config.backups.retentionDays).toEqual({ postgres: 30, redis: 7, secrets: 90, timescaledb: 30 });
  });

  it("when a key is missing, then the error names the file and the key", () => {
    const rest = Object.fromEntries(Object.entries(staging).filter(([key]) => key !== "paimon:keys"));
    expect(problemsOf(rest)).toBe("Pulumi.staging.yaml: paimon:keys: missing (expected object)");
  });

  it("when a nested value is out of range, then the error names its full path", () => {
    const values = withValue("paimon:network", (network) => (network["availabilityZoneCount"] = 1));
    expect(problemsOf(values)).toMatch(/^Pulumi\.staging\.yaml: paimon:network\.availabilityZoneCount: .*>=2/);
  });

  it("when a key is misspelt, then it is reported as unknown instead of silently ignored", () => {
    expect(problemsOf({ ...staging, "paimon:netwrok": "{}" })).toContain("paimon:netwrok: unknown key");
    const values = withValue("paimon:backups", (backups) => (backups["retentionDay"] = {}));
    expect(problemsOf(values)).toContain("paimon:backups.retentionDay: unknown key");
  });

  it("when several keys are wrong, then every one is reported at once", () => {
    const values = withValue("paimon:network", (network) => {
      network["cidrBlock"] = "10.20.0.1/16";
      network["natGateways"] = "many";
      network["flowLogRetentionDays"] = 31;
    });
    const message = problemsOf({ ...values, "aws:region": "Mars" });
    expect(message).toContain("paimon:network.cidrBlock: must be an IPv4 network block");
    expect(message).toContain("paimon:network.natGateways:");
    expect(message).toContain("paimon:network.flowLogRetentionDays: must be one of CloudWatch Logs' retention values");
    expect(message).toContain("aws:region: must be an AWS region");
  });

  it("when a standby names its primary's signing key replica, then it must be a multi-Region key here, with no dr", () => {
    const config = parseStackConfig(readStackFile("staging").config, "staging");
    const replica = `arn:aws:kms:${config.region}:${config.awsAccountId}:key/mrk-${"0123456789abcdef".repeat(2)}`;
    const signWith = (arn: string) => withValue("paimon:keys", (keys) => (keys["signingKeyArn"] = arn));
    expect(parseStackConfig(signWith(replica), "staging").keys.signingKeyArn).toBe(replica);
    expect(problemsOf(signWith(replica.replace("mrk-", "")))).toContain(
      "paimon:keys.signingKeyArn: must be the ARN of a multi-Region key",
    );
    expect(problemsOf(signWith(replica.replace(config.region, "eu-west-1")))).toContain(
      "paimon:keys.signingKeyArn: must name a key in this stack's region and account",
    );
    const production = readStackFile("production").config;
    const keys = JSON.parse(production["paimon:keys"]!) as Record<string, unknown>;
    const primary = parseStackConfig(production, "production");
    keys["signingKeyArn"] = `arn:aws:kms:${primary.region}:${primary.awsAccountId}:key/mrk-${"ab".repeat(16)}`;
    expect(problemsOf({ ...production, "paimon:keys": JSON.stringify(keys) }, "production")).toContain(
      "paimon:keys.signingKeyArn: a stack that signs with another stack's replica is a standby",
    );
  });

  it("when the account id is unquoted digits or short, then it is refused", () => {
    expect(problemsOf({ ...staging, "paimon:awsAccountId": "12345" })).toContain(
      "paimon:awsAccountId: must be the 12-digit AWS account id",
    );
  });

  it("when a structured value has the wrong type, then the error says what was expected", () => {
    const values = withValue("paimon:backups", (backups) => (backups["forceDestroy"] = "no"));
    expect(problemsOf(values)).toMatch(/paimon:backups\.forceDestroy: .*boolean/);
  });

  it("when the environment does not match the stack, then it is refused (a copied file must be edited)", () => {
    expect(problemsOf(staging, "production")).toBe(
      'Pulumi.production.yaml: paimon:environment: "staging" does not match stack "production" (name personal stacks <environment>-<suffix>)',
    );
    expect(parseStackConfig(staging, "staging-alice").stack).toBe("staging-alice");
  });
});
