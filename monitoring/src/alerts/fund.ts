import { DEFAULT_RISK_POLICY } from "@paimon/core/fund";
import { TARGETS, series } from "../jobs";
import { m } from "../promql";
import type { AlertRule } from "./types";

/**
 * The fund policy the risk worker assesses by: the L1 line below which the risk level is
 * elevated, and the L2 / L3 bands. The alerts read the same values, so the two cannot disagree.
 */
const { bands, l1Ratio } = DEFAULT_RISK_POLICY;
const ratio = (decimal: string) => Number(decimal);
/** A ratio as a percentage for a description: "0.08" → "8". */
const percent = (decimal: string) => String(Number((Number(decimal) * 100).toPrecision(12)));
/** A ratio `delta` past a threshold, rounded as a scenario's value is written. */
const past = (decimal: string, delta: number) => Number((Number(decimal) + delta).toFixed(6));

const RISK_WORKER = TARGETS["risk-worker"];
const REBALANCE_WORKER = TARGETS["rebalance-worker"];
/** An open operator transaction older than this is stuck: its deadline (30 min) has passed. */
const TX_STUCK_SECONDS = 1800;
const SCHEDULER_WORKER = TARGETS["scheduler-worker"];
const API = TARGETS.api;
const LISTENER = TARGETS["event-listener"];

/** A schedule whose last run is older than this has stopped: every schedule runs at least daily. */
export const SCHEDULE_MAX_AGE_HOURS = 48;
const LAST_RUN = series(m("paimon_schedule_last_run_timestamp_seconds"), {
  ...SCHEDULER_WORKER,
  schedule: "fund-snapshot",
});

