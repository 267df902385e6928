/**
 * The fund's risk: from the layer balances and the redemptions waiting on L1, the ratios, how
 * many times L1 covers those redemptions, the risk level 1 (normal) … 4 (critical) with every
 * rule that chose it, and which ratios have left their band (what a threshold rebalance answers).
 * Pure: the risk monitor, the demo data and the tests all call this one function.
 */
import { z } from "zod";
import { formatUnits, ratio, toUnits } from "./decimal";

export const LAYERS = ["L1", "L2", "L3"] as const;
export type LayerName = (typeof LAYERS)[number];

/** A layer's target share of NAV and the band it may drift in before a rebalance is due. */
export interface LayerBand {
  readonly target: string;
  readonly min: string;
  readonly max: string;
}

/** Level thresholds of one measure: below `elevated` is level 2, below `high` 3, below `critical` 4. */
export interface LevelThresholds {
  readonly elevated: string;
  readonly high: string;
  readonly critical: string;
}

export interface RiskPolicy {
  readonly bands: Readonly<Record<LayerName, LayerBand>>;
  /** L1's share of NAV. */
  readonly l1Ratio: LevelThresholds;
  /** How many times L1 covers the pending redemptions. */
  readonly coverage: LevelThresholds;
}

/**
 * The fund's defaults: 10 / 30 / 60 % across the layers; L1 below 8 % of NAV is elevated risk
 * (the low-liquidity alert's line), below 5 % high, below 3 % critical; L1 covering pending
 * redemptions less than 3 times is elevated, 1.5 times high, and less than once critical (the
 * fund could not pay what is already asked of it).
 */
export const DEFAULT_RISK_POLICY: RiskPolicy = {
  bands: {
    L1: { target: "0.10", min: "0.08", max: "0.15" },
    L2: { target: "0.30", min: "0.20", max: "0.40" },
    L3: { target: "0.60", min: "0.50", max: "0.70" },
  },
  l1Ratio: { elevated: "0.08", high: "0.05", critical: "0.03" },
  coverage: { elevated: "3", high: "1.5", critical: "1" },
};

export const RISK_LEVEL = { normal: 1, elevated: 2, high: 3, critical: 4 } as const;
export type RiskLevel = (typeof RISK_LEVEL)[keyof typeof RISK_LEVEL];

/** What the fund holds at a block, and what waits on L1. Amounts are decimal strings. */
export interface FundState {
  readonly l1: string;
  readonly l2: string;
  readonly l3: string;
  /** Assets of the redemptions requested and not yet settled or cancelled. */
  readonly pendingAssets: string;
  readonly pendingCount: number;
}

/** One rule that contributed to the level: a stable `rule` id, the level it asks for, and why. */
export interface RiskReason {
  readonly rule: string;
  readonly level: RiskLevel;
  readonly message: string;
}

export interface RiskAssessment {
  readonly level: RiskLevel;
  readonly reasons: readonly RiskReason[];
  readonly nav: string;
  /** Each layer over NAV, 6 decimals; "0.000000" for an empty fund. */
  readonly ratios: Readonly<Record<LayerName, string>>;
  /** L1 over the pending redemptions, 6 decimals; null when nothing is pending. */
  readonly coverage: string | null;
  /** The ratios outside their band, and coverage below its floor: what a threshold rebalance is for. */
  readonly outOfBand: readonly string[];
}

const percent = (value: string) => `${(Number(value) * 100).toFixed(2)} %`;
const LEVEL_NAMES = ["", "normal", "elevated", "high", "critical"] as const;

/** The level `value` falls to under `thresholds` (lower is worse), or 1. */
function levelBelow(value: bigint, thresholds: LevelThresholds): RiskLevel {
  if (value < toUnits(thresholds.critical)) return RISK_LEVEL.critical;
  if (value < toUnits(thresholds.high)) return RISK_LEVEL.high;
  if (value < toUnits(thresholds.elevated)) return RISK_LEVEL.elevated;
  return RISK_LEVEL.normal;
}

