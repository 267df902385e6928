import {
  categorize,
  directionOf,
  isStateful,
  replacementTrigger,
  type Direction,
  type PropertyPath,
  type SecurityCategory,
} from "./security";
import type { PolicyViolation } from "./policy";
import type { Json, PlannedResource, PlanSnapshot } from "./snapshot";

export interface PropertyChange {
  readonly path: PropertyPath;
  /** Absent when the property did not exist before. */
  readonly before?: Json;
  /** Absent when the property no longer exists. */
  readonly after?: Json;
}

export type ChangeKind = "added" | "removed" | "changed";

export interface ResourceRef {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
}

export interface ResourceChange extends ResourceRef {
  readonly kind: ChangeKind;
  /** For `changed`: every leaf that differs. Empty for additions and removals. */
  readonly changes: readonly PropertyChange[];
}

export interface FlaggedChange extends ResourceRef {
  readonly category: SecurityCategory;
  readonly kind: ChangeKind;
  readonly direction: Direction;
  /** The changed property; absent when the whole resource was added or removed. */
  readonly path?: PropertyPath;
  readonly before?: Json;
  readonly after?: Json;
}

export interface StatefulChange extends ResourceRef {
  readonly reason: "deleted" | "replaced";
  readonly detail: string;
  /** Whether the base had `protect` set: `pulumi up` refuses to delete it until that is lifted. */
  readonly protected: boolean;
}

export interface StackDiff {
  readonly stack: string;
  readonly counts: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    readonly unchanged: number;
  };
  readonly flagged: readonly FlaggedChange[];
  readonly stateful: readonly StatefulChange[];
  readonly resources: readonly ResourceChange[];
  readonly outputs: readonly PropertyChange[];
  /** The current plan's policy violations (not a difference: what the change would ship with). */
  readonly violations?: readonly PolicyViolation[];
}

export interface DiffReport {
  /** What the current plan was compared with, e.g. `origin/main`. */
  readonly base: string;
  readonly stacks: readonly StackDiff[];
}

/** Keys that identify an element of a list of objects, so that inserting one shifts nothing. */
const IDENTITY_KEYS = ["Sid", "id", "name"] as const;

function identityKey(items: readonly Json[]): string | undefined {
  return IDENTITY_KEYS.find((key) => {
    const values = items.map((item) =>
      item && typeof item === "object" && !Array.isArray(item) ? item[key] : undefined,
    );
    return values.every((value) => typeof value === "string") && new Set(values).size === values.length;
  });
}

/**
 * Every leaf of a JSON value by path. Lists of objects that carry a unique `Sid`, `id` or
 * `name` are addressed by it (`Statement[Sid=DenyInsecureTransport]`), other lists by index;
 * empty lists and objects are leaves of their own so that emptying one is a visible change.
 */
export function flatten(value: Json, prefix = "", out = new Map<PropertyPath, Json>()): Map<PropertyPath, Json> {
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.some((item) => item !== null && typeof item === "object")) {
      if (value.length === 0) out.set(prefix, []);
      value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, out));
      return out;
    }
    const key = identityKey(value);
    value.forEach((item, index) => {
      const id = key ? `${key}=${JSON.stringify((item as { [k: string]: Json })[key]).slice(1, -1)}` : String(index);
      flatten(item, `${prefix}[${id}]`, out);
    });
    return out;
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) out.set(prefix, {});
    for (const key of keys) flatten(value[key] as Json, prefix ? `${prefix}.${key}` : key, out);
    return out;
  }
  out.set(prefix, value);
  return out;
}

/** The reviewed surface of a resource: its inputs, and its options under `options.`. */
function surface(resource: PlannedResource): Map<PropertyPath, Json> {
  const leaves = flatten(resource.inputs);
  if (resource.options) flatten(resource.options as { [key: string]: Json }, "options", leaves);
  return leaves;
}

