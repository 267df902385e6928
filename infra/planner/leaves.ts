import { createHash } from "node:crypto";
import { documentOf, meaning, statementsOf } from "./policy-document";
import type { PropertyPath } from "./security";
import type { Json, PlannedResource } from "./snapshot";

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

/**
 * The reviewed surface of a resource: its inputs leaf by leaf and its options under `options.`,
 * except that a policy document is one entry per statement, keyed by its `Sid` or, without one,
 * by what it says: inserting, removing or reordering a statement changes nothing else.
 */
export function surface(
  resource: PlannedResource,
  fingerprints: { readonly [path: string]: string } = {},
): Map<PropertyPath, Json> {
  const leaves = new Map<PropertyPath, Json>();
  for (const key of Object.keys(resource.inputs)) {
    const value = resource.inputs[key] as Json;
    const document = documentOf(value);
    if (!document) {
      flatten(value, key, leaves);
      continue;
    }
    for (const [field, part] of Object.entries(document)) {
      if (field !== "Statement") flatten(part, `${key}.${field}`, leaves);
    }
    const statements = statementsOf(document);
    const sids = statements.map((statement) => statement.sid);
    const unique = (sid: string | undefined) => sid !== undefined && sids.filter((other) => other === sid).length === 1;
    if (statements.length === 0) leaves.set(`${key}.Statement`, []);
    for (const statement of statements) {
      const id = unique(statement.sid)
        ? `Sid=${statement.sid ?? ""}`
        : `#${createHash("sha256").update(meaning(statement)).digest("hex").slice(0, 8)}`;
      leaves.set(`${key}.Statement[${id}]`, statement.raw);
    }
  }
  if (resource.options) flatten(resource.options as { [key: string]: Json }, "options", leaves);
  // A secret reads `[secret:<fingerprint>]`, so that a change inside it is a change.
  for (const [path, fingerprint] of Object.entries(fingerprints)) {
    if (leaves.get(path) === "[secret]") leaves.set(path, `[secret:${fingerprint}]`);
  }
  return leaves;
}
