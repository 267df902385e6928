/**
 * One server under benchmark, in a process of its own so that it never shares a core's time with
 * autocannon: `tsx services/api/bench/server.ts --kind api|baseline|ceiling --database-url … --pool-size …`.
 * Prints its port on stdout once listening (the API in its own "listening" log line, the others
 * as `{"port":…}`); stops on SIGTERM or SIGINT.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import pg from "pg";
import { runApi } from "../src/main";
import { createBaselineServer, createCeilingServer } from "./baseline";

/** Far above anything 64 connections can send: the benchmark measures serving, not 429s. */
const BENCH_RATE_LIMIT_PER_MINUTE = 1_000_000_000;
/** main.ts's keep-alive settings (longer than the load balancer's idle timeout), for the baseline too. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 66_000;

interface Running {
  readonly server: Server;
  readonly close: () => Promise<void>;
}

/**
 * The API exactly as it runs in production (main.ts's `runApi`), on the benchmark's database,
 * Redis and pool size; it prints its port in its own "listening" log line and stops on SIGTERM.
 */
async function runRealApi(databaseUrl: string, redisUrl: string, poolSize: number): Promise<void> {
  await runApi({
    ENVIRONMENT: "test",
    LOG_LEVEL: "info",
    PORT: "0",
    DATABASE_URL: databaseUrl,
    METRICS_DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    DATABASE_POOL_SIZE: String(poolSize),
    JWT_SECRET: randomBytes(32).toString("hex"),
    RATE_LIMIT_PER_MINUTE: String(BENCH_RATE_LIMIT_PER_MINUTE),
  });
}

async function startBare(kind: "baseline" | "ceiling", databaseUrl: string, poolSize: number): Promise<Running> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 5_000 });
  pool.on("error", (error) => {
    process.stderr.write(`${kind}: idle database connection lost: ${error.message}\n`);
  });
  const server = (kind === "baseline" ? createBaselineServer(pool) : await createCeilingServer(pool)).listen(
    0,
    "127.0.0.1",
  );
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
  if (values.kind === "api") {
    await runRealApi(databaseUrl, values["redis-url"], poolSize);
    return;
  }
  if (values.kind !== "baseline" && values.kind !== "ceiling")
    throw new Error("--kind must be api, baseline or ceiling");
  const running = await startBare(values.kind, databaseUrl, poolSize);
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
