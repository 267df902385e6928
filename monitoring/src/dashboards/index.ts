import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { m } from "../promql";
import { gaugePanel, newDashboard, row, statPanel, timeSeries, workloadsNamespace } from "./panels";
import { workers } from "./workers";

const rate5m = (expr: string) => `rate(${expr}[5m])`;

/** The seed's "Paimon Fund Operations" (§5.2), with the L2/L3 ratios it plotted now defined. */
function fundOperations(): dashboard.Dashboard {
  return newDashboard(
    "paimon-fund-operations",
    "Paimon Fund Operations",
    "Risk, liquidity, redemptions and rebalances (operations spec §5.2).",
  )
    .withRow(row("Fund"))
    .withPanel(
      // §5.2's colours: 1 green, 2 yellow, 3 orange, 4 red.
      gaugePanel("Risk Level", { expr: m("paimon_risk_level") }, { min: 1, max: 4 }, [
        [null, "green"],
        [1, "green"],
        [2, "yellow"],
        [3, "orange"],
        [4, "red"],
      ]),
    )
    .withPanel(statPanel("NAV", "currencyUSD", { expr: m("paimon_nav_usd") }, [[null, "blue"]]))
    .withPanel(
      statPanel("L1 coverage of pending redemptions", "x", { expr: m("paimon_l1_redemption_coverage") }, [
        [null, "red"],
        [1, "orange"],
        [2, "green"],
      ]),
    )
    .withPanel(
      statPanel(
        "Redemption Requests (24h)",
        "short",
        { expr: `sum(increase(${m("paimon_redemption_requests_total")}[24h]))` },
        [[null, "blue"]],
      ),
    )
    .withPanel(
      timeSeries("Liquidity Ratios", "percentunit", [
        { expr: m("paimon_l1_ratio"), legend: "L1" },
        { expr: m("paimon_l2_ratio"), legend: "L2" },
        { expr: m("paimon_l3_ratio"), legend: "L3" },
      ]),
    )
    .withPanel(
      timeSeries("API Latency (P99)", "s", [
        {
          expr: `histogram_quantile(0.99, sum by (le) (${rate5m(`${m("paimon_http_request_duration_seconds")}_bucket`)}))`,
          legend: "p99",
        },
      ]),
    )
    .withRow(row("Redemptions and rebalances"))
    .withPanel(
      timeSeries("Redemption requests by channel and status", "reqps", [
        {
          expr: `sum by (channel, status) (${rate5m(m("paimon_redemption_requests_total"))})`,
          legend: "{{channel}} {{status}}",
        },
      ]),
    )
    .withPanel(
      timeSeries("Pending redemptions", "short", [{ expr: m("paimon_pending_redemptions"), legend: "{{channel}}" }]),
    )
    .withPanel(
      timeSeries("Rebalance executions", "short", [
        {
          expr: `sum by (trigger, status) (increase(${m("paimon_rebalance_executions_total")}[1h]))`,
          legend: "{{trigger}} {{status}}",
        },
      ]),
    )
    .withPanel(
      statPanel(
        "Since last rebalance",
        "s",
        { expr: `time() - ${m("paimon_rebalance_last_success_timestamp_seconds")}` },
        [
          [null, "green"],
          [86400, "orange"],
          [172800, "red"],
        ],
      ),
    )
    .build();
}

