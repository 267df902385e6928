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
