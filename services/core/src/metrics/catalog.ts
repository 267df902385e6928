/**
 * The metric catalog: every metric the platform's services export, and every metric they do not
 * export but alerts and dashboards read, in one place. Services register their prom-client
 * metrics from it, alert rules and dashboards take names from it, and monitoring's consistency
 * test checks it against what each program's registry really exports: every metric here comes
 * from the program its `owner` names, and nothing queries a metric no program exports — the
 * seed's dashboard plotted `paimon_l2_ratio`, which nothing defined; here that cannot happen.
 */

export type MetricType = "counter" | "gauge" | "histogram";

/**
 * The programs that export metrics: the API, the event listener, each worker, the backup
 * CronJobs and the operations checks (which push theirs to the Pushgateway).
 */
export const METRIC_OWNERS = [
  "api",
  "event-listener",
  "risk-worker",
  "scheduler-worker",
  "rebalance-worker",
  "backup-jobs",
  "ops-checks",
] as const;
export type MetricOwner = (typeof METRIC_OWNERS)[number];

export interface MetricSpec {
  readonly type: MetricType;
  /**
   * The program that exports it; a metric several programs export (every worker counts its
   * jobs) names each of them. The monitoring consistency test checks this against what each
   * program's registry really exports.
   */
  readonly owner: MetricOwner | readonly MetricOwner[];
  readonly help: string;
  readonly labels: readonly string[];
  /** Histogram bucket upper bounds, in the metric's unit. */
  readonly buckets?: readonly number[];
}

/** The operations spec's §5.1 buckets for request latency, in seconds. */
export const HTTP_DURATION_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5] as const;
/** The operations spec's §5.1 buckets for event processing, in seconds. */
export const EVENT_DURATION_BUCKETS_SECONDS = [0.01, 0.1, 0.5, 1, 5, 10] as const;