/** API health: rate, errors and latency by route; the response cache's hits, rebuilds and data age. */
function apiHealth(): dashboard.Dashboard {
  const duration = m("paimon_http_request_duration_seconds");
  const lookups = m("paimon_response_cache_lookups_total");
  const rebuilds = m("paimon_response_cache_rebuilds_total");
  const dataAge = m("paimon_response_cache_data_age_seconds");
  return newDashboard(
    "paimon-api-health",
    "Paimon API Health",
    "Request rate, errors and latency of the API, by route.",
  )
    .withPanel(
      statPanel("Instances up", "short", { expr: `sum(${m("up")}{job="paimon-api"})` }, [
        [null, "red"],
        [1, "orange"],
        [3, "green"],
      ]),
    )
    .withPanel(
      statPanel(
        "Available replicas",
        "short",
        { expr: `sum(${m("kube_deployment_status_replicas_available")}{deployment="paimon-api"})` },
        [
          [null, "red"],
          [1, "orange"],
          [3, "green"],
        ],
      ),
    )
    .withPanel(
      timeSeries("Requests by route", "reqps", [
        { expr: `sum by (route) (${rate5m(`${duration}_count`)})`, legend: "{{route}}" },
      ]),
    )
    .withPanel(
      timeSeries("Error ratio (5xx)", "percentunit", [
        {
          expr: `sum(${rate5m(`${duration}_count{status=~"5.."}`)}) / sum(${rate5m(`${duration}_count`)})`,
          legend: "5xx",
        },
        {
          expr: `sum(${rate5m(`${duration}_count{status=~"4.."}`)}) / sum(${rate5m(`${duration}_count`)})`,
          legend: "4xx",
        },
      ]),
    )
    .withPanel(
      timeSeries("Latency by route (p50, p99)", "s", [
        {
          expr: `histogram_quantile(0.5, sum by (le, route) (${rate5m(`${duration}_bucket`)}))`,
          legend: "p50 {{route}}",
        },
        {
          expr: `histogram_quantile(0.99, sum by (le, route) (${rate5m(`${duration}_bucket`)}))`,
          legend: "p99 {{route}}",
        },
      ]),
    )
    .withPanel(
      timeSeries("Mean latency", "s", [
        { expr: `sum(${rate5m(`${duration}_sum`)}) / sum(${rate5m(`${duration}_count`)})`, legend: "mean" },
      ]),
    )
    .withRow(row("Response cache"))
    .withPanel(
      timeSeries(
        "Cache lookups by route and result",
        "reqps",
        [{ expr: `sum by (route, result) (${rate5m(lookups)})`, legend: "{{route}} {{result}}" }],
        "hit: a body built before the request; miss: the request waited for one; bypass: a page past the first or a caller's own list, queried",
      ),
    )
    .withPanel(
      timeSeries("Cache hit ratio", "percentunit", [
        {
          expr: `sum by (route) (${rate5m(`${lookups}{result="hit"}`)}) / sum by (route) (${rate5m(`${lookups}{result=~"hit|miss"}`)})`,
          legend: "{{route}}",
        },
      ]),
    )
    .withPanel(
      timeSeries(
        "Cache rebuilds by reason",
        "short",
        [{ expr: `sum by (reason) (increase(${rebuilds}[5m]))`, legend: "{{reason}}" }],
        "Per 5 minutes. While commits flow, rebuilds come by signal; by recheck with none by signal, signals are being missed (ResponseCacheSignalsMissed); reconnect follows a LISTEN connection that came back; retry, builds that failed",
      ),
    )
    .withPanel(
      timeSeries(
        "Cached responses' data age (p50, p99)",
        "s",
        [
          {
            expr: `histogram_quantile(0.5, sum by (le, route) (${rate5m(`${dataAge}_bucket`)}))`,
            legend: "p50 {{route}}",
          },
          {
            expr: `histogram_quantile(0.99, sum by (le, route) (${rate5m(`${dataAge}_bucket`)}))`,
            legend: "p99 {{route}}",
          },
        ],
        "Since the listener wrote the checkpoint the body was built at (Paimon-Data-Age). Above the listener's pace with signals missed, the cache lags by up to RESPONSE_CACHE_RECHECK_MS; growing without bound, the listener has stalled",
      ),
    )
    .build();
}

