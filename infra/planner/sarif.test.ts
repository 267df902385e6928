import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv-draft-04";
import addFormats from "ajv-formats";
import type * as Sarif from "sarif";
import { describe, expect, it } from "vitest";
import { diffSnapshots, type DiffReport } from "./diff";
import type { PolicyViolation } from "./policy";
import { renderSarif, sourceLocator } from "./sarif";
import { parseSnapshot, type PlanSnapshot } from "./snapshot";
import { REPO_ROOT } from "./stacks";

/**
 * The SARIF 2.1.0 schema as OASIS publishes it (its `id`:
 * https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
 * committed byte for byte from
 * https://github.com/oasis-tcs/sarif-spec/blob/a560296ca8c921f3bdb8d4a8db57ab83dae968a7/sarif-2.1/schema/sarif-schema-2.1.0.json
 * It is a draft-04 schema, hence ajv-draft-04.
 */
const schema = JSON.parse(readFileSync(path.join(__dirname, "sarif-schema-2.1.0.json"), "utf8")) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);
const expectValid = (log: unknown) => {
  const valid = validate(log);
  expect(valid ? [] : validate.errors).toEqual([]);
};

const committed = parseSnapshot(
  readFileSync(path.join(__dirname, "..", "plans", "production.json"), "utf8"),
  "infra/plans/production.json",
);
const violation = (
  fields: Partial<PolicyViolation> & Pick<PolicyViolation, "policy" | "message">,
): PolicyViolation => ({
  enforcement: "mandatory",
  severity: "high",
  ...fields,
});
const rule = (snapshot: PlanSnapshot) => {
  const found = snapshot.resources.find((resource) => resource.name === "database-access-from-cluster");
  if (!found) throw new Error("no database-access-from-cluster");
  return found;
};

/** The committed plan, its database opened to the internet, and a new violation on the way. */
function scenario(baseViolations: PolicyViolation[] | undefined) {
  const base: PlanSnapshot = { ...structuredClone(committed) };
  if (baseViolations === undefined) delete base.violations;
  else base.violations = baseViolations;
  const head = structuredClone(committed);
  delete rule(head).inputs["referencedSecurityGroupId"];
  rule(head).inputs["cidrIpv4"] = "0.0.0.0/0";
  const database = head.resources.find((resource) => resource.name === "database-primary");
  head.violations = [
    violation({
      policy: "CKV_AWS_293-rds-deletion-protection",
      checkov: "CKV_AWS_293",
      message: "deletionProtection is off",
      urn: database?.urn ?? "",
      name: "database-primary",
    }),
    violation({ policy: "paimon-production-disaster-recovery", message: "no enabled cross-region replication" }),
    ...(baseViolations ?? []),
  ];
  const report: DiffReport = { base: "origin/main", stacks: [diffSnapshots(base, head)] };
  const log = JSON.parse(
    renderSarif(report, sourceLocator(REPO_ROOT, [...base.resources, ...head.resources])),
  ) as Sarif.Log;
  const run = log.runs[0] as Sarif.Run;
  const results = run.results ?? [];
  const rules = run.tool.driver.rules ?? [];
  const resultOf = (ruleId: string) => {
    const found = results.find((result) => result.ruleId === ruleId);
    if (!found) throw new Error(`no result for ${ruleId}`);
    return found;
  };
  const ruleOf = (id: string) => rules.find((candidate) => candidate.id === id);
  return { log, run, results, rules, resultOf, ruleOf };
}

const physical = (result: Sarif.Result) => result.locations?.[0]?.physicalLocation;

