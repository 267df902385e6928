import { classify, isMaskedSecret, type ClassifyContext } from "./classify";
import { costChange, type StackCostChange } from "./cost";
import type { ChangeGraph } from "./diagram";
import { bySeverity, type ChangeKind, type Finding, type ResourceRef, type Severity } from "./findings";
import { flatten, surface } from "./leaves";
import type { PolicyViolation } from "./policy";
import { loadPriceTable, type PriceTable } from "./prices/table";
import { decide, isStateful, replacementConsequence, type Decision } from "./replacement";
import { categorize, directionOf, type Direction, type PropertyPath, type SecurityCategory } from "./security";
import { OUTPUTS_KEY, type Json, type PlannedResource, type PlanSnapshot } from "./snapshot";
import { securityFacts } from "./summary";

export { flatten } from "./leaves";
export type { ChangeKind, Finding, ResourceRef, Severity } from "./findings";

export interface PropertyChange {
  readonly path: PropertyPath;
  /** Absent when the property did not exist before. */
  readonly before?: Json;
  /** Absent when the property no longer exists. */
  readonly after?: Json;
}

export interface ResourceChange extends ResourceRef {
  readonly kind: ChangeKind;
  /** For `changed`: every leaf that differs. Empty for additions and removals. */
  readonly changes: readonly PropertyChange[];
  /** For additions and removals: the security-relevant settings of the resource, in words. */
  readonly properties?: readonly string[];
}

/** @deprecated the name of a finding before findings had a severity and a reason. */
export type FlaggedChange = Finding;

export interface StatefulChange extends ResourceRef {
  /** `refused`: updated in place, and the API refuses the update (`pulumi up` fails; nothing is replaced). */
  readonly reason: "deleted" | "replaced" | "refused" | "may be replaced";
  readonly detail: string;
  /** Whether the base had `protect` set: `pulumi up` refuses to delete it until that is lifted. */
  readonly protected: boolean;
  readonly severity: Severity;
  /** For a change in place: what the provider does with each changed property that replaces or may. */
  readonly decisions?: readonly Decision[];
}

/** The policy pack's findings on the proposed plan, set against those already on the base. */
export interface PolicyComparison {
  /** Not on the base: this change brings them. */
  readonly introduced: readonly PolicyViolation[];
  /** Already on the base. */
  readonly existing: readonly PolicyViolation[];
  /** On the base, gone now. */
  readonly resolved: readonly PolicyViolation[];
  /** False when the base snapshot predates recorded violations: every finding is then shown as introduced. */
  readonly baseKnown: boolean;
}

export interface StackDiff {
  readonly stack: string;
  readonly counts: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    readonly unchanged: number;
  };
  /** Every finding, most severe first. */
  readonly findings: readonly Finding[];
  readonly stateful: readonly StatefulChange[];
  readonly resources: readonly ResourceChange[];
  readonly outputs: readonly PropertyChange[];
  /** The current plan's policy violations (not a difference: what the change would ship with). */
  readonly violations?: readonly PolicyViolation[];
  readonly policy?: PolicyComparison;
  /** The stack's monthly cost before and after, per resource type, at the price table's prices. */
  readonly cost?: StackCostChange;
  /** The changed part of the platform and its neighbours, for the report's picture. */
  readonly graph?: ChangeGraph;
}

export interface DiffReport {
  /** What the current plan was compared with, e.g. `origin/main`. */
  readonly base: string;
  readonly stacks: readonly StackDiff[];
}

function withFingerprints(leaves: Map<PropertyPath, Json>, prints: { readonly [path: string]: string } = {}) {
  for (const [path, fingerprint] of Object.entries(prints)) {
    if (leaves.get(path) === "[secret]") leaves.set(path, `[secret:${fingerprint}]`);
  }
  return leaves;
}

