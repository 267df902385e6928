import { PROGRAM_JOBS, TARGETS, WORKER_JOBS_PATTERN, series } from "../jobs";
import { m } from "../promql";
import type { AlertRule } from "./types";

/** The operations spec's §7–§8: RPO under an hour. Redis snapshots run hourly; daily dumps back up PITR. */
const REDIS_BACKUP_MAX_AGE_SECONDS = 75 * 60;
const DAILY_BACKUP_MAX_AGE_HOURS = 26;
/**
 * §9.3's monthly drill runs on the 1st at 20:00 UTC and may take up to its six-hour deadline, so
 * two passes in a row are at most 31 days and 6 hours apart: a day more than the longest month
 * means the last one failed, or did not run.
 */
const DR_DRILL_MAX_AGE_DAYS = 32;

/** The window in which an API instance heard no commit signal yet found commits by re-checking. */
const SIGNALS_MISSED_WINDOW = "10m";

const up = (labels: Readonly<Record<string, string>>) => series(m("up"), labels);
const cacheRebuilds = (reason: string) =>
  series(m("paimon_response_cache_rebuilds_total"), { ...TARGETS.api, route: "/v1/fund", reason });
const rebuildsBy = (reason: string) =>
  `sum by (job, instance) (increase(${m("paimon_response_cache_rebuilds_total")}{job="${PROGRAM_JOBS.api}",reason="${reason}"}[${SIGNALS_MISSED_WINDOW}]))`;
const backup = (kind: string) =>
  series(m("paimon_backup_last_success_timestamp_seconds"), { ...TARGETS["backup-jobs"], kind });
const drill = series(m("paimon_dr_drill_last_success_timestamp_seconds"), TARGETS["backup-jobs"]);
const drillPassed = series(m("paimon_dr_drill_last_run_passed"), TARGETS["backup-jobs"]);

