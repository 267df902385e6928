import { imagesOf, placeholderDigestOf } from "../policy/rules/workloads";
import { flatten } from "./diff";
import type { PolicyViolation } from "./policy";
import { columns, formatValue, shortPath, shortType } from "./format";
import { SECURITY_CATEGORIES, categorize, type SecurityCategory } from "./security";
import { JSON_DOCUMENT_KEY, type Json, type PlannedResource, type PlanSnapshot } from "./snapshot";

/** One security-relevant setting of one resource, as the summary prints it. */
export interface SecurityFact {
  readonly category: SecurityCategory;
  readonly resource: string;
  readonly text: string;
}

/** Input properties that hold IAM-style policy documents. */
const POLICY_PROPERTIES = ["policy", "assumeRolePolicy", "accessPolicies"] as const;

type Statement = { [key: string]: Json };

function list(value: Json | undefined): string {
  if (value === undefined) return "";
  return Array.isArray(value) ? value.map((item) => formatValue(item, 200)).join(", ") : formatValue(value, 200);
}

/** `Allow s3:GetObject on <arn> to Service:x if Bool aws:SecureTransport=false` */
export function describeStatement(statement: Statement): string {
  const parts = [formatValue(statement["Effect"] ?? "?")];
  parts.push(list(statement["Action"] ?? (statement["NotAction"] ? `NOT ${list(statement["NotAction"])}` : "?")));
  const resource = statement["Resource"] ?? statement["NotResource"];
  if (resource !== undefined) parts.push(`on ${list(resource)}`);
  const principal = statement["Principal"];
  if (principal !== undefined) {
    parts.push(
      `to ${
        typeof principal === "string"
          ? principal
          : Object.entries(principal as { [key: string]: Json })
              .map(([kind, who]) => `${kind}:${list(who)}`)
              .join(" ")
      }`,
    );
  }
  const condition = statement["Condition"];
  if (condition && typeof condition === "object" && !Array.isArray(condition)) {
    const terms = Object.entries(condition).flatMap(([operator, clauses]) =>
      Object.entries(clauses as { [key: string]: Json }).map(([key, value]) => `${operator} ${key}=${list(value)}`),
    );
    parts.push(`if ${terms.join(" and ")}`);
  }
  return parts.join(" ");
}

function policyStatements(resource: PlannedResource): { property: string; statement: Statement }[] {
  return POLICY_PROPERTIES.flatMap((property) => {
    const value = resource.inputs[property];
    const document = value && typeof value === "object" && !Array.isArray(value) ? value[JSON_DOCUMENT_KEY] : undefined;
    const statements =
      document && typeof document === "object" && !Array.isArray(document) ? document["Statement"] : undefined;
    return (Array.isArray(statements) ? statements : statements ? [statements] : [])
      .filter(
        (statement): statement is Statement =>
          !!statement && typeof statement === "object" && !Array.isArray(statement),
      )
      .map((statement) => ({ property, statement }));
  });
}

/** References to other resources' ids and free text say nothing about a setting. */
function isTelling(path: string, value: Json): boolean {
  if (typeof value === "string" && /^<[^>]+\.id>$/.test(value)) return false;
  return !/(^|\.)(id|description)$/.test(path);
}

/** Every security-relevant setting of a snapshot, grouped by the categories an auditor reads. */
export function securityFacts(snapshot: PlanSnapshot): SecurityFact[] {
  const facts: SecurityFact[] = [];
  for (const resource of snapshot.resources) {
    const byCategory = new Map<SecurityCategory, string[]>();
    const leaves = flatten(resource.inputs);
    if (resource.options?.protect) leaves.set("options.protect", true);
    if (resource.options?.retainOnDelete) leaves.set("options.retainOnDelete", true);
    for (const [path, value] of leaves) {
      // Policy documents are printed statement by statement below.
      if (path.includes(JSON_DOCUMENT_KEY) && POLICY_PROPERTIES.some((property) => path.startsWith(`${property}.`)))
        continue;
      if (!isTelling(path, value)) continue;
      for (const category of categorize(resource.type, path)) {
        const texts = byCategory.get(category) ?? [];
        texts.push(`${shortPath(path)}=${formatValue(value, 60)}`);
        byCategory.set(category, texts);
      }
    }
    for (const [category, texts] of byCategory)
      facts.push({ category, resource: resource.name, text: texts.join(" ") });
    for (const { property, statement } of policyStatements(resource)) {
      const category: SecurityCategory = resource.type === "aws:kms/key:Key" ? "kms-key-policy" : "iam";
      const sid = typeof statement["Sid"] === "string" ? `${statement["Sid"]}: ` : "";
      facts.push({
        category,
        resource: `${resource.name} (${property})`,
        text: `${sid}${describeStatement(statement)}`,
      });
    }
  }
  const order = Object.keys(SECURITY_CATEGORIES);
  return facts.sort(
    (a, b) =>
      order.indexOf(a.category) - order.indexOf(b.category) ||
      (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0),
  );
}