/** Metrics the Paimon services export. */
export const METRICS = {
  // §5.1: redemptions
  paimon_redemption_requests_total: {
    type: "counter",
    owner: "risk-worker",
    help: "Redemption requests, by channel (instant, standard) and status (requested, settled, cancelled, rejected)",
    labels: ["channel", "status"],
  },
  paimon_pending_redemptions: {
    type: "gauge",
    owner: "risk-worker",
    help: "Redemptions requested and not yet settled or cancelled, by channel",
    labels: ["channel"],
  },
  // §5.1: rebalancing
  paimon_rebalance_executions_total: {
    type: "counter",
    owner: "rebalance-worker",
    help: "Rebalance executions, by trigger (threshold, scheduled, manual) and status (succeeded, failed)",
    labels: ["trigger", "status"],
  },
  paimon_rebalance_last_success_timestamp_seconds: {
    type: "gauge",
    owner: "rebalance-worker",
    help: "Unix time of the last rebalance that completed on chain",
    labels: [],
  },
  // The operator's transactions (the rebalance worker's sender)
  paimon_tx_open_intents: {
    type: "gauge",
    owner: "rebalance-worker",
    help: "The operator's transactions not yet final, by status (pending, submitted, mined)",
    labels: ["status"],
  },
  paimon_tx_oldest_open_seconds: {
    type: "gauge",
    owner: "rebalance-worker",
    help: "Age of the oldest of the operator's transactions not yet final, in seconds (0 when none is open)",
    labels: [],
  },
  paimon_tx_attempts_total: {
    type: "counter",
    owner: "rebalance-worker",
    help: "Signed attempts of the operator's transactions, by kind (original, replacement, cancel)",
    labels: ["kind"],
  },
  // §5.1: risk and liquidity
  paimon_risk_level: {
    type: "gauge",
    owner: "risk-worker",
    help: "Current risk level, 1 (normal) to 4 (critical)",
    labels: [],
  },
  paimon_l1_ratio: {
    type: "gauge",
    owner: "risk-worker",
    help: "Layer 1 (cash and stablecoins) value over NAV",
    labels: [],
  },
  paimon_l2_ratio: {
    type: "gauge",
    owner: "risk-worker",
    help: "Layer 2 (short-term money market) value over NAV",
    labels: [],
  },
  paimon_l3_ratio: {
    type: "gauge",
    owner: "risk-worker",
    help: "Layer 3 (longer-dated assets) value over NAV",
    labels: [],
  },
  paimon_nav_usd: { type: "gauge", owner: "risk-worker", help: "The fund's net asset value, in USD", labels: [] },
  paimon_l1_redemption_coverage: {
    type: "gauge",
    owner: "risk-worker",
    help: "How many times L1 covers the pending redemptions",
    labels: [],
  },
  paimon_risk_assessments_total: {
    type: "counter",
    owner: "risk-worker",
    help: "Risk assessments stored, by what caused them (block: a block notice; timer: no notice for a while)",
    labels: ["trigger"],
  },
  // The workers
  paimon_jobs_total: {
    type: "counter",
    owner: ["risk-worker", "scheduler-worker", "rebalance-worker"],
    help: "Jobs the workers finished, by queue and outcome (completed, retrying, failed)",
    labels: ["queue", "outcome"],
  },
  paimon_schedule_runs_total: {
    type: "counter",
    owner: "scheduler-worker",
    help: "Scheduled slots the scheduler handled, by schedule and outcome (ran, already_ran, superseded, failed)",
    labels: ["schedule", "outcome"],
  },
  paimon_schedule_last_run_timestamp_seconds: {
    type: "gauge",
    owner: "scheduler-worker",
    help: "Unix time of the slot a schedule last ran, by schedule",
    labels: ["schedule"],
  },
  // §5.1: API
  paimon_http_request_duration_seconds: {
    type: "histogram",
    owner: "api",
    help: "HTTP request duration, by method, route template and status code",
    labels: ["method", "route", "status"],
    buckets: HTTP_DURATION_BUCKETS_SECONDS,
  },
  // The API's response cache: `GET /v1/fund` and the redemption lists' first pages, per commit
  paimon_response_cache_lookups_total: {
    type: "counter",
    owner: "api",
    help: "Requests to the cached routes, by route template and result (hit: served a body built before it; miss: waited for one to be built; bypass: a request the cache does not serve, queried)",
    labels: ["route", "result"],
  },
  paimon_response_cache_rebuilds_total: {
    type: "counter",
    owner: "api",
    help: "Cached bodies built, by route template and reason (cold: the first; signal: a commit signal; recheck: the periodic re-check found a commit no signal announced; reconnect: the re-check after listening again found one; retry: the last build failed or kept only part)",
    labels: ["route", "reason"],
  },
  paimon_response_cache_data_age_seconds: {
    type: "histogram",
    owner: "api",
    help: "Age of the chain data each cached response served (its Paimon-Data-Age: since the listener wrote the checkpoint the body was built at), by route template",
    labels: ["route"],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300],
  },
  // §5.1: events
  paimon_event_processing_duration_seconds: {
    type: "histogram",
    owner: "event-listener",
    help: "Time from fetching a block's logs to committing their events, by event type",
    labels: ["event_type"],
    buckets: EVENT_DURATION_BUCKETS_SECONDS,
  },
  paimon_event_queue_size: {
    type: "gauge",
    owner: "event-listener",
    help: "Jobs waiting in the work queues, by priority",
    labels: ["priority"],
  },
  // The chain follower
  paimon_chain_head_block: {
    type: "gauge",
    owner: "event-listener",
    help: "Latest block number the RPC node reports",
    labels: [],
  },
  paimon_chain_last_processed_block: {
    type: "gauge",
    owner: "event-listener",
    help: "Latest block whose events are committed",
    labels: [],
  },
  paimon_chain_head_lag_blocks: {
    type: "gauge",
    owner: "event-listener",
    help: "Blocks between the chain head and the last processed block",
    labels: [],
  },
  paimon_chain_finalized_lag_blocks: {
    type: "gauge",
    owner: "event-listener",
    help: "Blocks between the finalized head and the last block whose work was released",
    labels: [],
  },
  paimon_chain_reorgs_total: {
    type: "counter",
    owner: "event-listener",
    help: "Chain reorganisations detected",
    labels: [],
  },
  paimon_chain_reorg_depth_blocks: {
    type: "histogram",
    owner: "event-listener",
    help: "Depth of each reorganisation, in blocks",
    labels: [],
    buckets: [1, 2, 3, 5, 10, 20, 50],
  },
  paimon_chain_reconnects_total: {
    type: "counter",
    owner: "event-listener",
    help: "Reconnections to the RPC node's WebSocket",
    labels: [],
  },
  paimon_chain_rpc_request_duration_seconds: {
    type: "histogram",
    owner: "event-listener",
    help: "JSON-RPC request duration, by method and outcome",
    labels: ["method", "outcome"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  },
  paimon_outbox_backlog: {
    type: "gauge",
    owner: "event-listener",
    help: "Outbox rows committed but not yet relayed to the queues",
    labels: [],
  },
  // Backups and DR (§7, §8)
  paimon_backup_last_success_timestamp_seconds: {
    type: "gauge",
    owner: "backup-jobs",
    help: "Unix time of the last successful backup, by kind (postgres, redis, secrets, timescaledb)",
    labels: ["kind"],
  },
  paimon_backup_size_bytes: {
    type: "gauge",
    owner: "backup-jobs",
    help: "Size of the last successful backup, by kind",
    labels: ["kind"],
  },
  paimon_dr_drill_last_success_timestamp_seconds: {
    type: "gauge",
    owner: "backup-jobs",
    help: "Unix time of the last DR drill that passed (restored, compared equal, RPO and RTO within their targets)",
    labels: [],
  },
  paimon_dr_drill_last_run_timestamp_seconds: {
    type: "gauge",
    owner: "backup-jobs",
    help: "Unix time at which the last DR drill finished, whether it passed, failed or was stopped",
    labels: [],
  },
  paimon_dr_drill_last_run_passed: {
    type: "gauge",
    owner: "backup-jobs",
    help: "1 when the last DR drill passed, 0 when it failed or was stopped",
    labels: [],
  },
  // The operations checklists (`ops check daily|weekly|monthly`)
  paimon_ops_check_status: {
    type: "gauge",
    owner: "ops-checks",
    help: "The last run's status of each checklist item, by checklist and item: 0 pass, 1 warn, 2 unknown (could not be checked), 3 fail",
    labels: ["check", "item"],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

/** `paimon_ops_check_status`'s values: the checks push them, the OpsCheckFailing alert reads them. */
export const OPS_CHECK_STATUS_VALUES = { pass: 0, warn: 1, unknown: 2, fail: 3 } as const;

/**
 * Metrics other components export, which alerts and dashboards read: named here so that the
 * consistency test can tell a typo from a dependency.
 */
export const EXTERNAL_METRICS = {
  up: { source: "Prometheus", help: "1 when the last scrape of a target succeeded" },
  kube_pod_container_status_restarts_total: { source: "kube-state-metrics", help: "Container restarts" },
  kube_pod_container_status_waiting_reason: {
    source: "kube-state-metrics",
    help: "Containers waiting, by reason (CrashLoopBackOff, …)",
  },
  kube_deployment_status_replicas_available: {
    source: "kube-state-metrics",
    help: "Available replicas of a deployment",
  },
  pg_up: { source: "postgres-exporter", help: "1 when the exporter reaches PostgreSQL" },
  pg_stat_database_numbackends: { source: "postgres-exporter", help: "Open connections per database" },
  redis_up: { source: "redis-exporter", help: "1 when the exporter reaches Redis" },
  redis_memory_used_bytes: { source: "redis-exporter", help: "Memory Redis uses" },
  redis_memory_max_bytes: { source: "redis-exporter", help: "Redis maxmemory" },
  certmanager_certificate_expiration_timestamp_seconds: {
    source: "cert-manager",
    help: "Unix time at which a certificate expires",
  },
} as const satisfies Record<string, { source: string; help: string }>;

export type ExternalMetricName = keyof typeof EXTERNAL_METRICS;
export type AnyMetricName = MetricName | ExternalMetricName;

/** The programs that export a catalogued metric. */
export function ownersOf(spec: Pick<MetricSpec, "owner">): readonly MetricOwner[] {
  return typeof spec.owner === "string" ? [spec.owner] : spec.owner;
}

/** Whether `name` (a series name, including histogram suffixes) belongs to the catalog. */
export function catalogued(name: string): boolean {
  if (name in METRICS || name in EXTERNAL_METRICS) return true;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && (METRICS as Record<string, MetricSpec>)[base]?.type === "histogram";
}
