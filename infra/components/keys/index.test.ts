import { beforeAll, describe, expect, it } from "vitest";
import { recordComponents, policyOf, type Recorded } from "../../testing/record";
import { DataKey, SIGNING_KEY_SPEC, SigningKey } from "./index";

const scope = { accountId: "123456789012", partition: "aws", region: "ap-southeast-1" };
const workerRole = "arn:aws:iam::123456789012:role/paimon-test-rebalance-worker";

let recorded: Recorded;
beforeAll(async () => {
  recorded = await recordComponents(() => {
    new DataKey("keys", { aliasPrefix: "paimon-test", scope });
    new SigningKey("keys", { aliasPrefix: "paimon-test", scope });
    new SigningKey("signed", { aliasPrefix: "paimon-signed", scope, signerRoleArns: [workerRole] });
  });
});

const KEY = "aws:kms/key:Key";

describe("DataKey and SigningKey", () => {
  it("then the data key is symmetric, rotated yearly, and usable by CloudWatch Logs of this account only", () => {
    const key = recorded.named("keys-data", KEY);
    expect(key.inputs).toMatchObject({
      keyUsage: "ENCRYPT_DECRYPT",
      customerMasterKeySpec: "SYMMETRIC_DEFAULT",
      enableKeyRotation: true,
      rotationPeriodInDays: 365,
      deletionWindowInDays: 30,
    });
    const logs = policyOf(key).Statement.find((s) => s["Sid"] === "CloudWatchLogsEncryptsThisAccountsLogGroups");
    expect(logs).toMatchObject({
      Principal: { Service: "logs.ap-southeast-1.amazonaws.com" },
      Condition: {
        ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:ap-southeast-1:123456789012:log-group:*" },
      },
    });
  });

  it("then the signing key is secp256k1 SIGN_VERIFY, never rotated, and protected from deletion", () => {
    const key = recorded.named("keys-operator-signing", KEY);
    expect(key.inputs).toMatchObject({
      keyUsage: "SIGN_VERIFY",
      customerMasterKeySpec: SIGNING_KEY_SPEC,
      enableKeyRotation: false,
      deletionWindowInDays: 30,
    });
    expect(SIGNING_KEY_SPEC).toBe("ECC_SECG_P256K1");
    expect(key.options?.protect).toBe(true);
    const deny = policyOf(key).Statement.find((s) => s["Effect"] === "Deny");
    expect(deny).toMatchObject({ Principal: { AWS: "*" }, Action: ["kms:ScheduleKeyDeletion", "kms:DisableKey"] });
  });

  it("when no signer role exists yet, then nobody may sign: the account administers without kms:Sign", () => {
    const statements = policyOf(recorded.named("keys-operator-signing", KEY)).Statement;
    const granted = statements.filter((s) => s["Effect"] === "Allow").flatMap((s) => s["Action"] as string[]);
    expect(granted).not.toContain("kms:Sign");
    expect(granted.some((action) => action === "kms:*" || action === "kms:Sign*")).toBe(false);
  });

  it("then the account administers the signing key by named actions: no wildcard, no kms:CreateGrant", () => {
    const admin = policyOf(recorded.named("keys-operator-signing", KEY)).Statement.find(
      (s) => s["Sid"] === "AccountAdministersButCannotSign",
    );
    const actions = admin?.["Action"] as string[];
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action.includes("*"))).toEqual([]);
    expect(actions).not.toContain("kms:CreateGrant");
    expect(actions).not.toContain("kms:Sign");
  });

  it("when the worker's role is given, then exactly that role may sign and read the public key", () => {
    const statements = policyOf(recorded.named("signed-operator-signing", KEY)).Statement;
    const signers = statements.filter((s) => (s["Action"] as string[]).includes("kms:Sign"));
    expect(signers).toEqual([expect.objectContaining({ Effect: "Allow", Principal: { AWS: [workerRole] } })]);
    expect(signers[0]!["Action"]).toEqual(["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]);
  });

  it("then each key has its alias", () => {
    expect(
      recorded
        .ofType("aws:kms/alias:Alias")
        .map((a) => a.inputs["name"])
        .sort(),
    ).toEqual(["alias/paimon-signed-operator-signing", "alias/paimon-test-data", "alias/paimon-test-operator-signing"]);
  });
});
