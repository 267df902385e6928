/**
 * §9.1 "event processing lag": the measures of the alerts that watch the event pipeline — the
 * work queues (EventProcessingLag), the listener behind the chain (EventListenerLagging) and the
 * outbox waiting for Redis (OutboxBacklog) — now, and at their worst over the period.
 */
import { labelText, overPeriod } from "./promql";
import { crosses, overTime, worstValue } from "./rules";
import { need, worst, type CheckItem, type Status } from "./types";

export const EVENT_LAG_ALERTS = ["EventProcessingLag", "EventListenerLagging", "OutboxBacklog"] as const;

export const eventLag: CheckItem = {
  id: "events.lag",
  title: "Event processing lag",
  async run(context) {
    const prometheus = need(context.prometheus, "PROMETHEUS_URL");
    const rules = await context.rules();
    const thresholds = EVENT_LAG_ALERTS.map((alert) => rules.threshold(alert));
    const threshold = `fail: past ${thresholds.map((t) => t.label).join(", ")} now; warn: past one during the period`;
    const measured = await Promise.all(
      thresholds.map(async (line) => {
        const [now, peak] = await Promise.all([
          prometheus.query(line.measure),
          prometheus.query(overPeriod(overTime(line), line.measure, context)),
        ]);
        return { line, now, peak };
      }),
    );
    const statuses: Status[] = [];
    const parts = measured.map(({ line, now, peak }) => {
      if (now.length === 0) {
        statuses.push("unknown");
        return `${line.measure}: no series`;
      }
      const current = now.map((sample) => {
        const where = labelText(sample.labels, ["priority"]);
        return `${where === "" ? "" : `${where} `}${sample.value}`;
      });
      const worstNow =
        worstValue(
          line,
          now.map((sample) => sample.value),
        ) ?? 0;
      const worstPeak =
        worstValue(
          line,
          peak.map((sample) => sample.value),
        ) ?? worstNow;
      if (crosses(line, worstNow)) statuses.push("fail");
      else if (crosses(line, worstPeak)) statuses.push("warn");
      return `${line.alert} measure ${current.join(", ")} (worst in period ${worstPeak})`;
    });
    return { status: worst(statuses), evidence: parts.join("; "), threshold };
  },
};