/** The event pipeline: chain head lag, processing time, queues, outbox, reorgs. */
function eventPipeline(): dashboard.Dashboard {
  return newDashboard(
    "paimon-event-pipeline",
    "Paimon Event Pipeline",
    "From the chain to the queues: lag, processing, reorganisations.",
  )
    .withPanel(
      statPanel("Head lag", "short", { expr: m("paimon_chain_head_lag_blocks") }, [
        [null, "green"],
        [20, "orange"],
        [100, "red"],
      ]),
    )
    .withPanel(
      statPanel("Finalized lag", "short", { expr: m("paimon_chain_finalized_lag_blocks") }, [
        [null, "green"],
        [50, "orange"],
      ]),
    )
    .withPanel(
      statPanel("Outbox backlog", "short", { expr: m("paimon_outbox_backlog") }, [
        [null, "green"],
        [100, "red"],
      ]),
    )
    .withPanel(
      statPanel("Reconnects (1h)", "short", { expr: `increase(${m("paimon_chain_reconnects_total")}[1h])` }, [
        [null, "green"],
        [3, "orange"],
      ]),
    )
    .withPanel(
      timeSeries("Chain head and last processed block", "none", [
        { expr: m("paimon_chain_head_block"), legend: "head" },
        { expr: m("paimon_chain_last_processed_block"), legend: "processed" },
      ]),
    )
    .withPanel(
      timeSeries("Event processing P99 by type", "s", [
        {
          expr: `histogram_quantile(0.99, sum by (le, event_type) (${rate5m(`${m("paimon_event_processing_duration_seconds")}_bucket`)}))`,
          legend: "{{event_type}}",
        },
      ]),
    )
    .withPanel(
      timeSeries("Queue size by priority", "short", [{ expr: m("paimon_event_queue_size"), legend: "{{priority}}" }]),
    )
    .withPanel(
      timeSeries("RPC latency P99 by method", "s", [
        {
          expr: `histogram_quantile(0.99, sum by (le, method) (${rate5m(`${m("paimon_chain_rpc_request_duration_seconds")}_bucket`)}))`,
          legend: "{{method}}",
        },
      ]),
    )
    .withPanel(
      timeSeries("Reorganisations", "short", [
        { expr: `increase(${m("paimon_chain_reorgs_total")}[1h])`, legend: "reorgs / h" },
        {
          expr: `histogram_quantile(1, sum by (le) (increase(${m("paimon_chain_reorg_depth_blocks")}_bucket[1h])))`,
          legend: "deepest",
        },
      ]),
    )
    .build();
}

/** PostgreSQL, Redis and TimescaleDB. */
function dataStores(): dashboard.Dashboard {
  return newDashboard(
    "paimon-data-stores",
    "Paimon Data Stores",
    "PostgreSQL, Redis and TimescaleDB reachability and load.",
  )
    .withPanel(
      statPanel("PostgreSQL", "short", { expr: `${m("pg_up")}{db="postgres"}` }, [
        [null, "red"],
        [1, "green"],
      ]),
    )
    .withPanel(
      statPanel("TimescaleDB", "short", { expr: `${m("pg_up")}{db="timescaledb"}` }, [
        [null, "red"],
        [1, "green"],
      ]),
    )
    .withPanel(
      statPanel("Redis", "short", { expr: m("redis_up") }, [
        [null, "red"],
        [1, "green"],
      ]),
    )
    .withPanel(
      statPanel(
        "Redis memory used",
        "percentunit",
        { expr: `${m("redis_memory_used_bytes")} / ${m("redis_memory_max_bytes")}` },
        [
          [null, "green"],
          [0.7, "orange"],
          [0.8, "red"],
        ],
      ),
    )
    .withPanel(
      timeSeries("PostgreSQL connections", "short", [
        { expr: `sum by (db) (${m("pg_stat_database_numbackends")})`, legend: "{{db}}" },
      ]),
    )
    .withPanel(
      timeSeries("Redis memory", "bytes", [
        { expr: m("redis_memory_used_bytes"), legend: "used" },
        { expr: m("redis_memory_max_bytes"), legend: "max" },
      ]),
    )
    .build();
}