const thresholdOf = (thresholds: LevelThresholds, level: RiskLevel) =>
  level === RISK_LEVEL.critical
    ? thresholds.critical
    : level === RISK_LEVEL.high
      ? thresholds.high
      : thresholds.elevated;

/** Assesses `state` under `policy`. */
export function assessRisk(state: FundState, policy: RiskPolicy = DEFAULT_RISK_POLICY): RiskAssessment {
  const units = { L1: toUnits(state.l1), L2: toUnits(state.l2), L3: toUnits(state.l3) };
  const navUnits = units.L1 + units.L2 + units.L3;
  const pending = toUnits(state.pendingAssets);
  const ratios = Object.fromEntries(
    LAYERS.map((layer) => [layer, ratio(units[layer], navUnits) ?? "0.000000"]),
  ) as Record<LayerName, string>;
  const coverage = pending === 0n ? null : (ratio(units.L1, pending) ?? null);
  const reasons: RiskReason[] = [];
  const outOfBand: string[] = [];

  if (navUnits === 0n) {
    reasons.push(
      pending === 0n
        ? { rule: "empty_fund", level: RISK_LEVEL.normal, message: "the fund holds nothing and owes nothing" }
        : {
            rule: "empty_fund_owing",
            level: RISK_LEVEL.critical,
            message: "the fund holds nothing but owes redemptions",
          },
    );
  } else {
    const l1Level = levelBelow(toUnits(ratios.L1), policy.l1Ratio);
    if (l1Level > RISK_LEVEL.normal) {
      reasons.push({
        rule: "l1_ratio_low",
        level: l1Level,
        message: `L1 is ${percent(ratios.L1)} of NAV, below the ${LEVEL_NAMES[l1Level]} line of ${percent(thresholdOf(policy.l1Ratio, l1Level))}`,
      });
    }
    for (const layer of LAYERS) {
      const band = policy.bands[layer];
      const value = toUnits(ratios[layer]);
      if (value < toUnits(band.min) || value > toUnits(band.max)) {
        outOfBand.push(layer);
        reasons.push({
          rule: `${layer.toLowerCase()}_out_of_band`,
          level: RISK_LEVEL.normal,
          message: `${layer} is ${percent(ratios[layer])} of NAV, outside its ${percent(band.min)}–${percent(band.max)} band around ${percent(band.target)}`,
        });
      }
    }
  }
  if (coverage !== null) {
    const coverageLevel = levelBelow(toUnits(coverage), policy.coverage);
    if (coverageLevel > RISK_LEVEL.normal) {
      outOfBand.push("coverage");
      reasons.push({
        rule: "redemption_coverage_low",
        level: coverageLevel,
        message: `L1 covers the ${String(state.pendingCount)} pending redemption(s) ${Number(coverage).toFixed(2)} times, below the ${LEVEL_NAMES[coverageLevel]} line of ${thresholdOf(policy.coverage, coverageLevel)}`,
      });
    }
  }
  const level = reasons.reduce<RiskLevel>((worst, reason) => (reason.level > worst ? reason.level : worst), 1);
  if (reasons.every((reason) => reason.level === RISK_LEVEL.normal) && navUnits > 0n) {
    reasons.unshift({
      rule: "within_limits",
      level: RISK_LEVEL.normal,
      message:
        coverage === null
          ? `L1 is ${percent(ratios.L1)} of NAV and no redemption is pending`
          : `L1 is ${percent(ratios.L1)} of NAV and covers the pending redemptions ${Number(coverage).toFixed(2)} times`,
    });
  }
  return { level, reasons, nav: formatUnits(navUnits), ratios, coverage, outOfBand };
}

const ratioString = z
  .string()
  .regex(/^\d+(\.\d{1,18})?$/, "must be a non-negative decimal number")
  .refine((value) => toUnits(value) <= toUnits("1"), "must be at most 1");
