import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type * as Sarif from "sarif";
import { policies } from "../policy/policies";
import type { DiffReport, StackDiff } from "./diff";
import { SEVERITY_RANK, type Finding, type ResourceRef, type Severity } from "./findings";
import { shortType } from "./format";
import type { PolicyViolation } from "./policy";
import { SECURITY_CATEGORIES } from "./security";

/**
 * `pnpm plan --diff <ref> --format sarif`: the report as SARIF 2.1.0, for GitHub code scanning.
 * One result per finding and per policy violation; a finding is a change against the base, so it
 * is `new`; a violation is `new` or `unchanged` against the base's recorded ones (resolved ones
 * are left out: an alert absent from the next upload is closed).
 *
 * Where a result points: the component source that defines the resource — the line that creates
 * it where it can be found, else the component's class — because that is what a reviewer opens
 * to fix it, and what a pull request that introduced the change most often touches; a resource
 * outside any component, and a finding about the stack as a whole, point at `Pulumi.<stack>.yaml`.
 */

export const SARIF_SCHEMA =
  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const TOOL = "paimon-plan";

/** A place in the repository: a path relative to its root, and a line (1-based). */
export interface SourceLocation {
  readonly uri: string;
  readonly line: number;
}
/** Where a stack's resource (by URN) is defined; `undefined` for the stack as a whole. */
export type Locate = (stack: string, urn: string | undefined) => SourceLocation;

/** GitHub ranks security alerts by this number (critical ≥ 9, high ≥ 7, medium ≥ 4, low > 0). */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "2.0",
};
const LEVEL: Readonly<Record<Severity, Sarif.Result.level>> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
};

const fingerprint = (...parts: readonly string[]) =>
  createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);

const plain = (text: string) => text.replace(/\*\*/g, "");

/** The type token and the instance name of the component nearest to a resource, from its URN. */
function componentOf(resource: ResourceRef): { type: string; name: string } | undefined {
  const qualified = resource.urn.split("::")[2] ?? "";
  const types = qualified.split("$");
  if (resource.type.startsWith("paimon:")) return { type: resource.type, name: resource.name };
  const parentType = [...types.slice(0, -1)].reverse().find((type) => type.startsWith("paimon:"));
  const parentName = resource.parent?.split("::").pop();
  return parentType && parentName ? { type: parentType, name: parentName } : undefined;
}

function sourceFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory).flatMap((entry) => {
    const full = path.join(directory, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return entry.endsWith(".ts") && !entry.endsWith(".test.ts") ? [full] : [];
  });
}

/**
 * Locates the resources of the plans (base and head: a removed resource is in the base only) in
 * the repository at `root`: each component class by the type token its constructor passes to
 * `super`, each child by the name template that creates it (`` `${name}-primary` ``) or else by
 * its class (`.Instance(`), a Kubernetes object in its chart's source (infra/k8s/<chart>-chart.ts).
 */
export function sourceLocator(root: string, resources: readonly ResourceRef[]): Locate {
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
  const lines = new Map<string, string[]>();
  const read = (file: string) => {
    let found = lines.get(file);
    if (!found) {
      found = readFileSync(path.join(root, file), "utf8").split("\n");
      lines.set(file, found);
    }
    return found;
  };
  const lineOf = (file: string, test: (line: string) => boolean): number | undefined => {
    const index = read(file).findIndex(test);
    return index < 0 ? undefined : index + 1;
  };
  const classes = new Map<string, SourceLocation>();
  for (const full of sourceFiles(path.join(root, "infra", "components"))) {
    const file = path.relative(root, full).split(path.sep).join("/");
    read(file).forEach((line, index) => {
      const type = /super\(\s*"(paimon:[^"]+)"/.exec(line)?.[1];
      if (type && !classes.has(type)) classes.set(type, { uri: file, line: index + 1 });
    });
  }
  const chartFile = (name: string) => {
    const file = `infra/k8s/${name.split("-")[0] ?? ""}-chart.ts`;
    return existsSync(path.join(root, file)) ? file : undefined;
  };

  return (stack, urn) => {
    const stackFile = { uri: `Pulumi.${stack}.yaml`, line: 1 };
    const resource = urn === undefined ? undefined : byUrn.get(urn);
    if (!resource) return stackFile;
    const component = componentOf(resource);
    const defined = component ? classes.get(component.type) : undefined;
    if (!component || !defined) return stackFile;
    if (resource.type.startsWith("paimon:")) return defined;
    const kind = resource.type.split(":").pop() ?? "";
    if (resource.type.startsWith("kubernetes:") && !resource.type.startsWith("kubernetes:helm.sh/")) {
      const chart = chartFile(resource.name);
      if (chart)
        return { uri: chart, line: lineOf(chart, (line) => new RegExp(`\\b(Kube)?${kind}\\(`).test(line)) ?? 1 };
    }
    const suffix = resource.name.startsWith(`${component.name}-`) ? resource.name.slice(component.name.length) : "";
    const byName = suffix === "" ? undefined : lineOf(defined.uri, (text) => text.includes(`\${name}${suffix}\``));
    const line = byName ?? lineOf(defined.uri, (text) => text.includes(`.${kind}(`)) ?? defined.line;
    return { uri: defined.uri, line };
  };
}

