/**
 * The alert rules as thresholds. A checklist item that shares its line with an alert reads that
 * line from the rule Prometheus has loaded — `EventProcessingLag` is
 * `max by (priority) (paimon_event_queue_size) > 1000`: the measure is the left side, the
 * threshold the right — so the check and the alert cannot disagree, and the check judges by what
 * is deployed, not by a copy.
 */
import { parser } from "@prometheus-io/lezer-promql";
import type { LoadedRule } from "./prometheus";

const COMPARISONS = { Gtr: ">", Lss: "<", Gte: ">=", Lte: "<=", Eql: "==", Neq: "!=" } as const;
export type Comparison = (typeof COMPARISONS)[keyof typeof COMPARISONS];

/** A rule whose expression is one comparison of a measure with a number. */
export interface Threshold {
  readonly alert: string;
  /** The left side: what the rule measures. */
  readonly measure: string;
  readonly op: Comparison;
  readonly value: number;
  readonly severity: string;
  readonly forSeconds: number;
  /** `EventProcessingLag: > 1000` — for evidence and the threshold column. */
  readonly label: string;
}

/** Whether `value` is past the threshold, as the rule's comparison reads it. */
export function crosses(threshold: Pick<Threshold, "op" | "value">, value: number): boolean {
  switch (threshold.op) {
    case ">":
      return value > threshold.value;
    case "<":
      return value < threshold.value;
    case ">=":
      return value >= threshold.value;
    case "<=":
      return value <= threshold.value;
    case "==":
      return value === threshold.value;
    case "!=":
      return value !== threshold.value;
  }
}

/** The worst of several values as the rule sees it: the highest for `>`, the lowest for `<`. */
export function worstValue(threshold: Pick<Threshold, "op">, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  return threshold.op.startsWith("<") ? Math.min(...values) : Math.max(...values);
}

/** The PromQL aggregation that keeps the worst value over time: `max_over_time` for `>`. */
export const overTime = (threshold: Pick<Threshold, "op">): "min_over_time" | "max_over_time" =>
  threshold.op.startsWith("<") ? "min_over_time" : "max_over_time";

/** Reads a rule as a threshold; a rule that is not one comparison with a number is refused by name. */
export function thresholdOf(rule: LoadedRule): Threshold {
  const tree = parser.parse(rule.query);
  const top = tree.topNode.firstChild;
  const parts: { name: string; text: string }[] = [];
  for (let child = top?.firstChild; child; child = child.nextSibling)
    parts.push({ name: child.name, text: rule.query.slice(child.from, child.to) });
  const [left, op, right] = parts;
  const comparison = op ? (COMPARISONS as Record<string, Comparison | undefined>)[op.name] : undefined;
  if (
    top?.name !== "BinaryExpr" ||
    parts.length !== 3 ||
    !left ||
    !comparison ||
    right?.name !== "NumberDurationLiteral"
  )
    throw new Error(`alert rule ${rule.name} is not one comparison with a number: ${rule.query}`);
  const value = Number(right.text);
  return {
    alert: rule.name,
    measure: left.text,
    op: comparison,
    value,
    severity: rule.labels["severity"] ?? "none",
    forSeconds: rule.forSeconds,
    label: `${rule.name}: ${comparison} ${right.text}`,
  };
}

/**
 * A time-valued rule's line in seconds: `(time() - …) / 3600 > 26` measures hours, so its line
 * is 26 h; a measure without such a division is in seconds.
 */
export function lineSeconds(threshold: Pick<Threshold, "measure" | "value">): number {
  const divisor = /\/\s*(\d+)\s*$/.exec(threshold.measure)?.[1];
  return threshold.value * (divisor === undefined ? 1 : Number(divisor));
}

/** The rules Prometheus has loaded, by name. */
export class RuleBook {
  private readonly byName: ReadonlyMap<string, LoadedRule>;

  constructor(readonly rules: readonly LoadedRule[]) {
    this.byName = new Map(rules.map((rule) => [rule.name, rule]));
  }

  rule(name: string): LoadedRule {
    const rule = this.byName.get(name);
    if (!rule) throw new Error(`alert rule ${name} is not loaded in Prometheus`);
    return rule;
  }

  threshold(name: string): Threshold {
    return thresholdOf(this.rule(name));
  }
}
