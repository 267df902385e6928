import type { AnyMetricName } from "@paimon/core/metrics";
import { parser } from "@prometheus-io/lezer-promql";

/**
 * A metric's name, checked against the catalog at compile time: `m("paimon_l1_ratio")`.
 * Every PromQL expression in alerts and dashboards names its metrics through this.
 */
export const m = (name: AnyMetricName): string => name;

/** A node of the parse tree (the grammar's own type, @lezer/common's SyntaxNode). */
type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

export type MatchOp = "=" | "!=" | "=~" | "!~";

/** One label matcher of a selector, its value unquoted. */
export interface LabelMatcher {
  readonly label: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** A vector selector: the metric it names (if it names one) and its label matchers. */
export interface Selector {
  readonly metric: string | undefined;
  readonly matchers: readonly LabelMatcher[];
}

/** A PromQL string literal's value: double and single quotes take Go's escapes, backticks none. */
function unquote(literal: string): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === "`") return body;
  return body.replace(/\\(.)/g, (_, escaped: string) => {
    const known: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" };
    const value = known[escaped];
    if (value === undefined) throw new Error(`unsupported escape \\${escaped} in ${literal}`);
    return value;
  });
}

function matcherOf(expression: string, node: SyntaxNode): LabelMatcher {
  const text = (child: SyntaxNode | null) => (child ? expression.slice(child.from, child.to) : "");
  const name = node.getChild("LabelName") ?? node.getChild("QuotedLabelName")?.getChild("StringLiteral") ?? null;
  const label = node.name === "QuotedLabelMatcher" ? unquote(text(name)) : text(name);
  return {
    label,
    op: text(node.getChild("MatchOp")) as MatchOp,
    value: unquote(text(node.getChild("StringLiteral"))),
  };
}

/**
 * Every vector selector of a PromQL expression — also of a promtool series like
 * `up{job="paimon-api"}` — read with Prometheus's own grammar. A syntax error throws.
 */
export function selectorsIn(expression: string): Selector[] {
  const tree = parser.parse(expression);
  const selectors: Selector[] = [];
  let error: string | undefined;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) error ??= `syntax error at ${node.from} in ${expression}`;
      if (node.name !== "VectorSelector") return;
      const identifier = node.node.getChild("Identifier");
      const matchers = (node.node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? [])
        .concat(node.node.getChild("LabelMatchers")?.getChildren("QuotedLabelMatcher") ?? [])
        .map((matcher) => matcherOf(expression, matcher));
      const byName = identifier
        ? undefined
        : matchers.find((matcher) => matcher.label === "__name__" && matcher.op === "=");
      selectors.push({
        metric: identifier ? expression.slice(identifier.from, identifier.to) : byName?.value,
        matchers: matchers.filter((matcher) => matcher !== byName),
      });
    },
  });
  if (error) throw new Error(error);
  return selectors;
}

/** The metric names a PromQL expression selects. */
export function metricsIn(expression: string): string[] {
  const names = new Set(selectorsIn(expression).flatMap((selector) => (selector.metric ? [selector.metric] : [])));
  return [...names].sort();
}

/** Whether a matcher accepts `value`: PromQL's regular expressions are anchored at both ends. */
export function matches(matcher: LabelMatcher, value: string): boolean {
  switch (matcher.op) {
    case "=":
      return value === matcher.value;
    case "!=":
      return value !== matcher.value;
    case "=~":
      return new RegExp(`^(?:${matcher.value})$`).test(value);
    case "!~":
      return !new RegExp(`^(?:${matcher.value})$`).test(value);
  }
}