interface Entry {
  readonly rule: Sarif.ReportingDescriptor;
  readonly severity: Severity;
  readonly result: Omit<Sarif.Result, "ruleIndex">;
}

const location = (where: SourceLocation, name: string | undefined): Sarif.Location => ({
  physicalLocation: {
    artifactLocation: { uri: where.uri, uriBaseId: "%SRCROOT%" },
    region: { startLine: where.line },
  },
  ...(name ? { logicalLocations: [{ name, kind: "resource" }] } : {}),
});

const DESCRIPTIONS = new Map(policies.map((policy) => [policy.name, policy.description]));

function findingEntry(diff: StackDiff, finding: Finding, locate: Locate): Entry {
  const id = `plan-diff/${finding.category}/${finding.direction}`;
  const title = `${SECURITY_CATEGORIES[finding.category]}: ${finding.direction}`;
  return {
    severity: finding.severity,
    rule: {
      id,
      name: title,
      shortDescription: { text: title },
      fullDescription: {
        text: `A change of the plan against the base that the classifier marks ${finding.direction} (${SECURITY_CATEGORIES[finding.category]}).`,
      },
      properties: { tags: ["security", "plan-diff", finding.category] },
    },
    result: {
      ruleId: id,
      level: LEVEL[finding.severity],
      message: {
        text: `${diff.stack}: ${finding.name} (${shortType(finding.type)}) ${finding.kind}: ${plain(finding.reason)}`,
      },
      locations: [location(locate(diff.stack, finding.urn), finding.urn)],
      baselineState: "new",
      partialFingerprints: {
        "paimonPlan/v1": fingerprint(diff.stack, id, finding.urn, finding.path ?? "", finding.reason),
      },
      properties: { severity: finding.severity, stack: diff.stack, direction: finding.direction },
    },
  };
}

function violationEntry(
  diff: StackDiff,
  violation: PolicyViolation,
  baselineState: Sarif.Result.baselineState | undefined,
  locate: Locate,
): Entry {
  return {
    severity: violation.severity,
    rule: {
      id: violation.policy,
      name: violation.policy,
      shortDescription: { text: violation.policy },
      fullDescription: { text: DESCRIPTIONS.get(violation.policy) ?? violation.policy },
      properties: {
        tags: ["security", "policy", violation.enforcement, ...(violation.checkov ? [violation.checkov] : [])],
        ...(violation.checkov ? { checkov: violation.checkov } : {}),
        enforcement: violation.enforcement,
      },
    },
    result: {
      ruleId: violation.policy,
      level: LEVEL[violation.severity],
      message: {
        text: `${diff.stack}: ${violation.name ?? "(stack)"}: ${violation.message}${violation.enforcement === "mandatory" ? " (mandatory: the plan is refused)" : ""}`,
      },
      locations: [location(locate(diff.stack, violation.urn), violation.urn)],
      ...(baselineState ? { baselineState } : {}),
      partialFingerprints: {
        "paimonPlan/v1": fingerprint(diff.stack, violation.policy, violation.urn ?? "", violation.message),
      },
      properties: { severity: violation.severity, stack: diff.stack, enforcement: violation.enforcement },
    },
  };
}

/** The report as a SARIF 2.1.0 log, pretty-printed. */
export function renderSarif(report: DiffReport, locate: Locate): string {
  const entries: Entry[] = report.stacks.flatMap((diff) => {
    const policy = diff.policy?.baseKnown === true ? diff.policy : undefined;
    const known = policy !== undefined;
    const introduced = policy ? policy.introduced : (diff.violations ?? []);
    const existing = policy ? policy.existing : [];
    return [
      ...diff.findings.map((finding) => findingEntry(diff, finding, locate)),
      ...introduced.map((violation) => violationEntry(diff, violation, known ? "new" : undefined, locate)),
      ...existing.map((violation) => violationEntry(diff, violation, "unchanged", locate)),
    ];
  });
  const rules = new Map<string, { descriptor: Sarif.ReportingDescriptor; worst: Severity }>();
  for (const { rule, severity } of entries) {
    const seen = rules.get(rule.id);
    if (!seen || SEVERITY_RANK[severity] < SEVERITY_RANK[seen.worst])
      rules.set(rule.id, { descriptor: rule, worst: severity });
  }
  const ids = [...rules.keys()].sort();
  const log: Sarif.Log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: TOOL,
            rules: ids.map((id) => {
              const { descriptor, worst } = rules.get(id) as { descriptor: Sarif.ReportingDescriptor; worst: Severity };
              return {
                ...descriptor,
                defaultConfiguration: { level: LEVEL[worst] },
                // A rule's rank in GitHub is its worst result's in this run; each result keeps its own level.
                properties: { ...descriptor.properties, "security-severity": SECURITY_SEVERITY[worst] },
              };
            }),
          },
        },
        automationDetails: { id: `plan-diff/${report.stacks.map((diff) => diff.stack).join("+")}/` },
        originalUriBaseIds: { "%SRCROOT%": { description: { text: "The repository root." } } },
        results: entries.map(({ result }) => ({ ...result, ruleIndex: ids.indexOf(result.ruleId ?? "") })),
        properties: {
          base: report.base,
          resolvedPolicyViolations: report.stacks.reduce((sum, diff) => sum + (diff.policy?.resolved.length ?? 0), 0),
        },
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
