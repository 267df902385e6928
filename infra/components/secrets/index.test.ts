import { beforeAll, describe, expect, it } from "vitest";
import { recordStack, type RecordedResource } from "../../planner/record";
import { isSecretValue } from "../../planner/signatures";
import { PlatformSecrets, secretsProblems, type SecretSource } from "./index";

const scope = { accountId: "123456789012", partition: "aws", region: "ap-southeast-1" };
const sources = {
  "db-password": { generate: 32 },
  "db-url": { from: "db-password", compose: (password) => password.apply((p) => `postgresql://u:${p}@db/x`) },
  "api-key": { outOfBand: "the vendor's console" },
} satisfies Record<string, SecretSource>;

let resources: RecordedResource[];
beforeAll(async () => {
  // The raw recording, not the snapshot: the snapshot shows every secret value as `[secret]`.
  ({ resources } = await recordStack({
    project: "paimon",
    stack: "test",
    config: {},
    secretKeys: [],
    environment: { region: scope.region, accountId: scope.accountId },
    program: async () => {
      new PlatformSecrets("secrets", {
        prefix: "paimon/test",
        ...scope,
        kmsKeyArn: "arn:aws:kms:ap-southeast-1:123456789012:key/data",
        recoveryWindowDays: 7,
        secrets: sources,
      });
      return Promise.resolve({});
    },
  }));
});

const version = (name: string) =>
  resources.find((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion" && r.name === name);

describe("PlatformSecrets", () => {
  it("when a secret derives from a generated one, then its version holds the composed value, kept secret", () => {
    const url = version("secrets-db-url")?.inputs["secretString"];
    expect(isSecretValue(url)).toBe(true);
    expect((url as { value: unknown }).value).toBe("postgresql://u:<randomPassword:secrets-db-password.result>@db/x");
    const password = resources.find((r) => r.type === "random:index/randomPassword:RandomPassword");
    expect(password?.name).toBe("secrets-db-password");
    expect(isSecretValue(version("secrets-db-password")?.inputs["secretString"])).toBe(true);
  });

  it("when a secret is set out of band, then it is created without a version", () => {
    expect(resources.some((r) => r.type === "aws:secretsmanager/secret:Secret" && r.name === "secrets-api-key")).toBe(
      true,
    );
    expect(version("secrets-api-key")).toBeUndefined();
  });

  it("when a secret derives from one that is missing, out of band or derived, then each is named", () => {
    const compose = (value: unknown) => String(value);
    expect(secretsProblems(sources)).toEqual([]);
    expect(
      secretsProblems({
        "api-key": { outOfBand: "the vendor's console" },
        "from-nothing": { from: "absent", compose },
        "from-out-of-band": { from: "api-key", compose },
        "from-derived": { from: "from-nothing", compose },
        Bad_Name: { generate: 8 },
      }),
    ).toEqual([
      expect.stringMatching(/^secrets\.from-nothing: derives from "absent"/),
      expect.stringMatching(/^secrets\.from-out-of-band: derives from "api-key"/),
      expect.stringMatching(/^secrets\.from-derived: derives from "from-nothing"/),
      expect.stringMatching(/^secrets\.Bad_Name: names are kebab-case/),
    ]);
  });
});
