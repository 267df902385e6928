import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { SCHEDULE_MAX_AGE_HOURS } from "../alerts/fund";
import { WORKER_JOBS_PATTERN } from "../jobs";
import { m } from "../promql";
import { newDashboard, row, statPanel, timeSeries } from "./panels";

/** The workers: whether they run, the jobs they finish, the risk monitor's assessments, the sender, the schedules. */
export function workers(): dashboard.Dashboard {
  const jobs = m("paimon_jobs_total");
  const lastRun = m("paimon_schedule_last_run_timestamp_seconds");
  return newDashboard(
    "paimon-workers",
    "Paimon Workers",
    "The risk, scheduler and rebalance workers: jobs by queue and outcome, assessments, schedules.",
  )
    .withRow(row("Jobs"))
    .withPanel(
      statPanel("Workers up", "short", { expr: `sum(${m("up")}{job=~"${WORKER_JOBS_PATTERN}"})` }, [
        [null, "red"],
        [1, "orange"],
        [3, "green"],
      ]),
    )
    .withPanel(
      statPanel("Failed jobs (1h)", "short", { expr: `sum(increase(${jobs}{outcome="failed"}[1h]))` }, [
        [null, "green"],
        [1, "red"],
      ]),
    )
    .withPanel(
      timeSeries("Jobs by queue and outcome", "ops", [
        { expr: `sum by (queue, outcome) (rate(${jobs}[5m]))`, legend: "{{queue}} {{outcome}}" },
      ]),
    )
    .withRow(row("Risk monitor"))
    .withPanel(
      statPanel("Pending redemptions", "short", { expr: `sum(${m("paimon_pending_redemptions")})` }, [[null, "blue"]]),
    )
    .withPanel(
      timeSeries(
        "Risk assessments by trigger",
        "short",
        [
          {
            expr: `sum by (trigger) (increase(${m("paimon_risk_assessments_total")}[1h]))`,
            legend: "{{trigger}}",
          },
        ],
        "Per hour. block: after a block notice; timer: no notice for a while (a quiet or stalled chain).",
      ),
    )
    .withRow(row("Transaction sender"))
    .withPanel(
      statPanel("Oldest open transaction", "s", { expr: `max(${m("paimon_tx_oldest_open_seconds")})` }, [
        [null, "green"],
        [600, "orange"],
        [1800, "red"],
      ]),
    )
    .withPanel(
      timeSeries("Open transactions by status", "short", [
        { expr: `sum by (status) (${m("paimon_tx_open_intents")})`, legend: "{{status}}" },
      ]),
    )
    .withPanel(
      timeSeries(
        "Signed attempts by kind",
        "short",
        [{ expr: `sum by (kind) (increase(${m("paimon_tx_attempts_total")}[1h]))`, legend: "{{kind}}" }],
        "Per hour. Replacements and cancellations mean transactions stayed unmined: fees below the market, or a node dropping them.",
      ),
    )
    .withRow(row("Scheduler"))
    .withPanel(
      timeSeries("Schedule runs by outcome", "short", [
        {
          expr: `sum by (schedule, outcome) (increase(${m("paimon_schedule_runs_total")}[1h]))`,
          legend: "{{schedule}} {{outcome}}",
        },
      ]),
    )
    .withPanel(
      timeSeries(
        "Since last run by schedule",
        "s",
        [{ expr: `time() - max by (schedule) (${lastRun})`, legend: "{{schedule}}" }],
        `Every schedule runs at least daily; ScheduleNotRunning fires past ${SCHEDULE_MAX_AGE_HOURS} hours.`,
      ),
    )
    .build();
}
