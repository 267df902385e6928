/**
 * The checklist's outcome for alerting: `paimon_ops_check_status{check,item}` pushed to the
 * Pushgateway under job `paimon-ops-check`, one group per checklist. A push replaces the group,
 * so an item dropped from a checklist stops being reported; the OpsCheckFailing alert reads it
 * and routes a failing item to the team's channel.
 */
import { OPS_CHECK_STATUS_VALUES, createServiceMetrics } from "@paimon/core/metrics";
import { Pushgateway, type Registry } from "prom-client";
import type { Checklist, ItemResult } from "./types";

/** The job the checks push under: the Prometheus job their series carry. */
export const OPS_CHECK_JOB = "paimon-ops-check";

/** The registry a checklist's outcome is pushed from. */
export function checkStatusRegistry(
  checklist: Checklist,
  results: readonly Pick<ItemResult, "id" | "status">[],
): Registry {
  const { registry, metrics } = createServiceMetrics(OPS_CHECK_JOB, ["paimon_ops_check_status"], {
    defaultMetrics: false,
  });
  for (const result of results)
    metrics.paimon_ops_check_status.set({ check: checklist, item: result.id }, OPS_CHECK_STATUS_VALUES[result.status]);
  return registry;
}

export async function pushCheckStatus(
  url: string,
  checklist: Checklist,
  results: readonly ItemResult[],
  timeoutMs: number,
): Promise<void> {
  await new Pushgateway(url, { timeout: timeoutMs }, checkStatusRegistry(checklist, results)).push({
    jobName: OPS_CHECK_JOB,
    groupings: { check: checklist },
  });
}
