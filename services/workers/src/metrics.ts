import { createServiceMetrics, type MetricName, type ServiceMetrics } from "@paimon/core/metrics";
import { workerName } from "@paimon/core/workloads";
import type { WorkerName } from "./config";

/** The metrics each worker exports (from the catalog), on its own registry. */
export const WORKER_METRICS = {
  risk: [
    "paimon_risk_level",
    "paimon_l1_ratio",
    "paimon_l2_ratio",
    "paimon_l3_ratio",
    "paimon_nav_usd",
    "paimon_l1_redemption_coverage",
    "paimon_pending_redemptions",
    "paimon_redemption_requests_total",
    "paimon_risk_assessments_total",
    "paimon_jobs_total",
  ],
  scheduler: ["paimon_schedule_runs_total", "paimon_schedule_last_run_timestamp_seconds", "paimon_jobs_total"],
  rebalance: [
    "paimon_rebalance_executions_total",
    "paimon_rebalance_last_success_timestamp_seconds",
    "paimon_tx_open_intents",
    "paimon_tx_oldest_open_seconds",
    "paimon_tx_attempts_total",
    "paimon_jobs_total",
  ],
} as const satisfies Record<WorkerName, readonly MetricName[]>;

export type WorkerMetrics<W extends WorkerName> = ServiceMetrics<(typeof WORKER_METRICS)[W][number]>;

/** A worker's registry and metrics, exactly as its process exports them. */
export function createWorkerMetrics<W extends WorkerName>(
  worker: W,
  options: { readonly defaultMetrics?: boolean } = {},
): WorkerMetrics<W> {
  return createServiceMetrics(workerName(worker), WORKER_METRICS[worker], options);
}
