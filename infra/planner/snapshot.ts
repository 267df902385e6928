import type { RecordedStack } from "./record";
import { ARCHIVE_SIG, ASSET_SIG, RESOURCE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN } from "./signatures";
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

/**
 * Plain, sorted, secret-free JSON for a runtime value: secrets become `[secret]`, unknowns
 * `[unknown]`, resource references their URN, and strings that hold a JSON document (IAM and
 * key policies) are expanded under `@json` so a reviewer reads statements, not escapes.
 */
export function normalize(value: unknown): Json | undefined {
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
      case SECRET_SIG:
        return SECRET_PLACEHOLDER;
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

/** The reviewed, committed form of a recorded stack: sorted by URN, options only when set. */
export function toSnapshot(project: string, stack: string, recorded: RecordedStack): PlanSnapshot {
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
      planned.inputs = (normalize(resource.inputs) ?? {}) as { [key: string]: Json };
      return planned;
    })
    .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  const outputs = normalize(recorded.outputs);
  return {
    format: SNAPSHOT_FORMAT,
    project,
    stack,
    resources,
    outputs: outputs && typeof outputs === "object" && !Array.isArray(outputs) ? outputs : {},
  };
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
