import { createServiceMetrics, type MetricName, type ServiceMetrics } from "@paimon/core/metrics";

/** The metrics the event listener exports (from the catalog). */
export const LISTENER_METRICS = [
  "paimon_event_processing_duration_seconds",
  "paimon_event_queue_size",
  "paimon_chain_head_block",
  "paimon_chain_last_processed_block",
  "paimon_chain_head_lag_blocks",
  "paimon_chain_finalized_lag_blocks",
  "paimon_chain_reorgs_total",
  "paimon_chain_reorg_depth_blocks",
  "paimon_chain_reconnects_total",
  "paimon_chain_rpc_request_duration_seconds",
  "paimon_outbox_backlog",
] as const satisfies readonly MetricName[];

export type ListenerMetrics = ServiceMetrics<(typeof LISTENER_METRICS)[number]>;

/** The event listener's registry and metrics, exactly as its process exports them. */
export function createListenerMetrics(options: { readonly defaultMetrics?: boolean } = {}): ListenerMetrics {
  return createServiceMetrics("paimon-event-listener", LISTENER_METRICS, options);
}
