import { assessRisk, type FundState } from "@paimon/core/fund";
import { describe, expect, it } from "vitest";
import { runTool } from "../testing";
import { ALERTS, expandDescription, renderRulesFile, renderRuleTests } from "./index";

const rules = renderRulesFile();

describe("the alert rules", () => {
  it("then promtool accepts the rules file", () => {
    const result = runTool("promtool", { "rules.yml": rules }, () => ["check", "rules", "rules.yml"]);
    expect(result.output).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(result.ok).toBe(true);
  });

  it("then every alert fires after its `for` and stays quiet just below its threshold (promtool test rules)", () => {
    const result = runTool("promtool", { "rules.yml": rules, "rules.test.yml": renderRuleTests("rules.yml") }, () => [
      "test",
      "rules",
      "rules.test.yml",
    ]);
    expect(result.output).toContain("SUCCESS");
    expect(result.ok).toBe(true);
  });

  it("when a threshold drifts from what its tests expect, then promtool's tests fail", () => {
    const drifted = rules.replace("paimon_l1_ratio < 0.08", "paimon_l1_ratio < 0.05");
    expect(drifted).not.toBe(rules);
    const result = runTool("promtool", { "rules.yml": drifted, "rules.test.yml": renderRuleTests("rules.yml") }, () => [
      "test",
      "rules",
      "rules.test.yml",
    ]);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("LowLiquidity");
  });

  it("then the operations spec's five alerts of §5.3 are there with its thresholds and durations", () => {
    const byName = Object.fromEntries(ALERTS.map((rule) => [rule.alert, rule]));
    expect(byName["HighRiskLevel"]).toMatchObject({ expr: "paimon_risk_level >= 3", for: "5m", severity: "critical" });
    expect(byName["LowLiquidity"]).toMatchObject({ expr: "paimon_l1_ratio < 0.08", for: "5m", severity: "warning" });
    expect(byName["HighAPILatency"]).toMatchObject({ for: "5m", severity: "warning" });
    expect(byName["HighAPILatency"]?.expr).toMatch(
      /^histogram_quantile\(0\.99, .*paimon_http_request_duration_seconds_bucket\[5m\].*\) > 1$/,
    );
    expect(byName["EventProcessingLag"]).toMatchObject({ for: "5m", severity: "warning" });
    expect(byName["EventProcessingLag"]?.expr).toMatch(/paimon_event_queue_size\) > 1000$/);
    expect(byName["ServiceDown"]).toMatchObject({ expr: 'up{job="paimon-api"} == 0', for: "1m", severity: "critical" });
  });

  it("when the scenarios' ratios are assessed as the risk worker does, then it flags exactly what the alerts fire on", () => {
    const byName = Object.fromEntries(ALERTS.map((rule) => [rule.alert, rule]));
    /** A scenario's ratio, in thousandths of NAV: the first value of its one series. */
    const permille = (alert: string, scenario: "fires" | "quiet") =>
      Math.round(Number.parseFloat(byName[alert]?.[scenario].series[0]?.values ?? "NaN") * 1000);
    const fund = (l1: number, l2: number, l3: number): FundState => ({
      l1: String(l1),
      l2: String(l2),
      l3: String(l3),
      pendingAssets: "0",
      pendingCount: 0,
    });
    const layerFlagged = (layer: "L2" | "L3", state: FundState) => assessRisk(state).outOfBand.includes(layer);
    const l1Low = (state: FundState) => assessRisk(state).reasons.some((reason) => reason.rule === "l1_ratio_low");
    for (const scenario of ["fires", "quiet"] as const) {
      const fires = scenario === "fires";
      const l2 = permille("L2RatioOutOfBand", scenario);
      expect(layerFlagged("L2", fund(100, l2, 900 - l2)), `L2 at ${l2}‰`).toBe(fires);
      const l3 = permille("L3RatioOutOfBand", scenario);
      expect(layerFlagged("L3", fund(100, 900 - l3, l3)), `L3 at ${l3}‰`).toBe(fires);
      const l1 = permille("LowLiquidity", scenario);
      expect(l1Low(fund(l1, 300, 700 - l1)), `L1 at ${l1}‰`).toBe(fires);
    }
  });

  it("when a description uses the supported template forms, then they expand as Prometheus would", () => {
    expect(expandDescription("{{ $value | humanizePercentage }} on {{ $labels.job }}", { job: "w" }, 0.07)).toBe(
      "7% on w",
    );
    expect(expandDescription('{{ printf "%.2f" $value }}s', {}, 1.98989)).toBe("1.99s");
    expect(() => expandDescription("{{ $value | humanizeDuration }}", {}, 1)).toThrow("unsupported template");
  });
});
