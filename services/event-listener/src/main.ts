/**
 * The event listener's composition root: configuration, logger, metrics, the health server, the
 * chain check, the writer lock, the queues, the new-head subscription and the follower — and an
 * ordered shutdown on SIGTERM (readiness off, the follower finishes its step, the subscription and
 * queues close, the lock is released with its connection, Redis closes, the health server last).
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "@paimon/core/logger";
import { createServiceMetrics } from "@paimon/core/metrics";
import { createShutdown } from "@paimon/core/shutdown";
import { Redis } from "ioredis";
import { loadListenerConfig } from "./config";
import { createEventDecoder } from "./events";
import { createFollower, type Follower } from "./follower";
import { subscribeHeads, type HeadSubscription } from "./heads";
import { createHealthServer, type Role } from "./health";
import { createRelay, type Relay } from "./relay";
import { createRpcClient } from "./rpc";
import { acquireWriter, type Writer } from "./writer";

export async function runEventListener(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const config = loadListenerConfig(env);
  const logger = createLogger({
    service: "paimon-event-listener",
    environment: config.ENVIRONMENT,
    level: config.LOG_LEVEL,
  });
  const { registry, metrics } = createServiceMetrics("paimon-event-listener", [
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
  ]);

  let role: Role = "starting";
  let follower: Follower | undefined;
  const health = createHealthServer({
    state: { role: () => role, follower: () => follower?.status() },
    registry,
    maxHeadLagBlocks: config.MAX_HEAD_LAG_BLOCKS,
    maxStepAgeMs: Math.max(config.POLL_INTERVAL_MS * 4, 15_000),
  });
  health.listen(config.HEALTH_PORT);
  await once(health, "listening");
  logger.info("listening", { port: (health.address() as AddressInfo).port });

  const rpc = createRpcClient({ url: config.BSC_RPC_URL, duration: metrics.paimon_chain_rpc_request_duration_seconds });
  const chainId = await rpc.chainId();
  if (chainId !== config.CHAIN_ID) {
    health.close();
    throw new Error(
      `the node at BSC_RPC_URL is on chain ${String(chainId)}, but CHAIN_ID is ${String(config.CHAIN_ID)}`,
    );
  }
  const code = await rpc.call<string>("eth_getCode", [config.FUND_ADDRESS, "latest"]);
  if (code === "0x") {
    health.close();
    throw new Error(`no contract at FUND_ADDRESS ${config.FUND_ADDRESS} on chain ${String(chainId)}`);
  }

  const stopping = new AbortController();
  const shutdown = createShutdown({ logger });
  let writer: Writer | undefined;
  let relay: Relay | undefined;
  let heads: HeadSubscription | undefined;
  let redis: Redis | undefined;
  let following: Promise<void> | undefined;
  let sizes: NodeJS.Timeout | undefined;

  shutdown.add("readiness", () => {
    role = "stopping";
    stopping.abort();
  });
  shutdown.add("follower", async () => {
    await following;
  });
  shutdown.add("new heads", () => {
    heads?.close();
    clearInterval(sizes);
  });
  shutdown.add("queues", async () => {
    await relay?.close();
  });
  shutdown.add("writer lock", async () => {
    await writer?.close();
  });
  shutdown.add("redis", async () => {
    await redis?.quit().catch(() => redis?.disconnect());
  });
  shutdown.add("health server", async () => {
    const closed = new Promise<void>((resolve) => health.close(() => resolve()));
    health.closeAllConnections();
    await closed;
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void shutdown.run(signal);
    });
  }

  role = "standby";
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
  if (stopping.signal.aborted) {
    await writer.close();
    return;
  }
  role = "writer";
  logger.info("writer lock acquired", { chain_id: chainId });

  // BullMQ wants its own connection without a request retry limit.
  redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on("error", (error: Error) => {
    logger.warn("redis connection error", { error });
  });
  await redis.connect();
  relay = createRelay({ db: writer.db, connection: redis, prefix: config.QUEUE_PREFIX });
  const active = relay;
  sizes = setInterval(() => {
    active.queueSizes().then(
      (counts) => {
        for (const [priority, count] of Object.entries(counts))
          metrics.paimon_event_queue_size.set({ priority }, count);
      },
      (error: unknown) => {
        logger.warn("could not read queue sizes", { error });
      },
    );
  }, 5_000);

  follower = createFollower({
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
  const current = follower;
  if (config.BSC_WS_URL !== undefined) {
    heads = subscribeHeads({
      url: config.BSC_WS_URL,
      onHead: () => {
        current.wake();
      },
      onReconnect: () => {
        metrics.paimon_chain_reconnects_total.inc();
        logger.info("new-head subscription restored; filling the gap");
        current.wake();
      },
      onError: (error) => {
        logger.warn("new-head subscription error", { error });
      },
    });
  }

  const lockedWriter = writer;
  following = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await Promise.race([current.run(stopping.signal), lockedWriter.lost]);
        return;
      } catch (error) {
        if (lockedWriter.isLost()) throw error;
        // The RPC client already retried with backoff; start over from the committed cursor.
        logger.error("follower step failed; resuming from the last committed block", { error });
        await delay(config.POLL_INTERVAL_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  })();
  following.catch((error: unknown) => {
    logger.error("the writer's database connection was lost; exiting so a standby takes over", { error });
    void shutdown.run("writer lost").finally(() => {
      process.exitCode = 1;
    });
  });
}
