/**
 * What a checklist item is and what it answers. Every item of the operations spec's daily,
 * weekly and monthly checklists is a `CheckItem`: it reads what it needs from the context and
 * answers a status, the evidence it saw, and the threshold it judged by — named after where the
 * threshold comes from (a spec section or an alert rule), so an operator can tell a fact from a
 * policy.
 */
import type { BackupKind } from "../manifest";
import type { BackupStore } from "../store";
import type { PrometheusApi } from "./prometheus";
import type { RuleBook } from "./rules";

/** Ordered by how much attention each needs: an item that could not be checked is not a pass. */
export const STATUSES = ["pass", "warn", "unknown", "fail"] as const;
export type Status = (typeof STATUSES)[number];

export const CHECKLISTS = ["daily", "weekly", "monthly"] as const;
export type Checklist = (typeof CHECKLISTS)[number];

export interface Verdict {
  readonly status: Status;
  /** What was seen, in one line an operator reads in a table. */
  readonly evidence: string;
  /** What the status was judged by, and where that comes from. */
  readonly threshold: string;
}

export interface ItemResult extends Verdict {
  readonly id: string;
  readonly title: string;
}

/** A service whose `/health/ready` is read, and the Prometheus job its instances are scraped as. */
export interface ServiceTarget {
  readonly name: string;
  readonly url: string;
  readonly job: string;
}

/** A PostgreSQL query as the checks need it: parameterised, rows typed by the caller. */
export type Query = <Row extends object>(text: string, values?: readonly unknown[]) => Promise<Row[]>;

/** Everything an item may read; what is not configured is absent, and the items that need it say so. */
export interface CheckContext {
  readonly now: Date;
  /** The start of the period the checklist looks back over (a day, a week, a month, or `--since`). */
  readonly since: Date;
  readonly services: readonly ServiceTarget[];
  readonly prometheus: PrometheusApi | undefined;
  /** The alert rules Prometheus has loaded: the thresholds the items share with alerting. */
  readonly rules: () => Promise<RuleBook>;
  readonly database: Query | undefined;
  readonly redis: (() => Promise<Readonly<Record<string, string>>>) | undefined;
  readonly store: BackupStore | undefined;
  /** The backup kinds this environment makes (the §7.1 table, less what it does not run). */
  readonly backupKinds: readonly BackupKind[];
  /** `host:port` endpoints whose TLS certificate is read. */
  readonly tlsEndpoints: readonly string[];
  /** CA certificates (PEM) trusted besides Node's own, for private endpoints. */
  readonly tlsCa: string | undefined;
  /** A plan snapshot (infra/plans/<stack>.json): who may sign and who may read the secrets. */
  readonly planFile: string | undefined;
  /** The workspace whose dependencies are audited, and the command that audits them. */
  readonly workspace: string | undefined;
  readonly runCommand: (command: string, args: readonly string[], cwd: string) => Promise<CommandResult>;
  readonly timeoutMs: number;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CheckItem {
  readonly id: string;
  readonly title: string;
  readonly run: (context: CheckContext) => Promise<Verdict>;
}

/** The worse of statuses: fail over unknown over warn over pass. */
export function worst(statuses: readonly Status[]): Status {
  return statuses.reduce<Status>(
    (current, status) => (STATUSES.indexOf(status) > STATUSES.indexOf(current) ? status : current),
    "pass",
  );
}

/** A dependency an item needs and the environment does not give it: the item is `unknown`, naming the key. */
export class NotConfigured extends Error {
  constructor(readonly key: string) {
    super(`${key} is not set`);
  }
}

export function need<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new NotConfigured(key);
  return value;
}

/** The period as a PromQL range: `[86400s]`. */
export const range = (context: Pick<CheckContext, "now" | "since">): string =>
  `${Math.max(1, Math.round((context.now.getTime() - context.since.getTime()) / 1000))}s`;

/** A duration for evidence: `42 s`, `17 min`, `5.2 h`, `3.1 d`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "never";
  const abs = Math.abs(seconds);
  if (abs < 120) return `${Math.round(seconds)} s`;
  if (abs < 7200) return `${Math.round(seconds / 60)} min`;
  if (abs < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}