/** A masked secret equals any other masked secret of unknown fingerprint (`[secret]`, older snapshots). */
function same(a: Json | undefined, b: Json | undefined): boolean {
  if (a === "[secret]" && isMaskedSecret(b)) return true;
  if (b === "[secret]" && isMaskedSecret(a)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

export function diffLeaves(before: Map<PropertyPath, Json>, after: Map<PropertyPath, Json>): PropertyChange[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: PropertyChange[] = [];
  for (const path of paths) {
    const had = before.has(path);
    const has = after.has(path);
    const b = before.get(path);
    const a = after.get(path);
    if (had && has && same(a, b)) continue;
    changes.push({ path, ...(had ? { before: b as Json } : {}), ...(has ? { after: a as Json } : {}) });
  }
  return changes;
}

const refOf = (resource: PlannedResource): ResourceRef => ({
  urn: resource.urn,
  type: resource.type,
  name: resource.name,
  ...(resource.parent ? { parent: resource.parent } : {}),
});

/** Categories that make a new resource worth an auditor's look just by existing. */
const FLAGGED_ON_ADDITION: ReadonlySet<SecurityCategory> = new Set([
  "iam",
  "kms-key-policy",
  "network-exposure",
  "public-access",
]);

/** Removing one of these takes a protection away. */
const REMOVAL_WEAKENS: ReadonlySet<SecurityCategory> = new Set([
  "kms-key-policy",
  "public-access",
  "encryption",
  "deletion-protection",
  "backup-retention",
  "logging",
]);

/** How bad a weakening the generic leaf rules found is, by what it weakens. */
const WEAKENED_SEVERITY: Readonly<Record<SecurityCategory, Severity>> = {
  iam: "medium",
  "kms-key-policy": "high",
  "network-exposure": "high",
  "public-access": "critical",
  encryption: "high",
  "deletion-protection": "high",
  "backup-retention": "medium",
  logging: "medium",
  tls: "high",
  waf: "high",
  "pod-security": "high",
  secrets: "high",
  replacement: "high",
};

const show = (value: Json | undefined) =>
  value === undefined ? "(none)" : typeof value === "string" ? value : JSON.stringify(value);

function genericFinding(
  resource: PlannedResource,
  kind: ChangeKind,
  category: SecurityCategory,
  direction: Direction,
  change: PropertyChange | undefined,
): Finding {
  const reason = change
    ? `\`${change.path}\`: ${show(change.before).slice(0, 80)} → ${show(change.after).slice(0, 80)}`
    : kind === "removed"
      ? "removed, and the protection it gave with it"
      : "added";
  return {
    ...refOf(resource),
    category,
    kind,
    direction,
    severity: direction === "weakened" ? WEAKENED_SEVERITY[category] : "low",
    reason,
    ...(change ? { path: change.path } : {}),
    ...(change?.before !== undefined ? { before: change.before } : {}),
    ...(change?.after !== undefined ? { after: change.after } : {}),
  };
}

/** The security-relevant settings of a resource added or removed, in words. */
function propertiesOf(resource: PlannedResource, stack: string): string[] {
  const facts = securityFacts({ format: 1, project: "", stack, resources: [resource], outputs: {} });
  return facts.map((fact) =>
    fact.resource === resource.name ? fact.text : `${fact.resource.replace(resource.name, "").trim()} ${fact.text}`,
  );
}

/** The stack's own AWS account, from its provider's `allowedAccountIds`. */
function accountOf(snapshot: PlanSnapshot): string | undefined {
  const provider = snapshot.resources.find((resource) => resource.type === "pulumi:providers:aws");
  const allowed = provider?.inputs["allowedAccountIds"];
  const list =
    allowed && typeof allowed === "object" && !Array.isArray(allowed)
      ? allowed["@json"]
      : Array.isArray(allowed)
        ? allowed
        : undefined;
  return Array.isArray(list) && typeof list[0] === "string" ? list[0] : undefined;
}

const violationKey = (violation: PolicyViolation) =>
  `${violation.policy}\u0000${violation.urn ?? ""}\u0000${violation.message}`;

export function comparePolicy(
  base: readonly PolicyViolation[] | undefined,
  head: readonly PolicyViolation[],
): PolicyComparison {
  const known = new Set((base ?? []).map(violationKey));
  const now = new Set(head.map(violationKey));
  return {
    introduced: head.filter((violation) => !known.has(violationKey(violation))),
    existing: head.filter((violation) => known.has(violationKey(violation))),
    resolved: (base ?? []).filter((violation) => !now.has(violationKey(violation))),
    baseKnown: base !== undefined,
  };
}

/** Compares a stack's base snapshot with its current plan. */
export function diffSnapshots(
  base: PlanSnapshot,
  head: PlanSnapshot,
  prices: PriceTable = loadPriceTable(),
): StackDiff {
  const before = new Map(base.resources.map((resource) => [resource.urn, resource]));
  const after = new Map(head.resources.map((resource) => [resource.urn, resource]));
  const accountId = accountOf(head) ?? accountOf(base);
  const context: ClassifyContext = { stack: head.stack, ...(accountId ? { accountId } : {}) };
  const resources: ResourceChange[] = [];
  const findings: Finding[] = [];
  const stateful: StatefulChange[] = [];
  let unchanged = 0;

  const whole = (resource: PlannedResource, kind: "added" | "removed") => {
    const leaves = [...surface(resource, (kind === "added" ? head : base).secrets?.[resource.urn])].map(
      ([path, value]) => (kind === "added" ? { path, after: value } : { path, before: value }),
    );
    const classified = classify(
      kind === "removed" ? resource : undefined,
      kind === "added" ? resource : undefined,
      leaves,
      context,
    );
    findings.push(...classified.findings);
    const categories = new Map<SecurityCategory, { direction: Direction; change: PropertyChange }>();
    for (const change of leaves) {
      if (classified.claims(change.path)) continue;
      for (const category of categorize(resource.type, change.path)) {
        let direction: Direction;
        if (kind === "removed") {
          direction = REMOVAL_WEAKENS.has(category) ? "weakened" : "changed";
        } else {
          direction = directionOf(change.path, undefined, change.after);
          if (!FLAGGED_ON_ADDITION.has(category) && direction !== "weakened") continue;
        }
        if (categories.get(category)?.direction !== "weakened") categories.set(category, { direction, change });
      }
    }
    for (const [category, { direction, change }] of categories) {
      // An addition is described by its properties; only what weakens is a finding of its own.
      if (kind === "added" && direction !== "weakened") continue;
      findings.push(genericFinding(resource, kind, category, direction, kind === "added" ? change : undefined));
    }
    resources.push({ ...refOf(resource), kind, changes: [], properties: propertiesOf(resource, head.stack) });
  };

  for (const resource of head.resources) {
    const old = before.get(resource.urn);
    if (!old) {
      whole(resource, "added");
      continue;
    }
    const changes = diffLeaves(surface(old, base.secrets?.[old.urn]), surface(resource, head.secrets?.[resource.urn]));
    if (changes.length === 0) {
      unchanged += 1;
      continue;
    }
    resources.push({ ...refOf(resource), kind: "changed", changes });
    const classified = classify(old, resource, changes, context);
    findings.push(...classified.findings);
    for (const change of changes) {
      if (classified.claims(change.path)) continue;
      const direction = directionOf(change.path, change.before, change.after);
      for (const category of categorize(resource.type, change.path)) {
        findings.push(genericFinding(resource, "changed", category, direction, change));
      }
    }
    if (isStateful(resource.type)) {
      const decisions = new Map<string, Decision>();
      for (const change of changes) {
        const decision = decide(
          resource.type,
          change.path,
          old.inputs,
          resource.inputs,
          resource.options?.replaceOnChanges,
        );
        if (decision.action !== "update" && !decisions.has(decision.property))
          decisions.set(decision.property, decision);
      }
      const found = [...decisions.values()];
      const replaces = found.filter((decision) => decision.action === "replace");
      const refuses = found.filter((decision) => decision.action === "refuse");
      const mayReplace = found.filter((decision) => decision.action === "may replace");
      if (found.length > 0) {
        const kindName = resource.type.split(":").pop() ?? resource.type;
        const isProtected = old.options?.protect === true;
        const guarded = old.inputs["deletionProtection"] === true;
        const explain = (list: readonly Decision[]) =>
          list.map((d) => `\`${d.property}\` (${d.note}; ${d.source})`).join(", ");
        const refused =
          refuses.length > 0 ? `changing ${explain(refuses)} is refused by the API: \`pulumi up\` fails there` : "";
        const detail =
          replaces.length > 0
            ? `changing ${explain(replaces)} forces a new ${kindName}; ${replacementConsequence(resource.type, old.inputs, resource.inputs)}${
                guarded
                  ? ". AWS refuses to delete it while deletionProtection is on: `pulumi up` fails after creating the new one"
                  : ""
              }${
                refuses.length > 0
                  ? `; the new one is simply created with its ${refuses.map((d) => `\`${d.property}\``).join(", ")} (a change the API refuses in place)`
                  : ""
              }${mayReplace.length > 0 ? `; changing ${explain(mayReplace)} may replace it too` : ""}`
            : refuses.length > 0
              ? `${refused}, and nothing is replaced${mayReplace.length > 0 ? `; changing ${explain(mayReplace)} may replace the ${kindName}: check \`pulumi preview\`` : ""}`
              : `changing ${explain(mayReplace)} may replace the ${kindName} and delete its data: check \`pulumi preview\``;
        const severity: Severity = replaces.length > 0 ? (isProtected ? "high" : "critical") : "medium";
        stateful.push({
          ...refOf(resource),
          reason: replaces.length > 0 ? "replaced" : refuses.length > 0 ? "refused" : "may be replaced",
          detail,
          protected: isProtected,
          severity,
          decisions: found,
        });
      }
    }
  }

  const added = head.resources.filter((resource) => !before.has(resource.urn));
  for (const resource of base.resources) {
    if (after.has(resource.urn)) continue;
    whole(resource, "removed");
    if (isStateful(resource.type)) {
      const successor = added.find((candidate) => candidate.type === resource.type && candidate.name === resource.name);
      const isProtected = resource.options?.protect === true;
      stateful.push({
        ...refOf(resource),
        reason: successor ? "replaced" : "deleted",
        detail: successor
          ? `its URN changes to ${successor.urn}: Pulumi deletes and recreates it unless the new resource lists the old URN in \`aliases\``
          : "deleted, and its data with it",
        protected: isProtected,
        severity: isProtected ? "high" : "critical",
      });
    }
  }

  for (const entry of stateful) {
    findings.push({
      urn: entry.urn,
      type: entry.type,
      name: entry.name,
      ...(entry.parent ? { parent: entry.parent } : {}),
      category: "replacement",
      kind: entry.reason === "deleted" ? "removed" : "changed",
      direction: "weakened",
      severity: entry.severity,
      reason: `**${entry.reason}**: ${entry.detail}${entry.protected && entry.reason !== "refused" ? " (protected: `pulumi up` refuses until `protect` is lifted)" : ""}`,
    });
  }

  const order = (a: ResourceRef, b: ResourceRef) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0);
  resources.sort(order);
  findings.sort(
    (a, b) => bySeverity(a, b) || (a.category < b.category ? -1 : a.category > b.category ? 1 : order(a, b)),
  );
  stateful.sort(order);
  return {
    stack: head.stack,
    counts: {
      added: resources.filter((r) => r.kind === "added").length,
      removed: resources.filter((r) => r.kind === "removed").length,
      changed: resources.filter((r) => r.kind === "changed").length,
      unchanged,
    },
    findings,
    stateful,
    resources,
    outputs: diffLeaves(
      withFingerprints(flatten(base.outputs), base.secrets?.[OUTPUTS_KEY]),
      withFingerprints(flatten(head.outputs), head.secrets?.[OUTPUTS_KEY]),
    ),
    ...(head.violations !== undefined
      ? { violations: head.violations, policy: comparePolicy(base.violations, head.violations) }
      : {}),
    cost: costChange(base, head, prices),
  };
}

export const hasChanges = (diff: StackDiff): boolean => diff.resources.length > 0 || diff.outputs.length > 0;
