/**
 * The alerts as the checklists review them: §9.1 "the alerts that fired" (what fires now, what
 * fired since yesterday) and §9.3 "alert thresholds reviewed" (how often each rule fired over the
 * month, beside its threshold). Both read Prometheus's own `ALERTS` series.
 */
import type { PrometheusApi } from "./prometheus";
import { ALERTS_SERIES, quote } from "./promql";
import { thresholdOf } from "./rules";
import { duration, need, range, type CheckContext, type CheckItem } from "./types";

const FIRING = `${ALERTS_SERIES}{alertstate=${quote("firing")}}`;

/** One alert's firings over a period: how many separate times, and for how long in all. */
export interface Firings {
  readonly alert: string;
  readonly severity: string;
  readonly episodes: number;
  readonly seconds: number;
}

/** Prometheus answers at most 11,000 points per series; the step keeps a month under that. */
const MAX_POINTS = 10_000;

/**
 * Each alert's firings between `since` and `now`, read at the rules' evaluation interval (or
 * coarser, for a long period): a gap of more than one step between firing samples starts a new
 * episode.
 */
export async function firingsOver(
  prometheus: PrometheusApi,
  since: Date,
  now: Date,
  intervalSeconds: number,
): Promise<Firings[]> {
  const period = (now.getTime() - since.getTime()) / 1000;
  const step = Math.max(intervalSeconds, Math.ceil(period / MAX_POINTS));
  const series = await prometheus.queryRange(`max by (alertname, severity) (${FIRING})`, since, now, step);
  return series
    .map((one) => {
      let episodes = 0;
      let previous = -Infinity;
      for (const [at] of one.points) {
        if (at - previous > step * 1.5) episodes += 1;
        previous = at;
      }
      return {
        alert: one.labels["alertname"] ?? "?",
        severity: one.labels["severity"] ?? "none",
        episodes,
        seconds: one.points.length * step,
      };
    })
    .sort((a, b) => b.episodes - a.episodes || a.alert.localeCompare(b.alert));
}

export const alertsFired: CheckItem = {
  id: "alerts.fired",
  title: "Alerts that fired",
  async run(context) {
    const prometheus = need(context.prometheus, "PROMETHEUS_URL");
    const threshold =
      "fail: a critical alert firing now; warn: a warning firing now, or any alert that fired during the period (each is reviewed)";
    const [now, fired] = await Promise.all([
      prometheus.query(`max by (alertname, severity) (${FIRING})`),
      prometheus.query(`max by (alertname, severity) (max_over_time(${FIRING}[${range(context)}]))`),
    ]);
    const name = (labels: Readonly<Record<string, string>>) =>
      `${labels["alertname"] ?? "?"} (${labels["severity"] ?? "no severity"})`;
    const firingNow = now.map((sample) => name(sample.labels));
    const resolved = fired.map((sample) => name(sample.labels)).filter((alert) => !firingNow.includes(alert));
    const critical = now.some((sample) => sample.labels["severity"] === "critical");
    return {
      status: critical ? "fail" : firingNow.length > 0 || resolved.length > 0 ? "warn" : "pass",
      evidence:
        firingNow.length === 0 && resolved.length === 0
          ? "no alert fired during the period"
          : [
              firingNow.length > 0 ? `firing now: ${firingNow.join(", ")}` : "none firing now",
              resolved.length > 0 ? `fired and resolved: ${resolved.join(", ")}` : "",
            ]
              .filter((part) => part !== "")
              .join("; "),
      threshold,
    };
  },
};

/** The rules' evaluation interval: the resolution at which firings are read. */
async function interval(context: CheckContext): Promise<number> {
  const rules = (await context.rules()).rules;
  return Math.min(...rules.map((rule) => rule.intervalSeconds), 60);
}

export const alertThresholds: CheckItem = {
  id: "alerts.thresholds",
  title: "Alert thresholds reviewed",
  async run(context) {
    const prometheus = need(context.prometheus, "PROMETHEUS_URL");
    const book = await context.rules();
    const threshold =
      "warn: any rule that fired during the period, shown with its threshold, for review; pass: none fired";
    const fired = await firingsOver(prometheus, context.since, context.now, await interval(context));
    const line = (alert: string) => {
      const rule = book.rules.find((loaded) => loaded.name === alert);
      if (!rule) return "no longer loaded";
      try {
        return thresholdOf(rule).label.replace(`${alert}: `, "");
      } catch {
        return rule.query;
      }
    };
    return {
      status: fired.length > 0 ? "warn" : "pass",
      evidence:
        fired.length === 0
          ? `${book.rules.length} rules loaded; none fired during the period`
          : `${book.rules.length} rules loaded; ${fired
              .map((f) => `${f.alert} (${line(f.alert)}) fired ${f.episodes}× for ${duration(f.seconds)}`)
              .join(", ")}`,
      threshold,
    };
  },
};
