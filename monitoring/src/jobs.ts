import type { MetricOwner } from "@paimon/core/metrics";

/**
 * The Prometheus `job` each program's series carry. prometheus-operator names a ServiceMonitor's
 * job after the Service it scrapes (each program's Service is named after it); the backup jobs
 * push under `/metrics/job/paimon-backup/kind/<kind>` and the operations checks under
 * `/metrics/job/paimon-ops-check/check/<checklist>`, and the Pushgateway's ServiceMonitor keeps
 * pushed labels (`honorLabels`, infra's kube-prometheus-stack values). Alerts and dashboards
 * select programs through this table; the consistency test checks it against the programs'
 * registries and the jobs derived from charts-generated/.
 */
export const PROGRAM_JOBS = {
  api: "paimon-api",
  "event-listener": "paimon-event-listener",
  "risk-worker": "paimon-risk-worker",
  "scheduler-worker": "paimon-scheduler-worker",
  "rebalance-worker": "paimon-rebalance-worker",
  "backup-jobs": "paimon-backup",
  "ops-checks": "paimon-ops-check",
} as const satisfies Record<MetricOwner, string>;

/**
 * The labels a scrape gives each program's series (one pod's), for the promtool scenarios:
 * `job` and `instance` (pod IP and port) from a ServiceMonitor; the backup jobs' pushed series
 * keep only their grouping key, `job` and `kind`, as the Pushgateway honours pushed labels.
 */
export const TARGETS = {
  api: { job: PROGRAM_JOBS.api, instance: "10.0.1.11:8000" },
  "event-listener": { job: PROGRAM_JOBS["event-listener"], instance: "10.0.1.12:8001" },
  "risk-worker": { job: PROGRAM_JOBS["risk-worker"], instance: "10.0.1.21:8002" },
  "scheduler-worker": { job: PROGRAM_JOBS["scheduler-worker"], instance: "10.0.1.22:8002" },
  "rebalance-worker": { job: PROGRAM_JOBS["rebalance-worker"], instance: "10.0.1.23:8002" },
  "backup-jobs": { job: PROGRAM_JOBS["backup-jobs"] },
  "ops-checks": { job: PROGRAM_JOBS["ops-checks"] },
} as const satisfies Record<MetricOwner, Readonly<Record<string, string>>>;

/** A `job=~…` value that selects every worker and nothing else. */
export const WORKER_JOBS_PATTERN = [
  PROGRAM_JOBS["rebalance-worker"],
  PROGRAM_JOBS["risk-worker"],
  PROGRAM_JOBS["scheduler-worker"],
].join("|");

/** A promtool input series: `name{job="…",label="…"}`. */
export function series(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.entries(labels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(",")}}`;
}
