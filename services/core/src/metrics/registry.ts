import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { METRICS, type MetricName } from "./catalog";

type Spec<N extends MetricName> = (typeof METRICS)[N];
type Labels<N extends MetricName> = Spec<N>["labels"][number];
type MetricOf<N extends MetricName> = Spec<N>["type"] extends "counter"
  ? Counter<Labels<N>>
  : Spec<N>["type"] extends "gauge"
    ? Gauge<Labels<N>>
    : Histogram<Labels<N>>;

/** The platform's metrics, each typed with its own label names. */
export type Metrics = { readonly [N in MetricName]: MetricOf<N> };

/** A service's own registry (never prom-client's global one), with the metrics of `names`. */
export interface ServiceMetrics<N extends MetricName> {
  readonly registry: Registry;
  readonly metrics: Pick<Metrics, N>;
}

/**
 * Registers the named catalog metrics — and Node's process metrics — on a new registry. A
 * service asks only for the metrics it exports; names, help, labels and buckets come from the
 * catalog, never from the service.
 */
export function createServiceMetrics<N extends MetricName>(
  service: string,
  names: readonly N[],
  options: { readonly defaultMetrics?: boolean } = {},
): ServiceMetrics<N> {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const metrics: Partial<Record<MetricName, unknown>> = {};
  for (const name of names) {
    const spec = METRICS[name];
    const common = { name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
    switch (spec.type) {
      case "counter":
        metrics[name] = new Counter(common);
        break;
      case "gauge":
        metrics[name] = new Gauge(common);
        break;
      case "histogram":
        metrics[name] = new Histogram({ ...common, buckets: [...spec.buckets] });
        break;
    }
  }
  return { registry, metrics: metrics as Pick<Metrics, N> };
}
