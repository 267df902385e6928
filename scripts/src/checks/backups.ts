/**
 * §9.1 "the backups completed", one line per kind: the newest complete backup in the store (or,
 * where the check has no read access to the store, the success the backup pushed once it had
 * verified its read-back) against how often §7.1 makes that kind and the alert that guards its
 * RPO (RedisBackupOlderThanRpo, DailyBackupMissed).
 */
import { listBackups } from "../backups";
import type { BackupKind } from "../manifest";
import type { LoadedRule } from "./prometheus";
import { m, quote } from "./promql";
import { lineSeconds, thresholdOf } from "./rules";
import { duration, type CheckContext, type CheckItem, type Status, type Verdict } from "./types";

/** §7.1: Redis hourly, the others daily. A backup older than this is late; past its alert's line it has failed. */
export const EXPECTED_EVERY_SECONDS: Readonly<Record<BackupKind, number>> = {
  postgres: 86_400,
  redis: 3_600,
  secrets: 86_400,
  timescaledb: 86_400,
};

const SUCCESS = m("paimon_backup_last_success_timestamp_seconds");

/** The loaded rule that alerts on this kind's backup age, read from its `kind` matcher. */
export function ruleForKind(rules: readonly LoadedRule[], kind: BackupKind): LoadedRule | undefined {
  return rules.find((rule) => {
    const selector = new RegExp(`${SUCCESS}\\s*\\{([^}]*)\\}`).exec(rule.query)?.[1];
    const matcher = selector === undefined ? undefined : /kind\s*(=~|=)\s*"([^"]*)"/.exec(selector);
    if (!matcher) return false;
    const [, op, value = ""] = matcher;
    return op === "=" ? value === kind : new RegExp(`^(?:${value})$`).test(kind);
  });
}

interface Newest {
  readonly age: number;
  readonly text: string;
  /** A later attempt that did not complete: the newest backup is older than it should be. */
  readonly interrupted?: string;
}

async function newest(context: CheckContext, kind: BackupKind): Promise<Newest | undefined> {
  if (context.store) {
    const listed = await listBackups(context.store, [kind]);
    const complete = listed.find((backup) => backup.state === "complete");
    const later = listed.filter(
      (backup) => backup.state !== "complete" && (!complete || backup.startedAt > complete.startedAt),
    );
    if (!complete) return undefined;
    return {
      age: (context.now.getTime() - complete.startedAt.getTime()) / 1000,
      text: `${complete.id} (${complete.bytes} bytes) in ${context.store.url}`,
      ...(later.length > 0
        ? {
            interrupted: later
              .map((backup) => `${backup.id} is ${backup.state}${backup.problem ? ` (${backup.problem})` : ""}`)
              .join(", "),
          }
        : {}),
    };
  }
  if (context.prometheus) {
    const samples = await context.prometheus.query(`${SUCCESS}{kind=${quote(kind)}}`);
    if (samples.length === 0) return undefined;
    const at = Math.max(...samples.map((sample) => sample.value));
    return {
      age: context.now.getTime() / 1000 - at,
      text: `last success pushed at ${new Date(at * 1000).toISOString()}`,
    };
  }
  return undefined;
}

export function backupFresh(kind: BackupKind): CheckItem {
  return {
    id: `backups.${kind}`,
    title: `Backup completed: ${kind}`,
    async run(context): Promise<Verdict> {
      if (!context.store && !context.prometheus)
        return { status: "unknown", evidence: "neither BACKUP_TARGET nor PROMETHEUS_URL is set", threshold: "" };
      const every = EXPECTED_EVERY_SECONDS[kind];
      let failAfter = every;
      let source = `§7.1 makes one every ${duration(every)}; no alert rule watches ${kind} backups`;
      if (context.prometheus) {
        const rule = ruleForKind((await context.rules()).rules, kind);
        if (rule) {
          const line = thresholdOf(rule);
          failAfter = lineSeconds(line);
          source = `warn: older than ${duration(every)} (§7.1); fail: older than ${duration(failAfter)} (${line.label})`;
        }
      }
      const found = await newest(context, kind);
      if (!found) return { status: "fail", evidence: `no complete ${kind} backup`, threshold: source };
      const status: Status =
        found.age > failAfter ? "fail" : found.age > every || found.interrupted !== undefined ? "warn" : "pass";
      return {
        status,
        evidence: `newest ${duration(found.age)} old: ${found.text}${found.interrupted ? `; later attempt ${found.interrupted}` : ""}`,
        threshold: source,
      };
    },
  };
}
