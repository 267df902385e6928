import { scryptSync } from "node:crypto";
import type { PolicyViolation } from "./policy";
import type { RecordedStack } from "./record";
import { flatten } from "./leaves";
import { REDACTED, type InputPath } from "./secrets";
import { ARCHIVE_SIG, ASSET_SIG, RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN, isSecretValue } from "./signatures";
import { SECRET_PLACEHOLDER } from "./stacks";

/** Bumped whenever the snapshot's shape changes, so that diffs never compare unlike files. */
export const SNAPSHOT_FORMAT = 1;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Resource options a reviewer must see; only those set are written. */
export interface PlannedOptions {
  protect?: true;
  retainOnDelete?: true;
  deleteBeforeReplace?: true;
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  dependsOn?: string[];
}

export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  provider?: string;
  options?: PlannedOptions;
  inputs: { [key: string]: Json };
}

export interface PlanSnapshot {
  format: number;
  project: string;
  stack: string;
  resources: PlannedResource[];
  outputs: { [key: string]: Json };
  /**
   * Fingerprints of the secrets, by URN (`(outputs)` for the stack's) and leaf path: the inputs
   * show `[secret]`, and a change inside a secret changes its fingerprint here.
   */
  secrets?: { [urn: string]: { [path: string]: string } };
  /** The policy pack's findings on this plan, so that a diff tells new ones from those already there. */
  violations?: PolicyViolation[];
}

/** Key under which a JSON document held in a string input (a policy, say) is shown parsed. */
export const JSON_DOCUMENT_KEY = "@json";

function parseJsonDocument(value: string): Json | undefined {
  const trimmed = value.trimStart();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return undefined;
  try {
    return JSON.parse(value) as Json;
  } catch {
    return undefined;
  }
}

/** A runtime value with its secrets unwrapped, for fingerprinting. */
function unwrapped(value: unknown): unknown {
  if (isSecretValue(value)) return unwrapped(value.value);
  if (Array.isArray(value)) return value.map(unwrapped);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, unwrapped(record[key])]),
    );
  }
  return value;
}

/**
 * A secret as the snapshot shows it: `[secret:<fingerprint>]`, so that a change inside it is a
 * change of the plan while the value stays unreadable. Under the planner's mocks a secret's value
 * is built from placeholders (a `secure:` config value is never decrypted); the fingerprint is a
 * slow, salted hash all the same, and a value the secret detector recognises keeps none.
 */
export function secretFingerprint(value: unknown): string | undefined {
  const text = JSON.stringify(unwrapped(value) ?? null);
  if (text === JSON.stringify(SECRET_PLACEHOLDER)) return undefined;
  return scryptSync(text, "paimon-plan-secret-fingerprint-v1", 6, { N: 1 << 12 }).toString("hex");
}

/** How a fingerprinted secret travels from `normalize` to the snapshot's `secrets` map. */
const SECRET_MARK = "\u0000secret:";

/**
 * Plain, sorted, secret-free JSON for a runtime value: secrets become `[secret:<fingerprint>]`, unknowns
 * `[unknown]`, resource references their URN, and strings that hold a JSON document (IAM and
 * key policies) are expanded under `@json` so a reviewer reads statements, not escapes.
 */
export function normalize(value: unknown): Json | undefined {
  return normalizeWith(value, false);
}

function normalizeWith(value: unknown, fingerprints: boolean): Json | undefined {
  const normalize = (inner: unknown) => normalizeWith(inner, fingerprints);
  if (value === undefined) return undefined;
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string") {
    if (value === UNKNOWN) return "[unknown]";
    const document = parseJsonDocument(value);
    return document === undefined ? value : { [JSON_DOCUMENT_KEY]: normalize(document) ?? null };
  }
  if (Array.isArray(value)) return value.map((item) => normalize(item) ?? null);
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    switch (record[SIG_KEY]) {
      case SECRET_SIG: {
        const fingerprint = fingerprints ? secretFingerprint(record["value"]) : undefined;
        return fingerprint === undefined ? SECRET_PLACEHOLDER : `${SECRET_MARK}${fingerprint}`;
      }
      case RESOURCE_SIG:
        return String(record["urn"]);
      case ASSET_SIG:
      case ARCHIVE_SIG:
        return "[asset]";
      default:
        break;
    }
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(record).sort()) {
      // `__defaults` and friends are engine bookkeeping, not configuration.
      if (key.startsWith("__")) continue;
      const normalized = normalize(record[key]);
      if (normalized !== undefined) out[key] = normalized;
    }
    return out;
  }
  // Functions, symbols and bigints never reach here from the runtime; keep them visible if they do.
  return typeof value === "bigint" ? value.toString() : `[${typeof value}]`;
}

/** Replaces the value at `path` (under `inputs` or `outputs`) with `replacement`, when it is there. */
function redactAt(root: { [key: string]: Json }, path: InputPath, replacement: Json): void {
  let current: Json | undefined = root;
  for (const [index, key] of path.entries()) {
    if (current === null || typeof current !== "object") return;
    const container: Json[] | { [key: string]: Json } = current;
    const next: Json | undefined = Array.isArray(container) ? container[Number(key)] : container[String(key)];
    if (index === path.length - 1) {
      if (next === undefined) return;
      if (Array.isArray(container)) container[Number(key)] = replacement;
      else container[String(key)] = replacement;
      return;
    }
    // A JSON document held in a string is shown parsed: the path runs on inside it.
    current =
      next &&
      typeof next === "object" &&
      !Array.isArray(next) &&
      JSON_DOCUMENT_KEY in next &&
      Object.keys(next).length === 1
        ? next
        : next;
  }
}

