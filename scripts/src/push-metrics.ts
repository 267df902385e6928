/**
 * What the backup commands and every DR drill push to the Pushgateway, under the backup jobs'
 * job (`paimon-backup`), where the backup and DR alerts, the checks and the dashboards read it.
 * The registries are built here alone, so that what monitoring checks is what the commands push.
 */
import { createServiceMetrics } from "@paimon/core/metrics";
import { Pushgateway, type Registry } from "prom-client";
import type { BackupKind } from "./manifest";

/** The Pushgateway job of every backup and drill push. */
export const BACKUP_PUSH_JOB = "paimon-backup";

/** A verified backup: its completion time and size, grouped by kind. */
export function backupSuccessRegistry(kind: BackupKind, completedAt: Date, bytes: number): Registry {
  const { registry, metrics } = createServiceMetrics(
    BACKUP_PUSH_JOB,
    ["paimon_backup_last_success_timestamp_seconds", "paimon_backup_size_bytes"],
    { defaultMetrics: false },
  );
  metrics.paimon_backup_last_success_timestamp_seconds.set({ kind }, completedAt.getTime() / 1000);
  metrics.paimon_backup_size_bytes.set({ kind }, bytes);
  return registry;
}

/** A passed drill: its completion time (no grouping of its own). */
export function drillSuccessRegistry(completedAt: Date): Registry {
  const { registry, metrics } = createServiceMetrics(
    BACKUP_PUSH_JOB,
    ["paimon_dr_drill_last_success_timestamp_seconds"],
    { defaultMetrics: false },
  );
  metrics.paimon_dr_drill_last_success_timestamp_seconds.set(completedAt.getTime() / 1000);
  return registry;
}

/**
 * Any recorded drill, passed, failed or stopped: its completion time and whether it passed, so
 * that a failed drill alerts the night it ran rather than once the last pass is a month old.
 */
export function drillRunRegistry(completedAt: Date, passed: boolean): Registry {
  const { registry, metrics } = createServiceMetrics(
    BACKUP_PUSH_JOB,
    ["paimon_dr_drill_last_run_timestamp_seconds", "paimon_dr_drill_last_run_passed"],
    { defaultMetrics: false },
  );
  metrics.paimon_dr_drill_last_run_timestamp_seconds.set(completedAt.getTime() / 1000);
  metrics.paimon_dr_drill_last_run_passed.set(passed ? 1 : 0);
  return registry;
}

/** Adds a registry's series to the job's group (`pushAdd`: other groups' series stay). */
export async function pushToGateway(
  url: string,
  registry: Registry,
  groupings: Record<string, string> = {},
): Promise<void> {
  await new Pushgateway(url, { timeout: 10_000 }, registry).pushAdd({ jobName: BACKUP_PUSH_JOB, groupings });
}