describe("pnpm plan --diff --format sarif", () => {
  it("when a change weakens the plan and breaks policy, then the log is valid SARIF 2.1.0", () => {
    const { log, results } = scenario([]);
    expect(log.version).toBe("2.1.0");
    expect(results.length).toBeGreaterThanOrEqual(3);
    expectValid(log);
  });

  it("when the validator meets a log that breaks the schema, then it refuses it", () => {
    const { log } = scenario([]);
    const broken = structuredClone(log);
    ((broken.runs[0] as Sarif.Run).results?.[0] as { level: string }).level = "critical";
    expect(validate(broken)).toBe(false);
    expect(validate({ version: "2.0.0", runs: [] })).toBe(false);
  });

  it("then each finding and violation is one result, its level from its severity, its rule indexed", () => {
    const { results, rules, resultOf } = scenario([]);
    const exposure = resultOf("plan-diff/network-exposure/weakened");
    expect(exposure.level).toBe("error");
    expect(exposure.message.text).toBe(
      "production: database-access-from-cluster (aws:vpc:SecurityGroupIngressRule) changed: opens 5432/tcp to the internet (0.0.0.0/0)",
    );
    expect(exposure.properties).toMatchObject({ severity: "critical", stack: "production", direction: "weakened" });
    for (const result of results) expect(rules[result.ruleIndex ?? -1]?.id).toBe(result.ruleId);
    expect(new Set(rules.map((candidate) => candidate.id)).size).toBe(rules.length);
  });

  it("then a rule that matches a Checkov check carries its ID in its tags and properties, and GitHub's security severity", () => {
    const { ruleOf } = scenario([]);
    expect(ruleOf("CKV_AWS_293-rds-deletion-protection")).toMatchObject({
      fullDescription: { text: expect.stringMatching(/deletion/i) as string },
      defaultConfiguration: { level: "error" },
      properties: {
        checkov: "CKV_AWS_293",
        tags: expect.arrayContaining(["security", "CKV_AWS_293", "mandatory"]) as string[],
        "security-severity": "8.0",
      },
    });
    expect(ruleOf("paimon-production-disaster-recovery")?.properties?.["checkov"]).toBeUndefined();
    expect(ruleOf("plan-diff/network-exposure/weakened")?.properties?.["security-severity"]).toBe("9.5");
  });

  it("then a finding points at the line of the component source that creates the resource; a stack-wide one at the stack file", () => {
    const { resultOf } = scenario([]);
    const exposure = physical(resultOf("plan-diff/network-exposure/weakened"));
    expect(exposure?.artifactLocation).toEqual({
      uri: "infra/components/data-store-access/index.ts",
      uriBaseId: "%SRCROOT%",
    });
    const source = readFileSync(path.join(REPO_ROOT, "infra/components/data-store-access/index.ts"), "utf8").split(
      "\n",
    );
    expect(source[(exposure?.region?.startLine ?? 0) - 1]).toContain("`${name}-from-cluster`");

    const database = physical(resultOf("CKV_AWS_293-rds-deletion-protection"));
    expect(database?.artifactLocation?.uri).toBe("infra/components/database/index.ts");
    const lines = readFileSync(path.join(REPO_ROOT, "infra/components/database/index.ts"), "utf8").split("\n");
    expect(lines[(database?.region?.startLine ?? 0) - 1]).toContain("`${name}-primary`");

    expect(physical(resultOf("paimon-production-disaster-recovery"))).toEqual({
      artifactLocation: { uri: "Pulumi.production.yaml", uriBaseId: "%SRCROOT%" },
      region: { startLine: 1 },
    });
  });

  it("when the base recorded violations, then new ones are `new`, standing ones `unchanged`, and findings `new`", () => {
    const standing = violation({
      policy: "paimon-image-digest-not-placeholder",
      enforcement: "advisory",
      severity: "low",
      message: "a placeholder digest",
    });
    const { results, resultOf } = scenario([standing]);
    expect(resultOf("CKV_AWS_293-rds-deletion-protection").baselineState).toBe("new");
    expect(resultOf("paimon-image-digest-not-placeholder")).toMatchObject({
      baselineState: "unchanged",
      level: "note",
    });
    expect(resultOf("plan-diff/network-exposure/weakened").baselineState).toBe("new");
    expect(results.every((result) => result.partialFingerprints?.["paimonPlan/v1"]?.length === 32)).toBe(true);
  });

  it("when the base predates recorded violations, then a violation's baseline state is left unsaid", () => {
    const { log, resultOf } = scenario(undefined);
    expect(resultOf("CKV_AWS_293-rds-deletion-protection").baselineState).toBeUndefined();
    expectValid(log);
  });
});
