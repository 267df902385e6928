/**
 * §9.2 "the security logs": the operator API's refusals over the period, as the API's request
 * metrics count them by route and status — 401 is a failed operator authentication (a missing,
 * forged or expired token: the operator's is the API's only authentication), 403 a request
 * refused (the wrong role, or not through the edge). The spec sets no number: each one is for an
 * operator to look into, so any is a warning.
 */
import { API_JOB } from "./config";
import { labelText, m, quote } from "./promql";
import { need, range, type CheckItem } from "./types";

const REQUESTS = `${m("paimon_http_request_duration_seconds")}_count`;

export const operatorAuthentications: CheckItem = {
  id: "security.authentications",
  title: "Failed operator authentications",
  async run(context) {
    const prometheus = need(context.prometheus, "PROMETHEUS_URL");
    const threshold = "warn: any 401 or 403 during the period (§9.2: each is reviewed); the spec sets no count";
    const samples = await prometheus.query(
      `sum by (method, route, status) (increase(${REQUESTS}{job=${quote(API_JOB)},status=~"401|403"}[${range(context)}])) > 0`,
    );
    const counted = samples
      .map((sample) => ({ ...sample, value: Math.round(sample.value) }))
      .filter((s) => s.value > 0);
    const total = (status: string) =>
      counted.filter((sample) => sample.labels["status"] === status).reduce((sum, sample) => sum + sample.value, 0);
    return {
      status: counted.length > 0 ? "warn" : "pass",
      evidence:
        counted.length === 0
          ? "no refused operator request during the period"
          : `${total("401")} failed authentication(s), ${total("403")} refused: ${counted
              .map(
                (sample) =>
                  `${labelText(sample.labels, ["method"])} ${labelText(sample.labels, ["route"])} ${labelText(sample.labels, ["status"])} ×${sample.value}`,
              )
              .join(", ")}`,
      threshold,
    };
  },
};