/** The fund's own alerts: the operations spec's §5.3 first, then what running the fund needs. */
export const FUND_ALERTS: readonly AlertRule[] = [
  {
    alert: "HighRiskLevel",
    expr: `${m("paimon_risk_level")} >= 3`,
    for: "5m",
    severity: "critical",
    component: "fund",
    upstream: ["workers"],
    summary: "High risk level detected",
    description: "Risk level is {{ $value }} for more than 5 minutes (3 = high, 4 = critical).",
    fires: {
      series: [{ series: series(m("paimon_risk_level"), RISK_WORKER), values: "3x10" }],
      at: "6m",
      resultLabels: RISK_WORKER,
      value: 3,
    },
    quiet: { series: [{ series: series(m("paimon_risk_level"), RISK_WORKER), values: "2x10" }], at: "6m" },
  },
  {
    alert: "LowLiquidity",
    expr: `${m("paimon_l1_ratio")} < ${ratio(l1Ratio.elevated)}`,
    for: "5m",
    severity: "warning",
    component: "fund",
    upstream: ["workers"],
    summary: "L1 liquidity is low",
    description: `L1 ratio is {{ $value | humanizePercentage }}, below the ${percent(l1Ratio.elevated)}% threshold.`,
    fires: {
      series: [{ series: series(m("paimon_l1_ratio"), RISK_WORKER), values: `${past(l1Ratio.elevated, -0.01)}x10` }],
      at: "6m",
      resultLabels: RISK_WORKER,
      value: past(l1Ratio.elevated, -0.01),
    },
    quiet: {
      series: [{ series: series(m("paimon_l1_ratio"), RISK_WORKER), values: `${ratio(l1Ratio.elevated)}x10` }],
      at: "6m",
    },
  },
  {
    alert: "L2RatioOutOfBand",
    expr: `${m("paimon_l2_ratio")} < ${ratio(bands.L2.min)} or ${m("paimon_l2_ratio")} > ${ratio(bands.L2.max)}`,
    for: "30m",
    severity: "warning",
    component: "fund",
    upstream: ["workers"],
    summary: "L2 ratio outside its band",
    description: `L2 (money market) is {{ $value | humanizePercentage }} of NAV, outside ${percent(bands.L2.min)}–${percent(bands.L2.max)}% around its ${percent(bands.L2.target)}% target.`,
    fires: {
      series: [{ series: series(m("paimon_l2_ratio"), RISK_WORKER), values: `${past(bands.L2.max, 0.05)}x40` }],
      at: "31m",
      resultLabels: RISK_WORKER,
      value: past(bands.L2.max, 0.05),
    },
    quiet: {
      series: [{ series: series(m("paimon_l2_ratio"), RISK_WORKER), values: `${ratio(bands.L2.max)}x40` }],
      at: "31m",
    },
  },
  {
    alert: "L3RatioOutOfBand",
    expr: `${m("paimon_l3_ratio")} < ${ratio(bands.L3.min)} or ${m("paimon_l3_ratio")} > ${ratio(bands.L3.max)}`,
    for: "30m",
    severity: "warning",
    component: "fund",
    upstream: ["workers"],
    summary: "L3 ratio outside its band",
    description: `L3 (longer-dated) is {{ $value | humanizePercentage }} of NAV, outside ${percent(bands.L3.min)}–${percent(bands.L3.max)}% around its ${percent(bands.L3.target)}% target.`,
    fires: {
      series: [{ series: series(m("paimon_l3_ratio"), RISK_WORKER), values: `${past(bands.L3.min, -0.01)}x40` }],
      at: "31m",
      resultLabels: RISK_WORKER,
      value: past(bands.L3.min, -0.01),
    },
    quiet: {
      series: [{ series: series(m("paimon_l3_ratio"), RISK_WORKER), values: `${ratio(bands.L3.min)}x40` }],
      at: "31m",
    },
  },
  {
    alert: "RebalanceFailing",
    expr: `sum(increase(${m("paimon_rebalance_executions_total")}{status="failed"}[30m])) > 0`,
    for: "1m",
    severity: "critical",
    component: "workers",
    upstream: ["redis", "postgres"],
    summary: "Rebalances are failing",
    description: '{{ printf "%.0f" $value }} rebalance execution(s) failed in the last 30 minutes.',
    fires: {
      series: [
        {
          series: series(m("paimon_rebalance_executions_total"), {
            ...REBALANCE_WORKER,
            status: "failed",
            trigger: "threshold",
          }),
          values: "0 0 1 1 1 1 1",
        },
      ],
      at: "4m",
      value: 1,
    },
    quiet: {
      series: [
        {
          series: series(m("paimon_rebalance_executions_total"), {
            ...REBALANCE_WORKER,
            status: "failed",
            trigger: "threshold",
          }),
          values: "1x10",
        },
      ],
      at: "4m",
    },
  },
  {
    alert: "SettlementFailing",
    expr: `sum(increase(${m("paimon_jobs_total")}{queue="settlements",outcome="failed"}[30m])) > 0`,
    for: "1m",
    severity: "critical",
    component: "workers",
    upstream: ["redis", "postgres"],
    summary: "Redemption settlements are failing",
    description:
      '{{ printf "%.0f" $value }} settlement job(s) failed for good in the last 30 minutes: redemptions are not being paid.',
    fires: {
      series: [
        {
          series: series(m("paimon_jobs_total"), { ...REBALANCE_WORKER, queue: "settlements", outcome: "failed" }),
          values: "0 0 1 1 1 1 1",
        },
      ],
      at: "4m",
      value: 1,
    },
    quiet: {
      series: [
        {
          series: series(m("paimon_jobs_total"), { ...REBALANCE_WORKER, queue: "settlements", outcome: "failed" }),
          values: "1x10",
        },
      ],
      at: "4m",
    },
  },
  {
    alert: "TransactionStuck",
    expr: `max(${m("paimon_tx_oldest_open_seconds")}) > ${TX_STUCK_SECONDS}`,
    for: "5m",
    severity: "critical",
    component: "workers",
    upstream: ["postgres"],
    summary: "An operator transaction is not final after 30 minutes",
    description:
      'The oldest of the operator\'s open transactions is {{ printf "%.0f" $value }} s old: a settlement or rebalance is not moving.',
    fires: {
      series: [{ series: series(m("paimon_tx_oldest_open_seconds"), REBALANCE_WORKER), values: "2000x20" }],
      at: "6m",
      value: 2000,
    },
    quiet: {
      series: [{ series: series(m("paimon_tx_oldest_open_seconds"), REBALANCE_WORKER), values: "60x20" }],
      at: "6m",
    },
  },
  {
    alert: "ScheduleNotRunning",
    expr: `(time() - max by (schedule) (${m("paimon_schedule_last_run_timestamp_seconds")})) / 3600 > ${SCHEDULE_MAX_AGE_HOURS}`,
    for: "10m",
    severity: "warning",
    component: "workers",
    upstream: ["redis"],
    summary: "A schedule has stopped running",
    description: `The {{ $labels.schedule }} schedule last ran {{ printf "%.1f" $value }} hours ago; every schedule runs at least daily.`,
    // promtool's clock starts at 0: a last run 10 minutes short of the limit before it, so the
    // limit is crossed at 10m and the alert fires once that has held for its 10m.
    fires: {
      series: [{ series: LAST_RUN, values: `${-(SCHEDULE_MAX_AGE_HOURS * 3600 - 600)}x30` }],
      at: "22m",
      resultLabels: { schedule: "fund-snapshot" },
      value: SCHEDULE_MAX_AGE_HOURS + 0.2,
    },
    quiet: { series: [{ series: LAST_RUN, values: `${-(SCHEDULE_MAX_AGE_HOURS * 3600 - 600)}x30` }], at: "10m" },
  },
  {
    alert: "HighAPILatency",
    expr: `histogram_quantile(0.99, sum by (le) (rate(${m("paimon_http_request_duration_seconds")}_bucket[5m]))) > 1`,
    for: "5m",
    severity: "warning",
    component: "api",
    upstream: ["postgres", "redis"],
    summary: "High API latency",
    description: 'P99 latency is {{ printf "%.2f" $value }}s over the last 5 minutes.',
    fires: {
      series: [
        {
          series: series(`${m("paimon_http_request_duration_seconds")}_bucket`, { ...API, le: "1" }),
          values: "0+1x20",
        },
        {
          series: series(`${m("paimon_http_request_duration_seconds")}_bucket`, { ...API, le: "2" }),
          values: "0+100x20",
        },
        {
          series: series(`${m("paimon_http_request_duration_seconds")}_bucket`, { ...API, le: "+Inf" }),
          values: "0+100x20",
        },
      ],
      at: "11m",
      value: 1.9898989898989898,
    },
    quiet: {
      series: [
        {
          series: series(`${m("paimon_http_request_duration_seconds")}_bucket`, { ...API, le: "1" }),
          values: "0+100x20",
        },
        {
          series: series(`${m("paimon_http_request_duration_seconds")}_bucket`, { ...API, le: "2" }),
          values: "0+100x20",
        },
        {
          series: series(`${m("paimon_http_request_duration_seconds")}_bucket`, { ...API, le: "+Inf" }),
          values: "0+100x20",
        },
      ],
      at: "11m",
    },
  },
  {
    alert: "EventProcessingLag",
    expr: `max by (priority) (${m("paimon_event_queue_size")}) > 1000`,
    for: "5m",
    severity: "warning",
    component: "workers",
    upstream: ["redis"],
    summary: "Event processing lag",
    description: '{{ $labels.priority }}-priority queue holds {{ printf "%.0f" $value }} jobs.',
    fires: {
      series: [{ series: series(m("paimon_event_queue_size"), { ...LISTENER, priority: "high" }), values: "1001x10" }],
      at: "6m",
      resultLabels: { priority: "high" },
      value: 1001,
    },
    quiet: {
      series: [{ series: series(m("paimon_event_queue_size"), { ...LISTENER, priority: "high" }), values: "1000x10" }],
      at: "6m",
    },
  },
  {
    alert: "EventListenerStalled",
    expr: `delta(${m("paimon_chain_last_processed_block")}[5m]) == 0 and ${m("paimon_chain_head_lag_blocks")} > 0`,
    for: "2m",
    severity: "critical",
    component: "event-listener",
    upstream: ["postgres"],
    summary: "The event listener has stopped processing blocks",
    description:
      "No block processed for 5 minutes while the chain moved on: deposits and redemptions are not being recorded.",
    fires: {
      series: [
        { series: series(m("paimon_chain_last_processed_block"), LISTENER), values: "100x20" },
        { series: series(m("paimon_chain_head_lag_blocks"), LISTENER), values: "0+10x20" },
      ],
      at: "8m",
      resultLabels: LISTENER,
      value: 0,
    },
    quiet: {
      series: [
        { series: series(m("paimon_chain_last_processed_block"), LISTENER), values: "100+1x20" },
        { series: series(m("paimon_chain_head_lag_blocks"), LISTENER), values: "2x20" },
      ],
      at: "8m",
    },
  },
  {
    alert: "EventListenerLagging",
    expr: `${m("paimon_chain_head_lag_blocks")} > 100`,
    for: "5m",
    severity: "warning",
    component: "event-listener",
    upstream: ["postgres"],
    summary: "The event listener is behind the chain",
    description: '{{ printf "%.0f" $value }} blocks behind the head (about 45 s at BSC\'s 0.45 s blocks is 100).',
    fires: {
      series: [{ series: series(m("paimon_chain_head_lag_blocks"), LISTENER), values: "101x10" }],
      at: "6m",
      resultLabels: LISTENER,
      value: 101,
    },
    quiet: { series: [{ series: series(m("paimon_chain_head_lag_blocks"), LISTENER), values: "100x10" }], at: "6m" },
  },
  {
    alert: "OutboxBacklog",
    expr: `${m("paimon_outbox_backlog")} > 100`,
    for: "5m",
    severity: "warning",
    component: "event-listener",
    upstream: ["redis"],
    summary: "Committed work is not reaching the queues",
    description: '{{ printf "%.0f" $value }} outbox rows wait to be relayed to Redis.',
    fires: {
      series: [{ series: series(m("paimon_outbox_backlog"), LISTENER), values: "101x10" }],
      at: "6m",
      resultLabels: LISTENER,
      value: 101,
    },
    quiet: { series: [{ series: series(m("paimon_outbox_backlog"), LISTENER), values: "100x10" }], at: "6m" },
  },
];