/** The components of a stack with their resources counted by type. */
function componentLines(snapshot: PlanSnapshot): string[] {
  const byUrn = new Map(snapshot.resources.map((resource) => [resource.urn, resource]));
  const groups = new Map<string, { label: string; types: Map<string, number>; total: number }>();
  for (const resource of snapshot.resources) {
    if (resource.type === "pulumi:pulumi:Stack") continue;
    const parent = resource.parent ? byUrn.get(resource.parent) : undefined;
    const owner = parent && parent.type !== "pulumi:pulumi:Stack" ? parent : undefined;
    const isComponent = snapshot.resources.some((candidate) => candidate.parent === resource.urn);
    if (isComponent && !owner) {
      groups.set(
        resource.urn,
        groups.get(resource.urn) ?? { label: `${resource.type}  ${resource.name}`, types: new Map(), total: 0 },
      );
      continue;
    }
    const key = owner?.urn ?? "(stack)";
    const group = groups.get(key) ?? {
      label: owner ? `${owner.type}  ${owner.name}` : "(stack level)",
      types: new Map<string, number>(),
      total: 0,
    };
    const type = shortType(resource.type).split(":").pop() ?? resource.type;
    group.types.set(type, (group.types.get(type) ?? 0) + 1);
    group.total += 1;
    groups.set(key, group);
  }
  const rows = [...groups.values()]
    .sort((a, b) => (a.label < b.label ? -1 : 1))
    .map((group) => [
      group.label,
      String(group.total),
      [...group.types]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([type, count]) => `${type}×${count}`)
        .join(" "),
    ]);
  return columns(rows, "    ");
}

/** The policy pack's findings, mandatory first; advisory ones with their resource. */
export function policyLines(violations: readonly PolicyViolation[]): string[] {
  const mandatory = violations.filter((violation) => violation.enforcement === "mandatory").length;
  const lines = [`  Policy pack: ${mandatory} mandatory, ${violations.length - mandatory} advisory violations`];
  lines.push(
    ...columns(
      violations.map((violation) => [
        violation.enforcement === "mandatory" ? "✗ mandatory" : "! advisory",
        violation.policy,
        violation.name ?? "(stack)",
        violation.message,
      ]),
      "    ",
    ),
  );
  return lines;
}

/**
 * A warning no reader can miss when workload images are pinned to placeholder digests: nothing
 * can pull them, so the stack would not start. Empty when every digest looks like an image's.
 */
export function placeholderImageLines(snapshot: PlanSnapshot): string[] {
  const images = [
    ...new Set(
      imagesOf(
        snapshot.resources.map((resource) => ({ type: resource.type, props: resource.inputs, urn: resource.urn })),
      )
        .map(({ image }) => image)
        .filter((image) => placeholderDigestOf(image) !== undefined),
    ),
  ].sort();
  if (images.length === 0) return [];
  return [
    `  ⚠ PLACEHOLDER IMAGE DIGESTS — ${images.length} image(s) cannot be pulled; put the released digests in Pulumi.${snapshot.stack}.yaml:`,
    ...images.map((image) => `      ${image}`),
  ];
}

/** The readable per-stack summary `pnpm plan` prints. */
export function summarize(
  snapshot: PlanSnapshot,
  elapsedMs?: number,
  violations: readonly PolicyViolation[] = [],
): string {
  const provider = snapshot.resources.find((resource) => resource.type === "pulumi:providers:aws");
  const region = provider ? formatValue(provider.inputs["region"]) : "?";
  const header = [
    `stack ${snapshot.stack}`,
    `${snapshot.resources.length} resources`,
    `region ${region}`,
    ...(elapsedMs === undefined ? [] : [`planned in ${(elapsedMs / 1000).toFixed(1)} s`]),
  ].join(" · ");
  const lines = [`== ${header}`, ...placeholderImageLines(snapshot), "  Components"];
  lines.push(...componentLines(snapshot));
  const facts = securityFacts(snapshot);
  for (const [category, title] of Object.entries(SECURITY_CATEGORIES)) {
    const inCategory = facts.filter((fact) => fact.category === category);
    if (inCategory.length === 0) continue;
    lines.push(`  ${title}`);
    lines.push(
      ...columns(
        inCategory.map((fact) => [fact.resource, fact.text]),
        "    ",
      ),
    );
  }
  lines.push(...policyLines(violations));
  return lines.join("\n");
}
