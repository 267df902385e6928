/**
 * The API's composition root: configuration, logger, metrics, PostgreSQL, Redis, the commit
 * signals and the response cache that follows them, the app, the server, and an ordered shutdown on
 * SIGTERM — readiness fails first, in-flight requests finish, keep-alive connections close, then
 * the signals' connections, Redis and the databases.
 */
import type { AddressInfo } from "node:net";
import { setTimeout } from "node:timers/promises";
import { createDatabase, createMetricsDatabase, DEFAULT_CONNECT_TIMEOUT_MS } from "@paimon/core/db";
import { createLogger } from "@paimon/core/logger";
import { createRedis } from "@paimon/core/redis";
import { handleProcessSignals } from "@paimon/core/process";
import { createShutdown } from "@paimon/core/shutdown";
import { CHAIN_COMMIT_CHANNEL, RISK_COMMIT_CHANNEL } from "@paimon/core/commit-signal";
import { createApp } from "./app";
import { createCommitSignals } from "./cache/commit-signals";
import { HotReads } from "./cache/hot-reads";
import { databaseTimeouts, loadApiConfig } from "./config";
import { createApiMetrics } from "./metrics";
import { createHttpServer } from "./server";

/** The first wait before listening for commits again; the waits double up to COMMIT_SIGNAL_RECONNECT_MAX_MS. */
const COMMIT_SIGNAL_RECONNECT_START_MS = 100;
/** A listening connection that does not answer `select 1` within the connect timeout is replaced; asked this often. */
const COMMIT_SIGNAL_HEARTBEAT_MS = 15_000;

export async function runApi(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const config = loadApiConfig(env);
  const logger = createLogger({ service: "paimon-api", environment: config.ENVIRONMENT, level: config.LOG_LEVEL });
  const { registry, metrics } = createApiMetrics();
  // Both pools bound every query (statement and client timeouts, see config.ts): a database that
  // stalls or goes away makes requests fail with 503 in seconds instead of holding them.
  const timeouts = databaseTimeouts(config);
  const db = createDatabase(config.DATABASE_URL, {
    ...timeouts,
    maxConnections: config.DATABASE_POOL_SIZE,
    onIdleError: (error) => {
      logger.warn("idle database connection lost", { error });
    },
  });
  const metricsDb = createMetricsDatabase(config.METRICS_DATABASE_URL, {
    ...timeouts,
    maxConnections: Math.max(2, Math.ceil(config.DATABASE_POOL_SIZE / 4)),
    onIdleError: (error) => {
      logger.warn("idle metrics database connection lost", { error });
    },
  });
  const redis = createRedis(config.REDIS_URL, { cluster: config.REDIS_CLUSTER });
  redis.on("error", (error: Error) => {
    logger.warn("redis connection error", { error });
  });
  // One connection per database beside the pools (so one more per replica than DATABASE_POOL_SIZE).
  const commitSignals = createCommitSignals({
    sources: [
      { url: config.DATABASE_URL, channels: [CHAIN_COMMIT_CHANNEL] },
      { url: config.METRICS_DATABASE_URL, channels: [RISK_COMMIT_CHANNEL] },
    ],
    logger: logger.child("commit-signals"),
    timeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    reconnect: { startingDelayMs: COMMIT_SIGNAL_RECONNECT_START_MS, maxDelayMs: config.COMMIT_SIGNAL_RECONNECT_MAX_MS },
    heartbeatMs: COMMIT_SIGNAL_HEARTBEAT_MS,
  });
  const hotReads = new HotReads({
    db,
    metricsDb,
    logger: logger.child("response-cache"),
    metrics,
    recheckMs: config.RESPONSE_CACHE_RECHECK_MS,
  });
  hotReads.follow(commitSignals);
  commitSignals.start();
  let accepting = true;
  const app = createApp({
    hotReads,
    commitSignals,
    db,
    metricsDb,
    redis,
    logger,
    registry,
    metrics,
    maxChainSyncAgeSeconds: config.MAX_CHAIN_SYNC_AGE_SECONDS,
    accepting: () => accepting,
    jwtSecret: config.JWT_SECRET,
    originVerifySecret: config.ORIGIN_VERIFY_SECRET,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
  });
  await redis.connect().catch((error: unknown) => {
    // Not fatal: readiness reports Redis down and the client keeps reconnecting.
    logger.warn("redis unreachable at start", { error });
  });
  // Keep-alive longer than the load balancer's idle timeout; slow requests cut with 408 (server.ts).
  const server = createHttpServer(app).listen(config.PORT);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });

  const shutdown = createShutdown({ logger });
  shutdown.add("readiness", async () => {
    accepting = false;
    if (config.SHUTDOWN_DELAY_SECONDS > 0) await setTimeout(config.SHUTDOWN_DELAY_SECONDS * 1000);
  });
  shutdown.add("http server", () => {
    const closed = new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    // Idle keep-alive connections close now. A connection busy at this moment answers its request
    // (without `Connection: close`: its headers may already be out) and then goes idle; the sweep
    // closes it then, so no keep-alive connection holds the server open until the grace timer.
    server.closeIdleConnections();
    const sweep = setInterval(() => {
      server.closeIdleConnections();
    }, 50);
    return closed.finally(() => {
      clearInterval(sweep);
    });
  });
  shutdown.add("commit signals", () => commitSignals.close());
  shutdown.add("redis", async () => {
    await redis.quit().catch(() => {
      redis.disconnect();
    });
  });
  shutdown.add("metrics database", () => metricsDb.destroy());
  shutdown.add("database", () => db.destroy());
  handleProcessSignals({ logger, shutdown, stopping: () => !accepting });
  // Announced once a SIGTERM would be handled: whoever waits for this line may stop the process.
  logger.info("listening", { port: (server.address() as AddressInfo).port });
}
