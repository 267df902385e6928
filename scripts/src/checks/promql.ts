/**
 * PromQL as the checks write it: metric names checked against the catalog at compile time, as
 * the alerts and dashboards write theirs, and the few expressions several items share.
 */
import type { AnyMetricName } from "@paimon/core/metrics";
import type { CheckContext } from "./types";
import { range } from "./types";

/** A catalogued metric's name: `m("paimon_risk_level")`. */
export const m = (name: AnyMetricName): string => name;

/** Prometheus's own series of alerts (not in the metric catalog: Prometheus writes it for every rule). */
export const ALERTS_SERIES = "ALERTS";

/** The worst value of `expr` over the period, through a subquery at the rules' resolution. */
export const overPeriod = (
  aggregation: "max_over_time" | "min_over_time" | "avg_over_time",
  expr: string,
  context: Pick<CheckContext, "now" | "since">,
) => `${aggregation}((${expr})[${range(context)}:])`;

/** A PromQL string literal. */
export const quote = (value: string): string => JSON.stringify(value);

/** Label values for evidence: `{priority="high"}` → `high`. */
export const labelText = (labels: Readonly<Record<string, string>>, names: readonly string[]): string =>
  names
    .map((name) => labels[name])
    .filter((value): value is string => value !== undefined && value !== "")
    .join("/");