/** Backups and DR: the age of every kind of backup against the RPO. */
function backups(): dashboard.Dashboard {
  const age = `time() - ${m("paimon_backup_last_success_timestamp_seconds")}`;
  return newDashboard(
    "paimon-backups",
    "Paimon Backups and DR",
    "Age of the last backup of each kind against the one-hour RPO (§7, §8).",
  )
    .withVariable(workloadsNamespace())
    .withPanel(
      statPanel("Redis snapshot age", "s", { expr: `${age}{kind="redis"}` }, [
        [null, "green"],
        [3600, "orange"],
        [4500, "red"],
      ]),
    )
    .withPanel(
      statPanel("PostgreSQL dump age", "s", { expr: `${age}{kind="postgres"}` }, [
        [null, "green"],
        [93600, "red"],
      ]),
    )
    .withPanel(
      statPanel("Secrets export age", "s", { expr: `${age}{kind="secrets"}` }, [
        [null, "green"],
        [93600, "red"],
      ]),
    )
    .withPanel(
      statPanel("TimescaleDB dump age", "s", { expr: `${age}{kind="timescaledb"}` }, [
        [null, "green"],
        [93600, "red"],
      ]),
    )
    .withPanel(
      // Monthly (§9.3): orange past a month, red past five weeks.
      statPanel(
        "Last DR drill passed",
        "s",
        { expr: `time() - ${m("paimon_dr_drill_last_success_timestamp_seconds")}` },
        [
          [null, "green"],
          [2_678_400, "orange"],
          [3_024_000, "red"],
        ],
      ),
    )
    .withPanel(
      // Every drill pushes its result, so a failed or stopped one shows (and DRDrillFailed warns)
      // the night it ran.
      statPanel("Last DR drill result", "none", { expr: m("paimon_dr_drill_last_run_passed") }, [
        [null, "red"],
        [1, "green"],
      ]).mappings([
        {
          type: dashboard.MappingType.ValueToText,
          options: { "0": { text: "failed or stopped", color: "red" }, "1": { text: "passed", color: "green" } },
        },
      ]),
    )
    .withPanel(
      // The same colours as the last pass: a drill a month, whatever its result.
      statPanel("Last DR drill ran", "s", { expr: `time() - ${m("paimon_dr_drill_last_run_timestamp_seconds")}` }, [
        [null, "green"],
        [2_678_400, "orange"],
        [3_024_000, "red"],
      ]),
    )
    .withPanel(timeSeries("Backup age by kind", "s", [{ expr: age, legend: "{{kind}}" }], "RPO: one hour (spec §8.1)"))
    .withPanel(
      timeSeries("Backup size by kind", "bytes", [{ expr: m("paimon_backup_size_bytes"), legend: "{{kind}}" }]),
    )
    .withPanel(
      timeSeries("Certificates: days left", "d", [
        {
          expr: `(${m("certmanager_certificate_expiration_timestamp_seconds")} - time()) / 86400`,
          legend: "{{namespace}}/{{name}}",
        },
      ]),
    )
    .withPanel(
      timeSeries(
        "Operations checks: items not passing",
        "short",
        [{ expr: `max by (check, item) (${m("paimon_ops_check_status")}) > 0`, legend: "{{check}} {{item}}" }],
        "1 warn, 2 could not be checked, 3 fail (OpsCheckFailing at 2 and above)",
      ),
    )
    .withPanel(
      timeSeries("Container restarts (1h)", "short", [
        {
          expr: `sum by (pod) (increase(${m("kube_pod_container_status_restarts_total")}{namespace=~"$namespace"}[1h]))`,
          legend: "{{pod}}",
        },
      ]),
    )
    .build();
}

/** Every dashboard, by the file name it is written to under dashboards/. */
export function dashboards(): Record<string, dashboard.Dashboard> {
  return {
    "fund-operations": fundOperations(),
    "api-health": apiHealth(),
    "event-pipeline": eventPipeline(),
    "data-stores": dataStores(),
    backups: backups(),
    workers: workers(),
  };
}
