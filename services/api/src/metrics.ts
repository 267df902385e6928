import { createServiceMetrics, type MetricName, type ServiceMetrics } from "@paimon/core/metrics";

/** The metrics the API exports (from the catalog): its requests, and its response cache's (cache/cache-metrics.ts). */
export const API_METRICS = [
  "paimon_http_request_duration_seconds",
  "paimon_response_cache_lookups_total",
  "paimon_response_cache_rebuilds_total",
  "paimon_response_cache_data_age_seconds",
] as const satisfies readonly MetricName[];

export type ApiMetrics = ServiceMetrics<(typeof API_METRICS)[number]>;

/** The API's registry and metrics, exactly as its process exports them. */
export function createApiMetrics(options: { readonly defaultMetrics?: boolean } = {}): ApiMetrics {
  return createServiceMetrics("paimon-api", API_METRICS, options);
}
