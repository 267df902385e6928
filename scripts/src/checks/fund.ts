/**
 * §9.1 "the risk indicators" and "pending redemptions": the risk level and the layer ratios as
 * the risk monitor exports them, judged by the alerts that watch them (HighRiskLevel,
 * LowLiquidity) and the fund's policy (level 2 is "elevated"); and the redemptions waiting in
 * PostgreSQL, judged by when each channel promises to pay.
 */
import { DEFAULT_RISK_POLICY, RISK_LEVEL } from "@paimon/core/fund";
import { m, overPeriod } from "./promql";
import { crosses, overTime } from "./rules";
import { duration, need, worst, type CheckItem, type Status } from "./types";

/** A decimal without its trailing zeros: "20500.000000" → "20500". */
const decimal = (value: string) => (value.includes(".") ? value.replace(/0+$/, "").replace(/\.$/, "") : value);
const percent = (value: number | undefined) => (value === undefined ? "?" : `${(value * 100).toFixed(2)} %`);

export const riskIndicators: CheckItem = {
  id: "fund.risk",
  title: "Risk indicators",
  async run(context) {
    const prometheus = need(context.prometheus, "PROMETHEUS_URL");
    const rules = await context.rules();
    const high = rules.threshold("HighRiskLevel");
    const low = rules.threshold("LowLiquidity");
    const threshold = `fail: ${high.label} now; warn: level ≥ ${RISK_LEVEL.elevated} (the fund policy's "elevated"), ${low.label} now, or ${high.alert}'s line crossed during the period`;
    const value = async (expr: string) => {
      const samples = await prometheus.query(expr);
      return samples.length === 0 ? undefined : Math.max(...samples.map((sample) => sample.value));
    };
    const [level, peak, l1, l2, l3, coverage] = await Promise.all([
      value(high.measure),
      value(overPeriod(overTime(high), high.measure, context)),
      value(low.measure),
      value(m("paimon_l2_ratio")),
      value(m("paimon_l3_ratio")),
      value(m("paimon_l1_redemption_coverage")),
    ]);
    if (level === undefined)
      return { status: "unknown", evidence: `no ${high.measure} series: the risk monitor exports none`, threshold };
    const statuses: Status[] = [];
    if (crosses(high, level)) statuses.push("fail");
    if (level >= RISK_LEVEL.elevated) statuses.push("warn");
    if (l1 !== undefined && crosses(low, l1)) statuses.push("warn");
    if (peak !== undefined && crosses(high, peak)) statuses.push("warn");
    const coverageText =
      coverage === undefined || coverage === 0
        ? "nothing pending"
        : `${coverage.toFixed(2)}× (elevated below ${DEFAULT_RISK_POLICY.coverage.elevated}×)`;
    return {
      status: worst(statuses),
      evidence: `level ${level} (worst in period ${peak ?? "?"}); L1 ${percent(l1)}, L2 ${percent(l2)}, L3 ${percent(l3)}; L1 covers pending redemptions ${coverageText}`,
      threshold,
    };
  },
};

/** A standard redemption waits for the next daily cut-off: older than a day, a cut-off has passed it by. */
const STANDARD_WAIT_SECONDS = 86_400;

export const pendingRedemptions: CheckItem = {
  id: "fund.redemptions",
  title: "Pending redemptions",
  async run(context) {
    const query = need(context.database, "DATABASE_URL");
    const stuck = (await context.rules()).threshold("TransactionStuck");
    const threshold = `fail: an instant redemption pending longer than ${duration(stuck.value)} (${stuck.label}, a settlement's deadline), a standard one longer than a day (the daily settlement cut-off) plus that`;
    const rows = await query<{ channel: "instant" | "standard"; count: number; assets: string; oldest: number }>(
      `select channel, count(*)::int as count, coalesce(sum(assets), 0)::text as assets,
              extract(epoch from $1::timestamptz - min(created_at))::float8 as oldest
         from redemptions where status = 'requested' group by channel order by channel`,
      [context.now.toISOString()],
    );
    if (rows.length === 0) return { status: "pass", evidence: "no redemption pending", threshold };
    const limit = { instant: stuck.value, standard: STANDARD_WAIT_SECONDS + stuck.value };
    const late = rows.filter((row) => row.oldest > limit[row.channel]);
    return {
      status: late.length > 0 ? "fail" : "pass",
      evidence: rows
        .map(
          (row) =>
            `${row.channel}: ${row.count} pending (${decimal(row.assets)} assets), oldest ${duration(row.oldest)}`,
        )
        .join("; "),
      threshold,
    };
  },
};
