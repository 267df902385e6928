/**
 * One server under benchmark, in a process of its own so that it never shares a core's time with
 * autocannon: `tsx services/api/bench/server.ts --kind api|baseline --database-url … --pool-size …`.
 * Prints `{"port":…}` on stdout once listening; stops on SIGTERM or SIGINT.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { createDatabase } from "@paimon/core/db";
import { createLogger } from "@paimon/core/logger";
import { createServiceMetrics } from "@paimon/core/metrics";
import { createRedis } from "@paimon/core/redis";
import pg from "pg";
import { createApp } from "../src/app";
import { createBaselineServer } from "./baseline";

/** Far above anything 64 connections can send: the benchmark measures serving, not 429s. */
const BENCH_RATE_LIMIT_PER_MINUTE = 1_000_000_000;
/** main.ts's keep-alive settings (longer than the load balancer's idle timeout). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 66_000;

interface Running {
  readonly server: Server;
  readonly close: () => Promise<void>;
}

/** The API wired as main.ts wires it, on the benchmark's database, Redis and pool size. */
async function startApi(databaseUrl: string, redisUrl: string, poolSize: number): Promise<Running> {
  const logger = createLogger({ service: "paimon-api", environment: "bench", level: "warn", stream: process.stderr });
  const { registry, metrics } = createServiceMetrics("paimon-api", ["paimon_http_request_duration_seconds"]);
  const db = createDatabase(databaseUrl, {
    maxConnections: poolSize,
    onIdleError: (error) => {
      logger.warn("idle database connection lost", { error });
    },
  });
  // The API keeps no keys in Redis today (its rate limiter counts in memory); the prefix keeps it so.
  const redis = createRedis(redisUrl, { keyPrefix: `paimon-bench:${randomBytes(6).toString("hex")}:` });
  redis.on("error", (error: Error) => {
    logger.warn("redis connection error", { error });
  });
  await redis.connect();
  const app = createApp({
    db,
    redis,
    logger,
    registry,
    metrics,
    maxChainSyncAgeSeconds: 120,
    accepting: () => true,
    jwtSecret: randomBytes(32).toString("hex"),
    rateLimitPerMinute: BENCH_RATE_LIMIT_PER_MINUTE,
  });
  return {
    server: app.listen(0, "127.0.0.1"),
    close: async () => {
      await redis.quit();
      await db.destroy();
    },
  };
}

function startBaseline(databaseUrl: string, poolSize: number): Running {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 5_000 });
  pool.on("error", (error) => {
    process.stderr.write(`baseline: idle database connection lost: ${error.message}\n`);
  });
  const server = createBaselineServer(pool).listen(0, "127.0.0.1");
  return { server, close: () => pool.end() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kind: { type: "string" },
      "database-url": { type: "string" },
      "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
      "pool-size": { type: "string", default: "10" },
    },
  });
  const databaseUrl = values["database-url"];
  const poolSize = Number(values["pool-size"]);
  if (!databaseUrl) throw new Error("--database-url is required");
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new Error("--pool-size must be a positive integer");
  let running: Running;
  if (values.kind === "api") running = await startApi(databaseUrl, values["redis-url"], poolSize);
  else if (values.kind === "baseline") running = startBaseline(databaseUrl, poolSize);
  else throw new Error("--kind must be api or baseline");
  const { server } = running;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections();
    server.close();
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`bench server: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
