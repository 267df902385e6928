/**
 * The event listener's composition root: configuration, logger, metrics, the health server, the
 * chain check, the writer terms (lock, queues, follower — re-acquired after a lost database), the
 * new-head subscription — and an ordered shutdown on SIGTERM (readiness off, the follower finishes
 * its step, the queues close and the lock is released with its connection, the subscription and
 * Redis close, the health server last).
 *
 * What it rides out without exiting: the database (a standby retries it with backoff and says
 * why), Redis (the work waits in the outbox) and the node once following (each request has a
 * deadline; a failed step is run again). What ends it: a configuration it cannot run with,
 * including a node it cannot reach at start (named by its variable and host), and a fatal error.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { closeServer } from "@paimon/core/health-server";
import { createLogger } from "@paimon/core/logger";
import { handleProcessSignals } from "@paimon/core/process";
import { createShutdown } from "@paimon/core/shutdown";
import { createRedisClient, type RedisClient } from "@paimon/core/redis";
import { loadListenerConfig } from "./config";
import { createEventDecoder } from "./events";
import { createFollower } from "./follower";
import { subscribeHeads, type HeadSubscription } from "./heads";
import { createListenerHealthServer, type Role } from "./health";
import { createListenerMetrics } from "./metrics";
import { createRelay, type Relay } from "./relay";
import { createRpcClient, isRpcFailure, RpcUnavailableError } from "./rpc";
import { createSupervisor, type Supervisor } from "./supervisor";
import { acquireWriter } from "./writer";

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function runEventListener(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const config = loadListenerConfig(env);
  const logger = createLogger({
    service: "paimon-event-listener",
    environment: config.ENVIRONMENT,
    level: config.LOG_LEVEL,
  });
  const { registry, metrics } = createListenerMetrics();

  let role: Role = "starting";
  let reason: string | undefined;
  /** What has been started so far: shutdown closes whatever is here, in order. */
  const parts: {
    supervisor?: Supervisor;
    running?: Promise<void>;
    relay?: Relay | undefined;
    heads?: HeadSubscription;
    redis?: RedisClient;
    sizes?: NodeJS.Timeout;
  } = {};
  const health = createListenerHealthServer({
    state: { role: () => role, reason: () => reason, follower: () => parts.supervisor?.follower()?.status() },
    registry,
    maxHeadLagBlocks: config.MAX_HEAD_LAG_BLOCKS,
    maxStepAgeMs: Math.max(config.POLL_INTERVAL_MS * 4, 15_000),
  });
  health.listen(config.HEALTH_PORT);
  await once(health, "listening");

  const stopping = new AbortController();
  const rpc = createRpcClient({
    url: config.BSC_RPC_URL,
    name: "BSC_RPC_URL",
    duration: metrics.paimon_chain_rpc_request_duration_seconds,
    timeoutMs: config.RPC_TIMEOUT_MS,
    attempts: config.RPC_ATTEMPTS,
    signal: stopping.signal,
  });

  const shutdown = createShutdown({ logger });
  shutdown.add("readiness", () => {
    role = "stopping";
    reason = undefined;
    stopping.abort();
  });
  shutdown.add("follower, queues and writer lock", async () => {
    await parts.running;
  });
  shutdown.add("new heads", () => {
    parts.heads?.close();
    clearInterval(parts.sizes);
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

  // A SIGTERM while the node is asked aborts the request: then the listener just stops. A node
  // that cannot be reached at start is a configuration to check: the error names its variable.
  const unlessStopping = (error: unknown): undefined => {
    if (stopping.signal.aborted) return undefined;
    health.close();
    if (error instanceof RpcUnavailableError) throw new Error(`cannot reach the node: ${error.message}`);
    if (isRpcFailure(error)) throw new Error(`the node at ${rpc.endpoint} refused: ${messageOf(error)}`);
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

  // The queues' producer connection fails fast while Redis is away (no offline queue) and times
  // out a command a stalled Redis does not answer, so the relay gives up and retries later; the
  // follower never waits for it. Not needed before the first term, nor fatal if unreachable.
  const connectRedis = (): RedisClient => {
    if (parts.redis) return parts.redis;
    const redis = createRedisClient(config.REDIS_URL, { cluster: config.REDIS_CLUSTER, role: "queue-producer" });
    parts.redis = redis;
    // Said once per outage (ioredis reports every reconnection attempt), and when it is over.
    let redisDown = false;
    redis.on("error", (error: Error) => {
      if (!redisDown) logger.warn("redis connection error; reconnecting with backoff", { error });
      redisDown = true;
    });
    redis.on("ready", () => {
      if (redisDown) logger.info("redis connection restored");
      redisDown = false;
    });
    redis.connect().catch((error: unknown) => {
      if (!stopping.signal.aborted) logger.warn("redis unreachable at start; the outbox waits for it", { error });
    });
    // Queue sizes for the metric, one reading at a time (a stalled Redis makes each wait its timeout).
    let reading = false;
    let failing = false;
    parts.sizes = setInterval(() => {
      if (reading || !parts.relay) return;
      reading = true;
      parts.relay
        .queueSizes()
        .then(
          (counts) => {
            for (const [priority, count] of Object.entries(counts))
              metrics.paimon_event_queue_size.set({ priority }, count);
            failing = false;
          },
          (error: unknown) => {
            if (!failing) logger.warn("could not read queue sizes from Redis", { error });
            failing = true;
          },
        )
        .finally(() => {
          reading = false;
        });
    }, 5_000);
    return redis;
  };

  // New heads only wake the current term's follower up; subscribed once there is one.
  const subscribe = (wake: () => void) => {
    if (parts.heads || config.BSC_WS_URL === undefined) return;
    parts.heads = subscribeHeads({
      url: config.BSC_WS_URL,
      onHead: wake,
      onReconnect: () => {
        metrics.paimon_chain_reconnects_total.inc();
        logger.info("new-head subscription restored; filling the gap");
        wake();
      },
      onError: (error) => {
        logger.warn("new-head subscription error", { error });
      },
    });
  };

  const decoder = createEventDecoder();
  const supervisor = createSupervisor({
    acquire: (signal, onWaiting) =>
      acquireWriter({
        url: config.DATABASE_URL,
        chainId,
        signal,
        onWaiting,
        timeoutMs: config.DATABASE_TIMEOUT_MS,
      }),
    startTerm: (writer) => {
      const relay = createRelay({ db: writer.db, connection: connectRedis(), prefix: config.QUEUE_PREFIX });
      parts.relay = relay;
      const follower = createFollower({
        rpc,
        db: writer.db,
        relay,
        decoder,
        logger: logger.child("follower"),
        metrics,
        chainId,
        fundAddress: config.FUND_ADDRESS,
        startBlock: config.FUND_DEPLOY_BLOCK,
        finalityDepth: config.FINALITY_DEPTH,
        maxBlockRange: config.MAX_BLOCK_RANGE,
        pollIntervalMs: config.POLL_INTERVAL_MS,
      });
      subscribe(() => {
        parts.supervisor?.follower()?.wake();
      });
      return {
        follower,
        close: async () => {
          if (parts.relay === relay) parts.relay = undefined;
          await relay.close();
        },
      };
    },
    logger,
    signal: stopping.signal,
    retryDelayMs: config.POLL_INTERVAL_MS,
    chainId,
    onRole: (next, why) => {
      if (stopping.signal.aborted) return;
      role = next;
      reason = why;
    },
  });
  parts.supervisor = supervisor;
  role = "standby";

  const running = supervisor.run();
  parts.running = running.catch(() => undefined);
  running.catch((error: unknown) => {
    logger.error("the listener cannot go on (a fatal error); exiting", { error });
    void shutdown.run("fatal error").finally(() => {
      process.exitCode = 1;
    });
  });
}
