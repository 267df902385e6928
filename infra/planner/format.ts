import type { PropertyPath } from "./security";
import type { Json } from "./snapshot";

/** `aws:s3/bucketPolicy:BucketPolicy` → `aws:s3:BucketPolicy`; component and provider types as they are. */
export function shortType(type: string): string {
  const match = /^([^:]+):([^/:]+)\/[^:]+:(.+)$/.exec(type);
  return match ? `${match[1]}:${match[2]}:${match[3]}` : type;
}

/** A value on one line, cut to `max` characters. */
export function formatValue(value: Json | undefined, max = 80): string {
  if (value === undefined) return "(none)";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A leaf path shortened for a summary line: its last key, prefixed by the nearest list element's
 * identity when there is one (`rules[id=expire-redis].expiration.days` → `expire-redis.days`).
 */
export function shortPath(path: PropertyPath): string {
  const last = path.split(".").pop() ?? path;
  const identity = [...path.matchAll(/\[(?:Sid|id|name)=([^\]]+)\]/g)].pop()?.[1];
  return identity && !last.includes(identity) ? `${identity}.${last}` : last;
}

/** Plain-text table with left-aligned columns, for terminals and CI logs. */
export function columns(rows: readonly (readonly string[])[], indent = "  "): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) =>
    `${indent}${row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join("  ")}`.trimEnd(),
  );
}
