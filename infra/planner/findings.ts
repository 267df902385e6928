import type { Direction, PropertyPath, SecurityCategory } from "./security";
import type { Json } from "./snapshot";

/** How soon an auditor must look: critical blocks a merge, low is for the record. */
export type Severity = "critical" | "high" | "medium" | "low";
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low"];
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 0, high: 1, medium: 2, low: 3 };

export type ChangeKind = "added" | "removed" | "changed";

export interface ResourceRef {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
}

/** One thing an auditor must read: what changed, which way, how bad, and why, in words. */
export interface Finding extends ResourceRef {
  readonly category: SecurityCategory;
  readonly kind: ChangeKind;
  readonly direction: Direction;
  readonly severity: Severity;
  /** The finding in words: "opens 5432/tcp to the internet (0.0.0.0/0)". */
  readonly reason: string;
  /** The property it concerns; absent when it is the whole resource. */
  readonly path?: PropertyPath;
  readonly before?: Json;
  readonly after?: Json;
}

export const bySeverity = (a: { severity: Severity }, b: { severity: Severity }): number =>
  SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];

export const worst = (severities: readonly Severity[]): Severity =>
  severities.reduce<Severity>((found, next) => (SEVERITY_RANK[next] < SEVERITY_RANK[found] ? next : found), "low");
