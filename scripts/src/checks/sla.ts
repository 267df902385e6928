/**
 * §9.2 "the SLA met", from Prometheus over the period: the API's availability (the share of time
 * some instance was up, and the share of requests not answered 5xx) and its P99 latency, against
 * the alerts that define "down" and "slow" — ServiceDown and HighAPILatency.
 */
import { API_JOB } from "./config";
import type { PrometheusApi } from "./prometheus";
import { ALERTS_SERIES, m, overPeriod, quote } from "./promql";
import { crosses } from "./rules";
import { need, range, worst, type CheckContext, type CheckItem, type Status } from "./types";

const REQUESTS = `${m("paimon_http_request_duration_seconds")}_count`;
const BUCKETS = `${m("paimon_http_request_duration_seconds")}_bucket`;

export interface SlaFigures {
  /** Share of the period some API instance was up, 0…1. */
  readonly uptime: number | undefined;
  /** Share of requests answered other than 5xx, 0…1; undefined when there were none. */
  readonly success: number | undefined;
  readonly requests: number;
  /** P99 over the whole period, in seconds. */
  readonly p99: number | undefined;
}

const one = async (prometheus: PrometheusApi, expr: string) => {
  const [sample] = await prometheus.query(expr);
  return sample === undefined || Number.isNaN(sample.value) ? undefined : sample.value;
};

/** The API's availability and latency over the period (also the monthly report's figures). */
export async function slaFigures(
  prometheus: PrometheusApi,
  context: Pick<CheckContext, "now" | "since">,
  job = API_JOB,
): Promise<SlaFigures> {
  const period = range(context);
  const selector = `{job=${quote(job)}}`;
  const [uptime, requests, failed, p99] = await Promise.all([
    one(prometheus, overPeriod("avg_over_time", `max(${m("up")}${selector})`, context)),
    one(prometheus, `sum(increase(${REQUESTS}${selector}[${period}]))`),
    one(prometheus, `sum(increase(${REQUESTS}{job=${quote(job)},status=~"5.."}[${period}]))`),
    one(prometheus, `histogram_quantile(0.99, sum by (le) (increase(${BUCKETS}${selector}[${period}])))`),
  ]);
  const total = requests ?? 0;
  return {
    uptime,
    success: total > 0 ? 1 - (failed ?? 0) / total : undefined,
    requests: total,
    p99: total > 0 ? p99 : undefined,
  };
}

const share = (value: number | undefined) => (value === undefined ? "n/a" : `${(value * 100).toFixed(3)} %`);

export const slaMet: CheckItem = {
  id: "sla",
  title: "SLA met",
  async run(context) {
    const prometheus = need(context.prometheus, "PROMETHEUS_URL");
    const rules = await context.rules();
    const slow = rules.threshold("HighAPILatency");
    const down = rules.rule("ServiceDown");
    const threshold = `fail: ServiceDown fired, or the period's P99 past ${slow.label}; warn: a 5-minute P99 past it, or availability under 100 %`;
    const [figures, worstP99, downFired] = await Promise.all([
      slaFigures(prometheus, context),
      one(prometheus, overPeriod("max_over_time", slow.measure, context)),
      prometheus.query(
        `max_over_time(${ALERTS_SERIES}{alertname=${quote(down.name)},alertstate="firing"}[${range(context)}])`,
      ),
    ]);
    const statuses: Status[] = [];
    if (figures.uptime === undefined) statuses.push("unknown");
    if (downFired.length > 0) statuses.push("fail");
    if (figures.p99 !== undefined && crosses(slow, figures.p99)) statuses.push("fail");
    if (worstP99 !== undefined && crosses(slow, worstP99)) statuses.push("warn");
    if ((figures.uptime ?? 1) < 1 || (figures.success ?? 1) < 1) statuses.push("warn");
    const ms = (seconds: number | undefined) => (seconds === undefined ? "n/a" : `${(seconds * 1000).toFixed(0)} ms`);
    return {
      status: worst(statuses),
      evidence: `up ${share(figures.uptime)} of the period; ${figures.requests.toFixed(0)} requests, ${share(figures.success)} not 5xx; P99 ${ms(figures.p99)} (worst 5-minute ${ms(worstP99)}); ${downFired.length > 0 ? `${down.name} fired` : `${down.name} did not fire`}`,
      threshold,
    };
  },
};
