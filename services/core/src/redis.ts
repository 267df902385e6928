import { Redis } from "ioredis";

/**
 * A Redis client. `keyPrefix` namespaces every key (tests give each its own). Nothing connects at
 * creation: the composition root calls `connect()`; commands fail fast while disconnected
 * instead of queueing forever (readiness then reports Redis down).
 */
export function createRedis(url: string, options: { readonly keyPrefix?: string } = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    keyPrefix: options.keyPrefix ?? "",
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  });
}

/** Deletes every key matching `pattern` (SCAN in batches, never KEYS): a test's or a dev run's prefix. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: pattern, count: 500 })) {
    const batch = keys as string[];
    if (batch.length > 0) await redis.del(...batch);
  }
}
