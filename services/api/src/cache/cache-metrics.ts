/**
 * What the response cache tells an operator (the catalog's `paimon_response_cache_*`): how the
 * requests to its routes were answered, why each body was built, and how old the data it served
 * was. Signals being missed show as rebuilds by `recheck` while none comes by `signal`; a stale
 * cache as a data age above what the listener's pace explains.
 */
import type { Metrics } from "@paimon/core/metrics";
import { ageSeconds } from "../http/data-age";

export type CacheMetrics = Pick<
  Metrics,
  | "paimon_response_cache_lookups_total"
  | "paimon_response_cache_rebuilds_total"
  | "paimon_response_cache_data_age_seconds"
>;

/** The routes the cache serves, as the request metrics name them: templates, never URLs. */
export const CACHED_ROUTES = ["/v1/fund", "/v1/redemptions"] as const;
export type CachedRoute = (typeof CACHED_ROUTES)[number];

/**
 * How a request to a cached route was answered: from a body built before it (`hit`, after at most a
 * re-check of the checkpoint), by waiting for one to be built (`miss`, whether the build succeeds
 * or not), or not from the cache at all (`bypass`: a page past the first, a caller's own list).
 */
export const LOOKUP_RESULTS = ["hit", "miss", "bypass"] as const;
export type LookupResult = (typeof LOOKUP_RESULTS)[number];

/**
 * Why a body is built: the first for it (`cold`); a commit signal (`signal`); the periodic
 * re-check found a commit no signal announced (`recheck`); the re-check after a connection
 * listens again found one (`reconnect`); no new commit is known but the last build failed, kept
 * only part, or was overtaken by a re-check before it finished (`retry`).
 */
export const REBUILD_REASONS = ["cold", "signal", "recheck", "reconnect", "retry"] as const;
export type RebuildReason = (typeof REBUILD_REASONS)[number];

export class CacheMeter {
  readonly #metrics: CacheMetrics;

  constructor(metrics: CacheMetrics) {
    this.#metrics = metrics;
    // Every series from the start, at zero: a counter's first increment is not lost to `rate`, and
    // "no rebuild by signal" is a zero the alert can read rather than an absent series.
    for (const route of CACHED_ROUTES) {
      for (const result of LOOKUP_RESULTS) metrics.paimon_response_cache_lookups_total.inc({ route, result }, 0);
      for (const reason of REBUILD_REASONS) metrics.paimon_response_cache_rebuilds_total.inc({ route, reason }, 0);
    }
  }

  lookup(route: CachedRoute, result: LookupResult): void {
    this.#metrics.paimon_response_cache_lookups_total.inc({ route, result });
  }

  rebuild(route: CachedRoute, reason: RebuildReason): void {
    this.#metrics.paimon_response_cache_rebuilds_total.inc({ route, reason });
  }

  /** A cached body served, built at `checkpoint` (none while nothing is indexed: no age to tell). */
  served(route: CachedRoute, checkpoint: { readonly updated_at: Date } | undefined): void {
    if (checkpoint) {
      this.#metrics.paimon_response_cache_data_age_seconds.observe(
        { route },
        ageSeconds(checkpoint.updated_at, new Date()),
      );
    }
  }
}