const timesString = z.string().regex(/^\d+(\.\d{1,18})?$/, "must be a non-negative decimal number");

/**
 * The policy's environment variables (`L1_TARGET_RATIO`, `L1_MIN_RATIO`, …, `RISK_L1_RATIO_HIGH`,
 * `RISK_COVERAGE_CRITICAL`, …), each defaulting to DEFAULT_RISK_POLICY, checked together: the
 * targets sum to 1, each sits inside its band, and each measure's thresholds fall from elevated
 * to critical. A problem names the variable to fix.
 */
export const riskPolicyEnvShape = {
  ...Object.fromEntries(
    LAYERS.flatMap((layer) =>
      (["target", "min", "max"] as const).map((field) => [
        `${layer}_${field.toUpperCase()}_RATIO`,
        ratioString.default(DEFAULT_RISK_POLICY.bands[layer][field]),
      ]),
    ),
  ),
  ...Object.fromEntries(
    (["elevated", "high", "critical"] as const).flatMap((level) => [
      [`RISK_L1_RATIO_${level.toUpperCase()}`, ratioString.default(DEFAULT_RISK_POLICY.l1Ratio[level])],
      [`RISK_COVERAGE_${level.toUpperCase()}`, timesString.default(DEFAULT_RISK_POLICY.coverage[level])],
    ]),
  ),
} as Record<string, z.ZodDefault<z.ZodString>>;

/** The policy from parsed environment values (see `riskPolicyEnvShape`), or the problems, by variable. */
export function riskPolicyFromEnv(values: Readonly<Record<string, string>>): {
  policy: RiskPolicy;
  problems: { key: string; message: string }[];
} {
  const get = (key: string) => values[key] ?? "0";
  const bands = Object.fromEntries(
    LAYERS.map((layer) => [
      layer,
      { target: get(`${layer}_TARGET_RATIO`), min: get(`${layer}_MIN_RATIO`), max: get(`${layer}_MAX_RATIO`) },
    ]),
  ) as Record<LayerName, LayerBand>;
  const thresholds = (measure: "L1_RATIO" | "COVERAGE"): LevelThresholds => ({
    elevated: get(`RISK_${measure}_ELEVATED`),
    high: get(`RISK_${measure}_HIGH`),
    critical: get(`RISK_${measure}_CRITICAL`),
  });
  const policy: RiskPolicy = { bands, l1Ratio: thresholds("L1_RATIO"), coverage: thresholds("COVERAGE") };
  const problems: { key: string; message: string }[] = [];
  const sum = LAYERS.reduce((total, layer) => total + toUnits(bands[layer].target), 0n);
  if (sum !== toUnits("1")) {
    problems.push({
      key: "L1_TARGET_RATIO",
      message: `the layers' targets must sum to 1, not ${formatUnits(sum / 10n ** 12n, 6)}`,
    });
  }
  for (const layer of LAYERS) {
    const { target, min, max } = bands[layer];
    if (!(toUnits(min) <= toUnits(target) && toUnits(target) <= toUnits(max))) {
      problems.push({
        key: `${layer}_TARGET_RATIO`,
        message: `must lie in its band ${layer}_MIN_RATIO ${min} … ${layer}_MAX_RATIO ${max}`,
      });
    }
  }
  for (const measure of ["L1_RATIO", "COVERAGE"] as const) {
    const t = thresholds(measure);
    if (!(toUnits(t.elevated) > toUnits(t.high) && toUnits(t.high) > toUnits(t.critical))) {
      problems.push({
        key: `RISK_${measure}_HIGH`,
        message: `RISK_${measure}_ELEVATED > RISK_${measure}_HIGH > RISK_${measure}_CRITICAL must hold (${t.elevated}, ${t.high}, ${t.critical})`,
      });
    }
  }
  return { policy, problems };
}