/** Services, data stores, backups and the cluster. */
export const PLATFORM_ALERTS: readonly AlertRule[] = [
  {
    alert: "ServiceDown",
    expr: `${m("up")}{job="${PROGRAM_JOBS.api}"} == 0`,
    for: "1m",
    severity: "critical",
    component: "api",
    summary: "Paimon API is down",
    description: "Prometheus cannot scrape {{ $labels.instance }}: the API is unreachable or not running.",
    fires: {
      series: [{ series: up(TARGETS.api), values: "0x5" }],
      at: "2m",
      resultLabels: TARGETS.api,
      value: 0,
    },
    quiet: { series: [{ series: up(TARGETS.api), values: "1x5" }], at: "2m" },
  },
  {
    // A re-check finds a commit only if one was not announced: any in a window with not one
    // rebuild by signal means this instance hears none (its LISTEN connection cannot come back, or
    // listens where nothing is announced), while the listener commits. With signals flowing, a
    // re-check that runs ahead of a signal in flight is rare, and the signals' rebuilds mute it.
    alert: "ResponseCacheSignalsMissed",
    expr: `${rebuildsBy("recheck")} > 0 unless on (job, instance) ${rebuildsBy("signal")} > 0`,
    for: "5m",
    severity: "warning",
    component: "api",
    upstream: ["postgres"],
    summary: "An API instance hears no commit signals",
    description: `{{ $labels.instance }} rebuilt {{ printf "%.0f" $value }} cached response(s) in the last ${SIGNALS_MISSED_WINDOW} only because re-checking the checkpoint found commits, and none on a commit signal: it serves each commit up to RESPONSE_CACHE_RECHECK_MS late.`,
    fires: {
      series: [
        { series: cacheRebuilds("recheck"), values: "0+1x30" },
        { series: cacheRebuilds("signal"), values: "0x30" },
      ],
      at: "16m",
      resultLabels: TARGETS.api,
      value: 10,
    },
    quiet: {
      series: [
        { series: cacheRebuilds("recheck"), values: "0+1x30" },
        { series: cacheRebuilds("signal"), values: "0+5x30" },
      ],
      at: "16m",
    },
  },
  {
    alert: "EventListenerDown",
    expr: `${m("up")}{job="${PROGRAM_JOBS["event-listener"]}"} == 0`,
    for: "2m",
    severity: "critical",
    component: "event-listener",
    summary: "The event listener is down",
    description: "Prometheus cannot scrape {{ $labels.instance }}: no chain event is being recorded.",
    fires: {
      series: [{ series: up(TARGETS["event-listener"]), values: "0x5" }],
      at: "3m",
      resultLabels: TARGETS["event-listener"],
      value: 0,
    },
    quiet: { series: [{ series: up(TARGETS["event-listener"]), values: "1x5" }], at: "3m" },
  },
  {
    alert: "WorkerDown",
    expr: `${m("up")}{job=~"${WORKER_JOBS_PATTERN}"} == 0`,
    for: "2m",
    severity: "critical",
    component: "workers",
    summary: "A worker is down",
    description: "Prometheus cannot scrape {{ $labels.job }} ({{ $labels.instance }}).",
    fires: {
      series: [
        { series: up(TARGETS["rebalance-worker"]), values: "0x5" },
        { series: up(TARGETS["risk-worker"]), values: "1x5" },
        { series: up(TARGETS["scheduler-worker"]), values: "1x5" },
      ],
      at: "3m",
      resultLabels: TARGETS["rebalance-worker"],
      value: 0,
    },
    quiet: {
      series: [
        { series: up(TARGETS["rebalance-worker"]), values: "1x5" },
        { series: up(TARGETS["risk-worker"]), values: "1x5" },
        { series: up(TARGETS["scheduler-worker"]), values: "1x5" },
      ],
      at: "3m",
    },
  },
  {
    alert: "PostgresDown",
    expr: `${m("pg_up")}{db="postgres"} == 0`,
    for: "1m",
    severity: "critical",
    component: "postgres",
    summary: "PostgreSQL is unreachable",
    description: "The exporter cannot reach the fund's PostgreSQL ({{ $labels.instance }}).",
    fires: {
      series: [{ series: `pg_up{db="postgres",instance="rds"}`, values: "0x5" }],
      at: "2m",
      resultLabels: { db: "postgres", instance: "rds" },
      value: 0,
    },
    quiet: { series: [{ series: `pg_up{db="postgres",instance="rds"}`, values: "1x5" }], at: "2m" },
  },
  {
    alert: "TimescaleDBDown",
    expr: `${m("pg_up")}{db="timescaledb"} == 0`,
    for: "2m",
    severity: "warning",
    component: "timescaledb",
    summary: "TimescaleDB is unreachable",
    description:
      "The exporter cannot reach the metrics database ({{ $labels.instance }}); time series are not being written.",
    fires: {
      series: [{ series: `pg_up{db="timescaledb",instance="timescaledb-0"}`, values: "0x5" }],
      at: "3m",
      resultLabels: { db: "timescaledb", instance: "timescaledb-0" },
      value: 0,
    },
    quiet: { series: [{ series: `pg_up{db="timescaledb",instance="timescaledb-0"}`, values: "1x5" }], at: "3m" },
  },
  {
    alert: "RedisDown",
    expr: `${m("redis_up")} == 0`,
    for: "1m",
    severity: "critical",
    component: "redis",
    summary: "Redis is unreachable",
    description: "The exporter cannot reach Redis ({{ $labels.instance }}): the work queues are stopped.",
    fires: {
      series: [{ series: `redis_up{instance="elasticache"}`, values: "0x5" }],
      at: "2m",
      resultLabels: { instance: "elasticache" },
      value: 0,
    },
    quiet: { series: [{ series: `redis_up{instance="elasticache"}`, values: "1x5" }], at: "2m" },
  },
  {
    alert: "RedisMemoryHigh",
    expr: `${m("redis_memory_used_bytes")} / ${m("redis_memory_max_bytes")} > 0.8`,
    for: "10m",
    severity: "warning",
    component: "redis",
    summary: "Redis is filling up",
    description:
      "Redis uses {{ $value | humanizePercentage }} of its memory. With noeviction, a full Redis refuses new jobs.",
    fires: {
      series: [
        { series: `redis_memory_used_bytes{instance="elasticache"}`, values: "850x15" },
        { series: `redis_memory_max_bytes{instance="elasticache"}`, values: "1000x15" },
      ],
      at: "11m",
      resultLabels: { instance: "elasticache" },
      value: 0.85,
    },
    quiet: {
      series: [
        { series: `redis_memory_used_bytes{instance="elasticache"}`, values: "800x15" },
        { series: `redis_memory_max_bytes{instance="elasticache"}`, values: "1000x15" },
      ],
      at: "11m",
    },
  },
  {
    alert: "RedisBackupOlderThanRpo",
    expr: `time() - ${m("paimon_backup_last_success_timestamp_seconds")}{kind="redis"} > ${REDIS_BACKUP_MAX_AGE_SECONDS}`,
    for: "5m",
    severity: "critical",
    component: "backups",
    upstream: ["redis"],
    summary: "The hourly Redis snapshot is overdue",
    description: 'The last Redis snapshot is {{ printf "%.0f" $value }} s old; the RPO is one hour.',
    fires: {
      series: [{ series: backup("redis"), values: "0x90" }],
      at: "81m",
      resultLabels: { ...TARGETS["backup-jobs"], kind: "redis" },
      value: 4860,
    },
    quiet: { series: [{ series: backup("redis"), values: "0x90" }], at: "75m" },
  },
  {
    alert: "DailyBackupMissed",
    expr: `(time() - ${m("paimon_backup_last_success_timestamp_seconds")}{kind=~"postgres|secrets|timescaledb"}) / 3600 > ${DAILY_BACKUP_MAX_AGE_HOURS}`,
    for: "10m",
    severity: "warning",
    component: "backups",
    summary: "A daily backup is overdue",
    description: 'The last {{ $labels.kind }} backup is {{ printf "%.1f" $value }} hours old.',
    fires: {
      series: [{ series: backup("postgres"), values: "0x1600" }],
      at: "1571m",
      resultLabels: { ...TARGETS["backup-jobs"], kind: "postgres" },
      value: 1571 / 60,
    },
    quiet: { series: [{ series: backup("postgres"), values: "0x1600" }], at: "1560m" },
  },
  {
    // Every drill pushes its result, so one that failed or was stopped warns the night it ran,
    // not a month later when DRDrillOverdue's line is crossed.
    alert: "DRDrillFailed",
    expr: `${m("paimon_dr_drill_last_run_passed")} == 0`,
    for: "5m",
    severity: "warning",
    component: "backups",
    summary: "The last DR drill did not pass",
    description:
      "The last DR drill failed or was stopped: its record says which step gave way. Until a drill passes, nobody knows whether the backups restore within the RTO.",
    fires: {
      series: [{ series: drillPassed, values: "0x10" }],
      at: "6m",
      resultLabels: TARGETS["backup-jobs"],
      value: 0,
    },
    quiet: { series: [{ series: drillPassed, values: "1x10" }], at: "6m" },
  },
  {
    // Not also `absent(…)` for an environment where no drill ever ran: the Pushgateway writes what
    // was pushed to its volume only every five minutes (--persistence.file, its default interval),
    // so a restart can still lose a push, and a new environment would warn for its first month.
    alert: "DRDrillOverdue",
    expr: `(time() - ${m("paimon_dr_drill_last_success_timestamp_seconds")}) / 86400 > ${DR_DRILL_MAX_AGE_DAYS}`,
    for: "1h",
    severity: "warning",
    component: "backups",
    summary: "The monthly DR drill has not passed for over a month",
    description:
      'The last DR drill that passed finished {{ printf "%.1f" $value }} days ago: the last one failed, was stopped, or did not run.',
    fires: {
      // A pass 32 days before the scenario's start: past the line from the first sample on.
      series: [{ series: drill, values: `-${DR_DRILL_MAX_AGE_DAYS * 86_400}x70` }],
      at: "61m",
      resultLabels: TARGETS["backup-jobs"],
      value: DR_DRILL_MAX_AGE_DAYS + 61 / 1440,
    },
    quiet: { series: [{ series: drill, values: `-${(DR_DRILL_MAX_AGE_DAYS - 1) * 86_400}x70` }], at: "61m" },
  },
  {
    alert: "TLSCertificateExpiring",
    expr: `(${m("certmanager_certificate_expiration_timestamp_seconds")} - time()) / 86400 < 14`,
    for: "1h",
    severity: "warning",
    component: "platform",
    summary: "A TLS certificate expires within two weeks",
    description:
      '{{ $labels.name }} in {{ $labels.namespace }} expires in {{ printf "%.1f" $value }} days; cert-manager has not renewed it.',
    fires: {
      series: [
        {
          series: `certmanager_certificate_expiration_timestamp_seconds{name="paimon-api-tls",namespace="paimon"}`,
          values: "1200000x90",
        },
      ],
      at: "61m",
      resultLabels: { name: "paimon-api-tls", namespace: "paimon" },
      value: (1200000 - 61 * 60) / 86400,
    },
    quiet: {
      series: [
        {
          series: `certmanager_certificate_expiration_timestamp_seconds{name="paimon-api-tls",namespace="paimon"}`,
          values: "1300000x90",
        },
      ],
      at: "61m",
    },
  },
  {
    alert: "PodCrashLooping",
    expr: `max by (namespace, pod, container) (max_over_time(${m("kube_pod_container_status_waiting_reason")}{reason="CrashLoopBackOff"}[5m])) >= 1`,
    for: "15m",
    severity: "warning",
    component: "platform",
    summary: "A container is crash-looping",
    description: "{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} keeps restarting.",
    fires: {
      series: [
        {
          series: `kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff",namespace="paimon",pod="api-1",container="api"}`,
          values: "1x20",
        },
      ],
      at: "16m",
      resultLabels: { namespace: "paimon", pod: "api-1", container: "api" },
      value: 1,
    },
    quiet: {
      series: [
        {
          series: `kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff",namespace="paimon",pod="api-1",container="api"}`,
          values: "0x20",
        },
      ],
      at: "16m",
    },
  },
];