/** Moves the fingerprints out of a normalized value into `secrets[owner]`, leaving `[secret]`. */
function takeFingerprints(value: Json, owner: string, secrets: Map<string, { [path: string]: string }>): Json {
  if (!JSON.stringify(value).includes("\\u0000secret:")) return value;
  const prints: { [path: string]: string } = {};
  for (const [path, leaf] of flatten(value)) {
    if (typeof leaf === "string" && leaf.startsWith(SECRET_MARK)) prints[path] = leaf.slice(SECRET_MARK.length);
  }
  if (Object.keys(prints).length > 0) secrets.set(owner, prints);
  const strip = (item: Json): Json =>
    typeof item === "string"
      ? item.startsWith(SECRET_MARK)
        ? SECRET_PLACEHOLDER
        : item
      : Array.isArray(item)
        ? item.map(strip)
        : item !== null && typeof item === "object"
          ? Object.fromEntries(Object.entries(item).map(([key, child]) => [key, strip(child)]))
          : item;
  return strip(value);
}

/** The key of the stack outputs' fingerprints in `secrets`. */
export const OUTPUTS_KEY = "(outputs)";

/** What must not reach the snapshot, and what to record beside it. */
export interface SnapshotExtras {
  /** Values a secret detector recognised: each becomes `[redacted: secret literal]` (or `[secret]` when it was secret). */
  readonly redact?: readonly { readonly urn: string; readonly path: InputPath; readonly wrapped: boolean }[];
  readonly violations?: readonly PolicyViolation[];
}

/** The reviewed, committed form of a recorded stack: sorted by URN, options only when set. */
export function toSnapshot(
  project: string,
  stack: string,
  recorded: RecordedStack,
  extras: SnapshotExtras = {},
): PlanSnapshot {
  const secrets = new Map<string, { [path: string]: string }>();
  const resources = recorded.resources
    .map((resource): PlannedResource => {
      const options: PlannedOptions = {};
      if (resource.protect) options.protect = true;
      if (resource.retainOnDelete) options.retainOnDelete = true;
      if (resource.deleteBeforeReplace) options.deleteBeforeReplace = true;
      if (resource.ignoreChanges.length > 0) options.ignoreChanges = [...resource.ignoreChanges].sort();
      if (resource.replaceOnChanges.length > 0) options.replaceOnChanges = [...resource.replaceOnChanges].sort();
      if (resource.dependsOn.length > 0) options.dependsOn = [...resource.dependsOn];
      const planned: PlannedResource = {
        urn: resource.urn,
        type: resource.type,
        name: resource.name,
      } as PlannedResource;
      if (resource.parent) planned.parent = resource.parent;
      if (resource.provider) planned.provider = resource.provider;
      if (Object.keys(options).length > 0) planned.options = options;
      const inputs = (normalizeWith(resource.inputs, true) ?? {}) as { [key: string]: Json };
      planned.inputs = takeFingerprints(inputs, resource.urn, secrets) as { [key: string]: Json };
      return planned;
    })
    .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  const normalizedOutputs = takeFingerprints(normalizeWith(recorded.outputs, true) ?? {}, OUTPUTS_KEY, secrets);
  const outputs: { [key: string]: Json } =
    normalizedOutputs && typeof normalizedOutputs === "object" && !Array.isArray(normalizedOutputs)
      ? normalizedOutputs
      : {};
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
  for (const { urn, path, wrapped } of extras.redact ?? []) {
    const [where, ...rest] = path;
    const replacement = wrapped ? SECRET_PLACEHOLDER : REDACTED;
    if (where === "outputs") redactAt(outputs, rest, replacement);
    const resource = byUrn.get(urn);
    if (where === "inputs" && resource) redactAt(resource.inputs, rest, replacement);
    // A recognised literal keeps no fingerprint either.
    const prints = secrets.get(where === "outputs" ? OUTPUTS_KEY : urn);
    const top = String(rest[0] ?? "");
    if (prints) {
      const kept = Object.entries(prints).filter(
        ([path]) => !(path === top || path.startsWith(`${top}.`) || path.startsWith(`${top}[`)),
      );
      secrets.set(where === "outputs" ? OUTPUTS_KEY : urn, Object.fromEntries(kept));
    }
  }
  const snapshot: PlanSnapshot = { format: SNAPSHOT_FORMAT, project, stack, resources, outputs };
  const kept = [...secrets].filter(([, prints]) => Object.keys(prints).length > 0).sort(([a], [b]) => (a < b ? -1 : 1));
  if (kept.length > 0) snapshot.secrets = Object.fromEntries(kept);
  if (extras.violations) snapshot.violations = extras.violations.map((violation) => ({ ...violation }));
  return snapshot;
}

/** The bytes written to `infra/plans/<stack>.json`: two-space JSON and a final newline. */
export function serializeSnapshot(snapshot: PlanSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}

/** Parses a snapshot read from disk or git, refusing anything of another format. */
export function parseSnapshot(text: string, origin: string): PlanSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${origin}: not JSON (${(error as Error).message})`, { cause: error });
  }
  const candidate = parsed as Partial<PlanSnapshot> | null;
  if (!candidate || typeof candidate !== "object" || !Array.isArray(candidate.resources)) {
    throw new Error(`${origin}: not a plan snapshot`);
  }
  if (candidate.format !== SNAPSHOT_FORMAT) {
    throw new Error(`${origin}: snapshot format ${String(candidate.format)}, this planner reads ${SNAPSHOT_FORMAT}`);
  }
  return candidate as PlanSnapshot;
}
