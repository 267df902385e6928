/**
 * The event listener's composition root: configuration, logger, metrics, the health server, the
 * chain check, the writer lock, the queues, the new-head subscription and the follower — and an
 * ordered shutdown on SIGTERM (readiness off, the follower finishes its step, the subscription and
 * queues close, the lock is released with its connection, Redis closes, the health server last).
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { closeServer } from "@paimon/core/health-server";
import { createLogger } from "@paimon/core/logger";
import { handleProcessSignals } from "@paimon/core/process";
import { createShutdown } from "@paimon/core/shutdown";
import { createRedisClient, type RedisClient } from "@paimon/core/redis";
import { loadListenerConfig } from "./config";
import { createEventDecoder } from "./events";
import { createFollower, type Follower } from "./follower";
import { subscribeHeads, type HeadSubscription } from "./heads";
import { createListenerHealthServer, type Role } from "./health";
import { createListenerMetrics } from "./metrics";
import { createRelay, type Relay } from "./relay";
import { createRpcClient } from "./rpc";
import { FatalListenerError } from "./store";
import { acquireWriter, type Writer } from "./writer";

export async function runEventListener(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const config = loadListenerConfig(env);
  const logger = createLogger({
    service: "paimon-event-listener",
    environment: config.ENVIRONMENT,
    level: config.LOG_LEVEL,
  });
  const { registry, metrics } = createListenerMetrics();

  let role: Role = "starting";
  /** What has been started so far: shutdown closes whatever is here, in order. */
  const parts: {
    writer?: Writer;
    relay?: Relay;
    heads?: HeadSubscription;
    redis?: RedisClient;
    follower?: Follower;
    following?: Promise<void>;
    sizes?: NodeJS.Timeout;
  } = {};
  const health = createListenerHealthServer({
    state: { role: () => role, follower: () => parts.follower?.status() },
    registry,
    maxHeadLagBlocks: config.MAX_HEAD_LAG_BLOCKS,
    maxStepAgeMs: Math.max(config.POLL_INTERVAL_MS * 4, 15_000),
  });
  health.listen(config.HEALTH_PORT);
  await once(health, "listening");

  const stopping = new AbortController();
  const rpc = createRpcClient({
    url: config.BSC_RPC_URL,
    duration: metrics.paimon_chain_rpc_request_duration_seconds,
    signal: stopping.signal,
  });

  const shutdown = createShutdown({ logger });
  shutdown.add("readiness", () => {
    role = "stopping";
    stopping.abort();
  });
  shutdown.add("follower", async () => {
    await parts.following;
  });
  shutdown.add("new heads", () => {
    parts.heads?.close();
    clearInterval(parts.sizes);
  });
  shutdown.add("queues", async () => {
    await parts.relay?.close();
  });
  shutdown.add("writer lock", async () => {
    await parts.writer?.close();
  });
  shutdown.add("redis", async () => {
    await parts.redis?.quit().catch(() => {
      parts.redis?.disconnect();
    });
  });
  shutdown.add("health server", () => closeServer(health));
  handleProcessSignals({ logger, shutdown, stopping: () => stopping.signal.aborted });
  // Announced once a SIGTERM would be handled: whoever waits for this line may stop the process.
  logger.info("listening", { port: (health.address() as AddressInfo).port });

  // A SIGTERM while the node is asked aborts the request: then the listener just stops.
  const unlessStopping = (error: unknown): undefined => {
    if (stopping.signal.aborted) return undefined;
    throw error;
  };
  const chainId = await rpc.chainId().catch(unlessStopping);
  if (chainId === undefined) return;
  if (chainId !== config.CHAIN_ID) {
    health.close();
    throw new Error(
      `the node at BSC_RPC_URL is on chain ${String(chainId)}, but CHAIN_ID is ${String(config.CHAIN_ID)}`,
    );
  }
  const code = await rpc.call<string>("eth_getCode", [config.FUND_ADDRESS, "latest"]).catch(unlessStopping);
  if (code === undefined) return;
  if (code === "0x") {
    health.close();
    throw new Error(`no contract at FUND_ADDRESS ${config.FUND_ADDRESS} on chain ${String(chainId)}`);
  }

  role = "standby";
  let writer: Writer;
  try {
    writer = await acquireWriter({
      url: config.DATABASE_URL,
      chainId,
      signal: stopping.signal,
      onWaiting: () => {
        logger.info("another instance is the writer; waiting for its lock");
      },
    });
  } catch (error) {
    if (stopping.signal.aborted) return;
    throw error;
  }
  parts.writer = writer;
  if (stopping.signal.aborted) {
    await writer.close();
    return;
  }
  role = "writer";
  logger.info("writer lock acquired", { chain_id: chainId });

  // The queues' producer connection fails fast while Redis is away (no offline queue), so the
  // relay gives up and retries next step instead of stalling the follower behind it.
  const redis = createRedisClient(config.REDIS_URL, { cluster: config.REDIS_CLUSTER, role: "queue-producer" });
  parts.redis = redis;
  redis.on("error", (error: Error) => {
    logger.warn("redis connection error", { error });
  });
  await redis.connect().catch((error: unknown) => {
    // Not fatal: the chain is followed into PostgreSQL; the outbox waits for Redis.
    logger.warn("redis unreachable at start; the outbox waits for it", { error });
  });
  const relay = createRelay({ db: writer.db, connection: redis, prefix: config.QUEUE_PREFIX });
  parts.relay = relay;
  parts.sizes = setInterval(() => {
    relay.queueSizes().then(
      (counts) => {
        for (const [priority, count] of Object.entries(counts))
          metrics.paimon_event_queue_size.set({ priority }, count);
      },
      (error: unknown) => {
        logger.warn("could not read queue sizes", { error });
      },
    );
  }, 5_000);

  const follower = createFollower({
    rpc,
    db: writer.db,
    relay,
    decoder: createEventDecoder(),
    logger: logger.child("follower"),
    metrics,
    chainId,
    fundAddress: config.FUND_ADDRESS,
    startBlock: config.FUND_DEPLOY_BLOCK,
    finalityDepth: config.FINALITY_DEPTH,
    maxBlockRange: config.MAX_BLOCK_RANGE,
    pollIntervalMs: config.POLL_INTERVAL_MS,
  });
  parts.follower = follower;
  if (config.BSC_WS_URL !== undefined) {
    parts.heads = subscribeHeads({
      url: config.BSC_WS_URL,
      onHead: () => {
        follower.wake();
      },
      onReconnect: () => {
        metrics.paimon_chain_reconnects_total.inc();
        logger.info("new-head subscription restored; filling the gap");
        follower.wake();
      },
      onError: (error) => {
        logger.warn("new-head subscription error", { error });
      },
    });
  }

  const lockedWriter = writer;
  const shuttingDown = () => stopping.signal.aborted;
  const following = (async () => {
    while (!shuttingDown()) {
      try {
        await Promise.race([follower.run(stopping.signal), lockedWriter.lost]);
        return;
      } catch (error) {
        if (shuttingDown()) return; // the step was cut short on purpose
        if (lockedWriter.isLost() || error instanceof FatalListenerError) throw error;
        // The RPC client already retried with backoff; start over from the committed cursor.
        logger.error("follower step failed; resuming from the last committed block", { error });
        await delay(config.POLL_INTERVAL_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  })();
  parts.following = following;
  following.catch((error: unknown) => {
    logger.error("the listener cannot go on (writer connection lost, or a fatal error); exiting", { error });
    void shutdown.run("writer lost").finally(() => {
      process.exitCode = 1;
    });
  });
}
