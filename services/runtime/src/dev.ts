/**
 * `pnpm dev`: the fund's services as local processes against this machine's PostgreSQL and Redis
 * and a fresh local chain — no container engine needed (docker-compose.yml is the same thing in
 * containers):
 *
 * 1. a development database and queue prefix (both emptied: the chain is new each run, so is what
 *    was derived from it), migrated with the `migrate` command;
 * 2. the devnet, with the fund deployed and its demo history seeded;
 * 3. the event listener following the devnet, the API on :8000, and the workers — the risk
 *    monitor (health on :8002), the scheduler (:8003) and the rebalance worker (:8004).
 *
 * It prints the URLs once `GET /v1/fund` answers, streams the services' logs prefixed with their
 * name, and stops everything in order on Ctrl-C. A restore into its database stops the writers
 * (the listener and the workers) and starts them again through a loopback control
 * (scripts/src/writers-dev.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import {
  DEVNET_BLOCK_INTERVAL_MS,
  deployFund,
  devnetAccounts,
  devnetProvider,
  seedDemoFund,
  setIntervalMining,
  startDevnet,
} from "@paimon/contracts/devnet";
import { runMigrate } from "@paimon/core/migrate";
import { createRedisClient, deleteKeys } from "@paimon/core/redis";
import { WORKERS, type Worker } from "@paimon/core/workloads";
import { serveDevControl } from "@paimon/scripts/writers-dev";
import pg from "pg";

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** How long a service may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 35_000;
const ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
const USAGE =
  "usage: pnpm dev [--database <name>] [--queue-prefix <name>] [--api-port <n>] [--listener-port <n>] [--worker-ports <first, or 0 for any>] [--chain-port <n>] [--redis-url <url>]";

function options() {
  const { values } = parseArgs({
    options: {
      database: { type: "string", default: "paimon_dev" },
      "queue-prefix": { type: "string", default: "paimon-dev" },
      "api-port": { type: "string", default: "8000" },
      "listener-port": { type: "string", default: "8001" },
      "worker-ports": { type: "string", default: "8002" },
      "chain-port": { type: "string", default: "8545" },
      "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
    },
    strict: true,
  });
  const port = (name: string, raw: string) => {
    if (!/^\d+$/.test(raw) || Number(raw) > 65_535) throw new Error(`--${name} must be a port number, got "${raw}"`);
    return Number(raw);
  };
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(values.database)) {
    throw new Error(`--database must be a plain PostgreSQL name, got "${values.database}"`);
  }
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(values["queue-prefix"])) {
    throw new Error(`--queue-prefix must be lower-case letters, digits and dashes, got "${values["queue-prefix"]}"`);
  }
  return {
    database: values.database,
    queuePrefix: values["queue-prefix"],
    apiPort: port("api-port", values["api-port"]),
    listenerPort: port("listener-port", values["listener-port"]),
    workerPorts: port("worker-ports", values["worker-ports"]),
    chainPort: port("chain-port", values["chain-port"]),
    redisUrl: values["redis-url"],
  };
}

async function recreateDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at 127.0.0.1:5432 (${String(error)}); start it first`, {
      cause: error,
    });
  }
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return ADMIN_URL.replace(/\/postgres$/, `/${name}`);
}

/** Runs a service's `bin.ts`, its output prefixed with its name. */
function service(name: string, bin: string, env: Record<string, string>, args: readonly string[] = []): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, bin), ...args], {
    cwd: ROOT,
    // eslint-disable-next-line no-restricted-properties -- the developer's PATH and HOME, plus the service's settings
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${name} | ${line}\n`));
  }
  return child;
}

async function main(): Promise<void> {
  let config: ReturnType<typeof options>;
  try {
    config = options();
  } catch (error) {
    process.stderr.write(`dev: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const children: ChildProcess[] = [];
  /** Writers a restore stopped: their exit is no reason to stop everything. */
  const paused = new WeakSet<ChildProcess>();
  let stopDevnet: () => Promise<void> = () => Promise.resolve();
  let closeControl: () => Promise<void> = () => Promise.resolve();
  let stopping = false;
  const isStopping = () => stopping;
  const terminate = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const forced = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await once(child, "exit");
    clearTimeout(forced);
  };
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`dev: ${reason}; stopping the services, then the chain\n`);
    await closeControl();
    await Promise.all(children.map(terminate));
    await stopDevnet();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void stop(signal);
    });
  }

  try {
    const databaseUrl = await recreateDatabase(config.database);
    // Last run's jobs came from another chain, and their ids would shadow this chain's.
    const redis = createRedisClient(config.redisUrl);
    try {
      await redis.connect();
      await deleteKeys(redis, `${config.queuePrefix}:*`);
    } catch (error) {
      throw new Error(`Redis is not reachable at ${config.redisUrl} (${String(error)}); start it first`, {
        cause: error,
      });
    } finally {
      redis.disconnect();
    }
    // The metrics database is the same PostgreSQL in development (its tables in schema `metrics`).
    await runMigrate({ DATABASE_URL: databaseUrl, METRICS_DATABASE_URL: databaseUrl }, (line) =>
      process.stdout.write(`migrate | ${line}\n`),
    );
    if (isStopping()) return;

    const devnet = await startDevnet({ port: config.chainPort });
    const provider = devnetProvider(devnet);
    stopDevnet = async () => {
      provider.destroy();
      await devnet.stop();
    };
    // Ctrl-C while the node was starting: stop() ran before there was a node to stop.
    if (isStopping()) {
      await stopDevnet();
      return;
    }
    const [operator, ...holders] = devnetAccounts(4, provider);
    if (!operator) throw new Error("no operator account on the devnet");
    const fund = await deployFund(operator);
    await seedDemoFund(fund, { operator, holders });
    const fundAddress = await fund.getAddress();
    await setIntervalMining(provider, DEVNET_BLOCK_INTERVAL_MS);
    if (isStopping()) {
      await stopDevnet();
      return;
    }

    const common = {
      ENVIRONMENT: "development",
      DATABASE_URL: databaseUrl,
      REDIS_URL: config.redisUrl,
    };
    const chainEnv = {
      BSC_RPC_URL: devnet.httpUrl,
      CHAIN_ID: String(devnet.chainId),
      FUND_ADDRESS: fundAddress,
      FINALITY_DEPTH: "2",
    };
    // The rebalance worker signs as the devnet's operator (account #0, whose key is public):
    // the local signer, which production refuses.
    const workerEnv = (worker: Worker) =>
      worker === "rebalance"
        ? { ...chainEnv, SIGNER: "local", OPERATOR_PRIVATE_KEY: operator.privateKey, SENDER_POLL_MS: "200" }
        : { METRICS_DATABASE_URL: databaseUrl };
    // The workers' health ports follow WORKERS' order from --worker-ports: risk, scheduler, rebalance.
    const workerPort = (index: number) => (config.workerPorts === 0 ? 0 : config.workerPorts + index);
    const supervise = (child: ChildProcess) => {
      children.push(child);
      void once(child, "exit").then(() => {
        if (!isStopping() && !paused.has(child)) void stop("a service exited").finally(() => (process.exitCode = 1));
      });
      return child;
    };
    // The writers: what a restore into the database stops and starts again.
    const startWriters = () => [
      {
        name: "event-listener",
        child: supervise(
          service("event-listener", "services/event-listener/src/bin.ts", {
            ...common,
            ...chainEnv,
            BSC_WS_URL: devnet.wsUrl,
            HEALTH_PORT: String(config.listenerPort),
            QUEUE_PREFIX: config.queuePrefix,
          }),
        ),
      },
      ...WORKERS.map((worker, index) => ({
        name: `${worker}-worker`,
        child: supervise(
          service(
            `${worker}-worker`,
            "services/workers/src/bin.ts",
            {
              ...common,
              ...workerEnv(worker),
              HEALTH_PORT: String(workerPort(index)),
              QUEUE_PREFIX: config.queuePrefix,
            },
            [`--worker=${worker}`],
          ),
        ),
      })),
    ];
    let writers = startWriters();
    supervise(
      service("api", "services/api/src/bin.ts", {
        ...common,
        METRICS_DATABASE_URL: databaseUrl,
        PORT: String(config.apiPort),
        JWT_SECRET: "development-jwt-secret-at-least-32-characters",
        SHUTDOWN_DELAY_SECONDS: "0",
      }),
    );

    // The fund is ready once the listener has indexed the demo and the API serves it.
    const fundUrl = `http://127.0.0.1:${String(config.apiPort)}/v1/fund`;
    for (let attempt = 0; !isStopping(); attempt += 1) {
      const response = await fetch(fundUrl).catch(() => undefined);
      if (response?.ok) break;
      if (attempt > 600) throw new Error(`${fundUrl} did not answer within a minute`);
      await delay(100);
    }
    if (isStopping()) return;
    const control = await serveDevControl({
      database: config.database,
      async stop() {
        for (const { child } of writers) paused.add(child);
        await Promise.all(writers.map(({ child }) => terminate(child)));
        children.splice(0, children.length, ...children.filter((child) => !paused.has(child)));
        return writers.map(({ name }) => name);
      },
      start() {
        if (writers.some(({ child }) => child.exitCode === null && child.signalCode === null))
          return Promise.resolve(writers.map(({ name }) => name));
        writers = startWriters();
        return Promise.resolve(writers.map(({ name }) => name));
      },
    });
    closeControl = control.close;
    if (isStopping()) await control.close();
    process.stdout.write(
      [
        "",
        "dev: ready",
        `  API              http://127.0.0.1:${String(config.apiPort)}   (curl ${fundUrl})`,
        `  event listener   http://127.0.0.1:${String(config.listenerPort)}/health/ready`,
        ...(config.workerPorts === 0
          ? [`  workers          ${WORKERS.join(", ")} (health on ports of their own)`]
          : WORKERS.map(
              (worker, index) =>
                `  ${`${worker} worker`.padEnd(17)}http://127.0.0.1:${String(workerPort(index))}/metrics`,
            )),
        `  chain            ${devnet.httpUrl} (chain ${String(devnet.chainId)}), fund ${fundAddress}`,
        `  database         ${databaseUrl}`,
        `  control          ${control.url} (a restore stops and starts the writers here)`,
        "  Ctrl-C stops everything.",
        "",
      ].join("\n"),
    );
  } catch (error) {
    process.stderr.write(`dev: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    await stop("start-up failed");
  }
}

void main();