export function diffLeaves(before: Map<PropertyPath, Json>, after: Map<PropertyPath, Json>): PropertyChange[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: PropertyChange[] = [];
  for (const path of paths) {
    const had = before.has(path);
    const has = after.has(path);
    const b = before.get(path);
    const a = after.get(path);
    if (had && has && JSON.stringify(a) === JSON.stringify(b)) continue;
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

/** One flag per category for a resource added or removed as a whole. */
function flagWholeResource(resource: PlannedResource, kind: "added" | "removed"): FlaggedChange[] {
  const categories = new Map<SecurityCategory, Direction>();
  for (const [path, value] of surface(resource)) {
    for (const category of categorize(resource.type, path)) {
      let direction: Direction;
      if (kind === "removed") {
        direction = REMOVAL_WEAKENS.has(category) ? "weakened" : "changed";
      } else {
        direction = directionOf(path, undefined, value);
        if (!FLAGGED_ON_ADDITION.has(category) && direction !== "weakened") continue;
      }
      if (categories.get(category) !== "weakened") categories.set(category, direction);
    }
  }
  return [...categories].map(([category, direction]) => ({ ...refOf(resource), category, kind, direction }));
}

/** Compares a stack's base snapshot with its current plan. */
export function diffSnapshots(base: PlanSnapshot, head: PlanSnapshot): StackDiff {
  const before = new Map(base.resources.map((resource) => [resource.urn, resource]));
  const after = new Map(head.resources.map((resource) => [resource.urn, resource]));
  const resources: ResourceChange[] = [];
  const flagged: FlaggedChange[] = [];
  const stateful: StatefulChange[] = [];
  let unchanged = 0;

  for (const resource of head.resources) {
    const old = before.get(resource.urn);
    if (!old) {
      resources.push({ ...refOf(resource), kind: "added", changes: [] });
      flagged.push(...flagWholeResource(resource, "added"));
      continue;
    }
    const changes = diffLeaves(surface(old), surface(resource));
    if (changes.length === 0) {
      unchanged += 1;
      continue;
    }
    resources.push({ ...refOf(resource), kind: "changed", changes });
    for (const change of changes) {
      const direction = directionOf(change.path, change.before, change.after);
      for (const category of categorize(resource.type, change.path)) {
        flagged.push({ ...refOf(resource), ...change, category, kind: "changed", direction });
      }
    }
    if (isStateful(resource.type)) {
      const triggers = [
        ...new Set(
          changes.flatMap(
            (change) => replacementTrigger(resource.type, change.path, resource.options?.replaceOnChanges) ?? [],
          ),
        ),
      ];
      if (triggers.length > 0) {
        stateful.push({
          ...refOf(resource),
          reason: "replaced",
          detail: `changing ${triggers.map((t) => `\`${t}\``).join(", ")} forces a new ${resource.type.split(":").pop()}; the old one and its data are deleted`,
          protected: old.options?.protect === true,
        });
      }
    }
  }

  const added = head.resources.filter((resource) => !before.has(resource.urn));
  for (const resource of base.resources) {
    if (after.has(resource.urn)) continue;
    resources.push({ ...refOf(resource), kind: "removed", changes: [] });
    flagged.push(...flagWholeResource(resource, "removed"));
    if (isStateful(resource.type)) {
      const successor = added.find((candidate) => candidate.type === resource.type && candidate.name === resource.name);
      stateful.push({
        ...refOf(resource),
        reason: successor ? "replaced" : "deleted",
        detail: successor
          ? `its URN changes to ${successor.urn}: Pulumi deletes and recreates it unless the new resource lists the old URN in \`aliases\``
          : "deleted, and its data with it",
        protected: resource.options?.protect === true,
      });
    }
  }

  const order = (a: ResourceRef, b: ResourceRef) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0);
  resources.sort(order);
  flagged.sort((a, b) => (a.category === b.category ? order(a, b) : a.category < b.category ? -1 : 1));
  stateful.sort(order);
  return {
    stack: head.stack,
    counts: {
      added: resources.filter((r) => r.kind === "added").length,
      removed: resources.filter((r) => r.kind === "removed").length,
      changed: resources.filter((r) => r.kind === "changed").length,
      unchanged,
    },
    flagged,
    stateful,
    resources,
    outputs: diffLeaves(flatten(base.outputs), flatten(head.outputs)),
  };
}

export const hasChanges = (diff: StackDiff): boolean => diff.resources.length > 0 || diff.outputs.length > 0;
