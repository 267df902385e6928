import { beforeAll, describe, expect, it } from "vitest";
import { recordComponents, policyOf, type Recorded } from "../../testing/record";
import { DataKey, SIGNING_KEY_SPEC, SigningKey } from "./index";

const scope = { accountId: "123456789012", partition: "aws", region: "ap-southeast-1" };
const workerRole = "arn:aws:iam::123456789012:role/paimon-test-rebalance-worker";
const standbyRole = "arn:aws:iam::123456789012:role/paimon-test-dr-rebalance-worker";

let recorded: Recorded;
beforeAll(async () => {
  recorded = await recordComponents(() => {
    new DataKey("keys", { aliasPrefix: "paimon-test", scope });
    new SigningKey("keys", { aliasPrefix: "paimon-test", scope });
    new SigningKey("signed", { aliasPrefix: "paimon-signed", scope, signerRoleArns: [workerRole] });
    new SigningKey("replicated", {
      aliasPrefix: "paimon-replicated",
      scope,
      signerRoleArns: [workerRole],
      replica: { region: "ap-northeast-1", standbySignerRoleArns: [standbyRole] },
    });
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
    ).toEqual([
      "alias/paimon-replicated-operator-signing",
      "alias/paimon-replicated-operator-signing", // the replica's, in the standby region
      "alias/paimon-signed-operator-signing",
      "alias/paimon-test-data",
      "alias/paimon-test-operator-signing",
    ]);
  });

  it("when a standby region is kept, then the key is multi-Region and the account may replicate it there only", () => {
    const key = recorded.named("replicated-operator-signing", KEY);
    expect(key.inputs["multiRegion"]).toBe(true);
    expect(recorded.named("signed-operator-signing", KEY).inputs["multiRegion"]).toBeUndefined();
    const replicate = policyOf(key).Statement.filter((s) => s["Action"] === "kms:ReplicateKey");
    expect(replicate).toEqual([
      expect.objectContaining({
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Condition: { StringEquals: { "kms:ReplicaRegion": "ap-northeast-1" } },
      }),
    ]);
  });

  it("then the replica is protected, in the standby region, and only the standby worker's pinned role may sign", () => {
    const replica = recorded.named("replicated-operator-signing-replica", "aws:kms/replicaKey:ReplicaKey");
    expect(replica.inputs).toMatchObject({ region: "ap-northeast-1", deletionWindowInDays: 30 });
    expect(replica.options?.protect).toBe(true);
    const statements = policyOf(replica).Statement;
    const signers = statements.filter((s) => ([s["Action"]].flat() as string[]).includes("kms:Sign"));
    expect(signers).toEqual([
      expect.objectContaining({
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Condition: { ArnEquals: { "aws:PrincipalArn": [standbyRole] } },
      }),
    ]);
    expect(statements.find((s) => s["Effect"] === "Deny")).toMatchObject({
      Action: ["kms:ScheduleKeyDeletion", "kms:DisableKey"],
    });
    expect(statements.some((s) => s["Action"] === "kms:ReplicateKey")).toBe(false);
    const alias = recorded.ofType("aws:kms/alias:Alias").find((a) => a.name === "replicated-operator-signing-replica");
    expect(alias?.inputs).toMatchObject({ region: "ap-northeast-1", name: "alias/paimon-replicated-operator-signing" });
  });
});
