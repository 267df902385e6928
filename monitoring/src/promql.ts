import type { AnyMetricName } from "@paimon/core/metrics";
import { parser } from "@prometheus-io/lezer-promql";

/**
 * A metric's name, checked against the catalog at compile time: `m("paimon_l1_ratio")`.
 * Every PromQL expression in alerts and dashboards names its metrics through this.
 */
export const m = (name: AnyMetricName): string => name;

/** The metric names a PromQL expression selects, read with Prometheus's own grammar. */
export function metricsIn(expression: string): string[] {
  const tree = parser.parse(expression);
  const names = new Set<string>();
  let error: string | undefined;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) error ??= `syntax error at ${node.from} in ${expression}`;
      if (node.name === "VectorSelector") {
        const identifier = node.node.getChild("Identifier");
        if (identifier) names.add(expression.slice(identifier.from, identifier.to));
      }
    },
  });
  if (error) throw new Error(error);
  return [...names].sort();
}
