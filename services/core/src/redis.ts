import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

/** A Redis client: a single node, or a Redis Cluster (ElastiCache's cluster mode). */
export type RedisClient = Redis | Cluster;

/**
 * What the client is for, which decides how it fails:
 * - `commands` (readiness, the API's own keys): fails fast while disconnected instead of queueing
 *   forever, and a command a stalled Redis does not answer fails after COMMAND_TIMEOUT_MS;
 *   readiness then reports Redis down;
 * - `queue-producer` (the outbox relay): fails fast and times out the same way, so the work stays
 *   in the outbox instead of its producer waiting on Redis;
 * - `queue-worker` (BullMQ workers and the scheduler): waits and retries on its own, as BullMQ's
 *   blocking commands require (`maxRetriesPerRequest: null`, and no command timeout: a blocking
 *   command legitimately waits longer than any timeout would allow).
 */
export type RedisRole = "commands" | "queue-producer" | "queue-worker";

export interface RedisClientOptions {
  /** ElastiCache in cluster mode: the URL names its configuration endpoint. @default false */
  readonly cluster?: boolean;
  /** @default "commands" */
  readonly role?: RedisRole;
  /** A prefix on every key (tests give each their own); commands clients only. */
  readonly keyPrefix?: string;
}

/**
 * How long a `commands` or `queue-producer` command may wait for its answer. A connection that
 * stays open while Redis (or the path to it) stalls never errors on its own: without this, its
 * caller would wait forever. Generous for one command or one pipeline of a thousand jobs.
 */
export const COMMAND_TIMEOUT_MS = 5_000;

const ROLE_OPTIONS: Readonly<Record<RedisRole, Readonly<RedisOptions>>> = {
  commands: { maxRetriesPerRequest: 2, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS },
  "queue-producer": { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS },
  "queue-worker": { maxRetriesPerRequest: null },
};

/**
 * The one way every service builds its Redis client, with the same options everywhere. Nothing
 * connects at creation: the composition root calls `connect()`. In cluster mode the client
 * discovers the shards from the configuration endpoint, keeps TLS and AUTH from the URL for every
 * node, and connects to each node by the address the cluster reports (ElastiCache's TLS
 * certificates name those hosts, so they are not resolved to IPs first).
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): RedisClient {
  const role = options.role ?? "commands";
  const parsed = new URL(url);
  const tls = parsed.protocol === "rediss:";
  const node: RedisOptions = {
    ...ROLE_OPTIONS[role],
    connectTimeout: 5_000,
    ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
  };
  if (!options.cluster) {
    return new Redis(url, {
      ...node,
      ...(tls ? { tls: { servername: parsed.hostname } } : {}),
      lazyConnect: true,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
    });
  }
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    // Each node's TLS names the host the cluster reports for it (no servername pinned here).
    redisOptions: tls ? { ...node, tls: {} } : node,
    // The cluster's own offline behaviour follows the role: queue workers wait, the rest fail fast.
    enableOfflineQueue: role === "queue-worker",
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    dnsLookup: (address, callback) => {
      callback(null, address);
    },
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  };
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], clusterOptions);
}

/** A commands client (see createRedisClient), kept for the callers that name it so. */
export function createRedis(url: string, options: { readonly keyPrefix?: string; readonly cluster?: boolean } = {}) {
  return createRedisClient(url, { ...options, role: "commands" });
}

/** Deletes every key matching `pattern` (SCAN in batches, never KEYS) on every master: a test's or a dev run's prefix. */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  for (const node of nodes) {
    for await (const keys of node.scanStream({ match: pattern, count: 500 })) {
      const batch = keys as string[];
      if (batch.length === 0) continue;
      // One DEL per key: in a cluster, keys of one node may still sit in different slots.
      const pipeline = node.pipeline();
      for (const key of batch) pipeline.del(key);
      await pipeline.exec();
    }
  }
}
