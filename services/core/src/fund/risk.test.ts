import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatShortest, formatUnits, ratio, toUnits } from "./decimal";
import { assessRisk, DEFAULT_RISK_POLICY, riskPolicyFromEnv, riskPolicyEnvShape } from "./risk";
import { z } from "zod";

const state = (l1: string, l2 = "300000", l3 = "600000", pendingAssets = "0", pendingCount = 0) => ({
  l1,
  l2,
  l3,
  pendingAssets,
  pendingCount,
});

describe("decimal arithmetic", () => {
  it("then a decimal string survives units and back, to the last of its 18 places", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (units) => {
        expect(toUnits(formatUnits(units))).toBe(units);
      }),
    );
  });

  it("then ratios round down on exact decimals, and a zero whole has no ratio", () => {
    expect(ratio("1", "3")).toBe("0.333333");
    expect(ratio("0.1", "0.3")).toBe("0.333333");
    expect(ratio("2", "3", 2)).toBe("0.66");
    expect(ratio("5", "0")).toBeUndefined();
  });

  it("then the shortest form of any amount, at any scale, reads back to the same units", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
        fc.integer({ min: 0, max: 18 }),
        (units, places) => {
          const text = formatShortest(units, places);
          expect(toUnits(text, places)).toBe(units);
          expect(text).toMatch(/^-?\d+\.(0|\d*[1-9])$/);
        },
      ),
    );
    expect(formatShortest(1_500_000n, 6)).toBe("1.5");
    expect(formatShortest(2_000_000n, 6)).toBe("2.0");
    expect(formatShortest(-1n, 6)).toBe("-0.000001");
    expect(formatShortest(0n, 6)).toBe("0.0");
    expect(formatShortest(7n, 0)).toBe("7.0");
  });

  it("when a string is not a decimal or has more than its places, then it is refused", () => {
    expect(() => toUnits("1e5")).toThrow(/not a decimal/);
    expect(() => toUnits("0.0000000000000000001")).toThrow(/more than 18/);
    expect(() => toUnits("1.0000001", 6)).toThrow(/more than 6/);
    expect(toUnits("1.5000000", 6)).toBe(1_500_000n);
    expect(toUnits("3", 0)).toBe(3n);
  });
});

describe("assessRisk", () => {
  it("when L1 is on target and nothing is pending, then the level is 1, with the reason", () => {
    const assessment = assessRisk(state("100000"));
    expect(assessment).toMatchObject({
      level: 1,
      nav: "1000000.000000000000000000",
      ratios: { L1: "0.100000", L2: "0.300000", L3: "0.600000" },
      coverage: null,
      outOfBand: [],
    });
    expect(assessment.reasons).toEqual([
      { rule: "within_limits", level: 1, message: "L1 is 10.00 % of NAV and no redemption is pending" },
    ]);
  });

  it.each([
    ["just above the elevated line", "87000", 1],
    ["below 8 %", "78000", 2],
    ["below 5 %", "47000", 3],
    ["below 3 %", "27000", 4],
  ])("when L1 is %s of NAV, then its level follows the policy's lines", (_name, l1, level) => {
    expect(assessRisk(state(l1)).level).toBe(level);
  });

  it.each([
    ["3 times", "30000", 1],
    ["2.9 times", "34483", 2],
    ["1.4 times", "71429", 3],
    ["less than once", "100001", 4],
  ])("when L1 covers what is pending %s, then the coverage rule sets the level", (_name, pending, level) => {
    const assessment = assessRisk(state("100000", "300000", "600000", pending, 3));
    expect(assessment.level).toBe(level);
    if (level > 1) expect(assessment.outOfBand).toContain("coverage");
  });

  it("then the worst rule wins and every rule that fired is a reason", () => {
    const assessment = assessRisk(state("40000", "300000", "600000", "50000", 2));
    expect(assessment.level).toBe(4);
    expect(assessment.reasons.map((reason) => [reason.rule, reason.level])).toEqual([
      ["l1_ratio_low", 3],
      ["l1_out_of_band", 1],
      ["redemption_coverage_low", 4],
    ]);
    expect(assessment.outOfBand).toEqual(["L1", "coverage"]);
  });

  it("when the fund is empty, then it is normal unless it owes redemptions", () => {
    expect(assessRisk(state("0", "0", "0")).level).toBe(1);
    expect(assessRisk(state("0", "0", "0", "5", 1)).level).toBe(4);
  });

  it("then a level is always 1–4 and never below what any of its reasons asks", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000_000 }),
        fc.nat({ max: 10_000_000 }),
        fc.nat({ max: 10_000_000 }),
        fc.nat({ max: 10_000_000 }),
        (l1, l2, l3, pending) => {
          const assessment = assessRisk(
            state(String(l1), String(l2), String(l3), String(pending), pending > 0 ? 1 : 0),
          );
          expect(assessment.level).toBeGreaterThanOrEqual(1);
          expect(assessment.level).toBeLessThanOrEqual(4);
          expect(Math.max(...assessment.reasons.map((reason) => reason.level))).toBe(assessment.level);
        },
      ),
    );
  });
});

describe("the policy from the environment", () => {
  const parse = (env: Record<string, string>) => riskPolicyFromEnv(z.object(riskPolicyEnvShape).parse(env));

  it("when nothing is set, then it is the default policy", () => {
    expect(parse({})).toEqual({ policy: DEFAULT_RISK_POLICY, problems: [] });
  });

  it("when the targets do not sum to 1, a target leaves its band, or the lines are out of order, then each names its variable", () => {
    expect(parse({ L1_TARGET_RATIO: "0.2", RISK_L1_RATIO_HIGH: "0.09" }).problems).toEqual([
      { key: "L1_TARGET_RATIO", message: "the layers' targets must sum to 1, not 1.100000" },
      { key: "L1_TARGET_RATIO", message: "must lie in its band L1_MIN_RATIO 0.08 … L1_MAX_RATIO 0.15" },
      {
        key: "RISK_L1_RATIO_HIGH",
        message: "RISK_L1_RATIO_ELEVATED > RISK_L1_RATIO_HIGH > RISK_L1_RATIO_CRITICAL must hold (0.08, 0.09, 0.03)",
      },
    ]);
  });

  it("when a ratio is above 1 or not a number, then the schema refuses it", () => {
    expect(z.object(riskPolicyEnvShape).safeParse({ L2_MAX_RATIO: "1.5" }).success).toBe(false);
    expect(z.object(riskPolicyEnvShape).safeParse({ RISK_COVERAGE_HIGH: "lots" }).success).toBe(false);
  });
});
