/**
 * The access review reads the committed plan snapshots as they are, then the same plan with one
 * grant too many — a second signer through the account's IAM, a grant-maker, a third secret reader.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { accessReviewed } from "./access";
import type { CheckContext } from "./types";
import { ROOT } from "./testing";

const scratch = mkdtempSync(path.join(tmpdir(), "paimon-access-"));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const review = (planFile: string) => accessReviewed.run({ planFile } as CheckContext);

type Plan = { resources: { type: string; name: string; inputs: Record<string, unknown> }[] };
const production = () => JSON.parse(readFileSync(path.join(ROOT, "infra/plans/production.json"), "utf8")) as Plan;
const statementsOf = (resource: { inputs: Record<string, unknown> }) =>
  (resource.inputs["policy"] as { "@json": { Statement: Record<string, unknown>[] } })["@json"].Statement;
const write = (name: string, plan: Plan) => {
  const file = path.join(scratch, name);
  writeFileSync(file, JSON.stringify(plan));
  return file;
};

describe("the access review", () => {
  it.each(["staging", "production"])(
    "when the %s plan is read, then only the rebalance worker signs and only the syncer and the backup read secrets",
    async (stack) => {
      const verdict = await review(path.join(ROOT, `infra/plans/${stack}.json`));
      expect(verdict.status).toBe("pass");
      expect(verdict.evidence).toContain(`keys-operator-signing signers: paimon-${stack}-rebalance-worker;`);
      expect(verdict.evidence).toContain(
        `secret readers: paimon-${stack}-external-secrets, paimon-${stack}-secrets-backup`,
      );
    },
  );

  it("when the key policy lets the account sign and grant, and an IAM policy gives another role kms:*, then that role is a signer and a grant-maker and it fails", async () => {
    const plan = production();
    const key = plan.resources.find(
      (resource) => resource.type === "aws:kms/key:Key" && resource.name === "keys-operator-signing",
    );
    const logs = plan.resources.find((resource) => resource.name === "roles-logShipper-policy");
    if (!key || !logs) throw new Error("the plan lacks the signing key or the log shipper's policy");
    statementsOf(key).push({
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::222222222222:root" },
      Action: ["kms:Sign", "kms:CreateGrant"],
      Resource: "*",
    });
    statementsOf(logs).push({ Effect: "Allow", Action: "kms:*", Resource: "<key:keys-operator-signing.arn>" });
    const verdict = await review(write("signer.json", plan));
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence).toContain(
      "keys-operator-signing signers: paimon-production-log-shipper, paimon-production-rebalance-worker;",
    );
    expect(verdict.evidence).toContain("may create grants: paimon-production-log-shipper");
  });

  it("when another role may read the stack's secrets, then it is named and it fails", async () => {
    const plan = production();
    const backup = plan.resources.find((resource) => resource.name === "roles-postgresBackup-policy");
    if (!backup) throw new Error("the plan lacks the PostgreSQL backup's policy");
    statementsOf(backup).push({
      Effect: "Allow",
      Action: "secretsmanager:Get*",
      Resource: "arn:aws:secretsmanager:ap-southeast-1:222222222222:secret:paimon/production/database-url-*",
    });
    const verdict = await review(write("reader.json", plan));
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence).toContain(
      "secret readers: paimon-production-external-secrets, paimon-production-postgres-backup, paimon-production-secrets-backup",
    );
  });

  it("when no plan is configured, then it says which variable to set", async () => {
    await expect(accessReviewed.run({ planFile: undefined } as CheckContext)).rejects.toThrow("PLAN_FILE is not set");
  });
});
