import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { planStack, type StackPlan } from "./planner/plan";
import type { PlannedResource, PlanSnapshot } from "./planner/snapshot";
import { REPO_ROOT } from "./planner/stacks";
import { stackNames, standbyStackName } from "./names";
import { createTempRoot, type TempRoot } from "./testing/temp-root";

/**
 * The standby stack of runbooks/disaster-recovery.md, built from production's file the way the
 * runbook says, planned like any stack: it must pass the policy pack, sign with the replica the
 * production stack keeps in its region (the same operator address), and not claim the live name.
 */

const REPLICA_ARN = `arn:aws:kms:ap-northeast-1:222222222222:key/mrk-${"0123456789abcdef".repeat(2)}`;
const BACKUPS_ARN = "arn:aws:rds:ap-northeast-1:222222222222:auto-backup:ab-production-postgres";
const STANDBY = standbyStackName("production");

let temp: TempRoot;
let plan: StackPlan;
const production = JSON.parse(
  readFileSync(path.join(REPO_ROOT, "infra", "plans", "production.json"), "utf8"),
) as PlanSnapshot;

beforeAll(async () => {
  temp = createTempRoot();
  const file = parseDocument(temp.read("Pulumi.production.yaml"));
  const set = (key: string, value: unknown) => {
    file.setIn(["config", ...key.split(".")], value);
  };
  set("aws:region", "ap-northeast-1");
  set("paimon:network.cidrBlock", "10.40.0.0/16");
  set("paimon:database.restoreFromBackupsArn", BACKUPS_ARN);
  set("paimon:edge.apiDomain", "api-dr.paimon.fund");
  set("paimon:edge.originDomain", "origin-api-dr.paimon.fund");
  set("paimon:keys.signingKeyArn", REPLICA_ARN);
  file.deleteIn(["config", "paimon:dr"]);
  temp.write(`Pulumi.${STANDBY}.yaml`, file.toString());
  plan = await planStack(STANDBY, { root: temp.root });
}, 120_000);

afterAll(() => {
  temp.remove();
});

const ofType = (snapshot: PlanSnapshot, type: string): PlannedResource[] =>
  snapshot.resources.filter((resource) => resource.type === type);
const one = (snapshot: PlanSnapshot, type: string, name: string): PlannedResource => {
  const found = ofType(snapshot, type).find((resource) => resource.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
/** A policy input, as the snapshot holds it (`{"@json": …}`, a JSON string written into the plan). */
const statements = (resource: PlannedResource, key = "policy"): Record<string, unknown>[] =>
  (resource.inputs[key] as { "@json": { Statement: Record<string, unknown>[] } })["@json"].Statement;

describe(`the standby stack (${STANDBY}), built from production's file as the runbook says`, () => {
  it("then it plans with no mandatory policy violation", () => {
    expect(plan.violations.filter((violation) => violation.enforcement === "mandatory")).toEqual([]);
  });

  it("then it creates no signing key of its own: its rebalance worker signs with production's replica", () => {
    const keys = ofType(plan.snapshot, "aws:kms/key:Key").filter((key) => key.inputs["keyUsage"] === "SIGN_VERIFY");
    expect(keys).toEqual([]);
    expect(statements(one(plan.snapshot, "aws:iam/rolePolicy:RolePolicy", "roles-rebalanceWorker-policy"))).toEqual([
      expect.objectContaining({ Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], Resource: REPLICA_ARN }),
    ]);
  });

  it("then the role production's replica pins is exactly the standby's rebalance worker role", () => {
    const replica = one(production, "aws:kms/replicaKey:ReplicaKey", "keys-operator-signing-replica");
    const pinned = statements(replica).find((statement) => statement["Sid"] === "StandbyRebalanceWorkerSigns");
    const standbyRole = stackNames({
      stack: STANDBY,
      awsAccountId: "222222222222",
      region: "ap-northeast-1",
      namespace: "paimon",
    }).roleName("rebalanceWorker");
    expect(pinned?.["Condition"]).toEqual({
      ArnEquals: { "aws:PrincipalArn": [`arn:aws:iam::222222222222:role/${standbyRole}`] },
    });
    const role = one(plan.snapshot, "aws:iam/role:Role", "roles-rebalanceWorker-role");
    expect(role.inputs["name"]).toBe(standbyRole);
    expect(replica.inputs["region"]).toBe("ap-northeast-1");
    expect(one(production, "aws:kms/key:Key", "keys-operator-signing").inputs["multiRegion"]).toBe(true);
  });

  it("then its database is restored from the replicated backups, and it claims only the -dr names", () => {
    const database = ofType(plan.snapshot, "aws:rds/instance:Instance").find((instance) =>
      JSON.stringify(instance.inputs).includes(BACKUPS_ARN),
    );
    expect(database?.inputs["restoreToPointInTime"]).toMatchObject({
      sourceDbInstanceAutomatedBackupsArn: BACKUPS_ARN,
      useLatestRestorableTime: true,
    });
    const text = JSON.stringify(plan.snapshot.resources.map((resource) => resource.inputs));
    expect(text).toContain("api-dr.paimon.fund");
    expect(text).not.toMatch(/"api\.paimon\.fund"/);
  });
});
