/**
 * The workers' composition root, one program for the three (`workers --worker=<name>`):
 * configuration, logger, metrics, the health server, PostgreSQL (and the metrics database), the
 * queues' Redis connection, the worker's own parts, and an ordered shutdown on SIGTERM —
 * readiness off, no new jobs (the current one finishes or is released), queues, Redis, the
 * databases, the health server last.
 */
import { once } from "node:events";
import { KMSClient } from "@aws-sdk/client-kms";
import type { AddressInfo } from "node:net";
import { createDatabase, createMetricsDatabase, type Database, type MetricsDatabase } from "@paimon/core/db";
import { closeServer, createHealthServer } from "@paimon/core/health-server";
import { createLogger, type Logger } from "@paimon/core/logger";
import type { Metrics } from "@paimon/core/metrics";
import { createRedisClient, type RedisClient } from "@paimon/core/redis";
import { handleProcessSignals } from "@paimon/core/process";
import { createShutdown } from "@paimon/core/shutdown";
import { WORKERS, workerName } from "@paimon/core/workloads";
import type { Kysely } from "kysely";
import type { Registry } from "prom-client";
import { loadRebalanceConfig, loadRiskConfig, loadSchedulerConfig, type CommonConfig, type WorkerName } from "./config";
import { createWorkerMetrics } from "./metrics";
import { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from "./queue-worker";
import { createConfirmations } from "./rebalance/confirmations";
import { createRebalanceExecutor } from "./rebalance/execute";
import { createChain } from "./sender/chain";
import { laneSessions } from "./sender/lane-session";
import { createSender } from "./sender/sender";
import { createSettlements } from "./settlements/settle";
import { createKmsSigner } from "./signer/kms";
import { createLocalSigner } from "./signer/local";
import { createRiskMonitor } from "./risk/risk-monitor";
import { createScheduler } from "./scheduler/scheduler";

type Env = Readonly<Record<string, string | undefined>>;

/** What shutdown may take beyond the jobs' drain: queues, Redis, the databases, the health server. */
const SHUTDOWN_MARGIN_MS = 15_000;

/** How often the rebalance worker re-reads its counters between confirmations. */
const REBALANCE_METRICS_REFRESH_MS = 30_000;

/** Which worker `--worker=<name>` names; anything else is an error naming the choices. */
export function parseWorkerName(value: string | undefined): WorkerName {
  if (value !== undefined && (WORKERS as readonly string[]).includes(value)) return value as WorkerName;
  throw new Error(`--worker must be one of ${WORKERS.join(", ")}, got ${JSON.stringify(value ?? null)}`);
}

export async function runWorker(worker: WorkerName, env: Env): Promise<void> {
  switch (worker) {
    case "risk":
      return runRiskWorker(env);
    case "scheduler":
      return runSchedulerWorker(env);
    case "rebalance":
      return runRebalanceWorker(env);
  }
}

/** What every worker process has: its wiring, and where its own parts plug in. */
interface WorkerProcess {
  readonly logger: Logger;
  readonly db: Kysely<Database>;
  readonly connection: RedisClient;
  /** The options every queue worker of the process shares. */
  readonly queueOptions: Omit<QueueWorkerOptions<never>, "queue" | "handle">;
  /** Takes jobs from now on; readiness follows it. */
  run(...queueWorkers: QueueWorker[]): void;
  /** Runs at shutdown once the jobs have stopped, before the queues and Redis close: work in hand beside the jobs. */
  onDrain(step: () => Promise<void>): void;
  /** Runs at shutdown after the jobs have stopped, before Redis closes. */
  onClose(step: () => Promise<void>): void;
  every(ms: number, tick: () => void): void;
}

/** Starts what every worker needs; `metricsDb` closes with the rest when given. */
async function startProcess(
  worker: WorkerName,
  config: CommonConfig,
  registry: Registry,
  jobs: Metrics["paimon_jobs_total"],
  metricsDb?: Kysely<MetricsDatabase>,
): Promise<WorkerProcess> {
  const logger = createLogger({
    service: workerName(worker),
    environment: config.ENVIRONMENT,
    level: config.LOG_LEVEL,
  });
  const db = createDatabase(config.DATABASE_URL, {
    maxConnections: config.DATABASE_POOL_SIZE,
    onIdleError: (error) => {
      logger.warn("idle database connection lost", { error });
    },
  });
  // BullMQ's workers block on Redis and retry on their own: no per-request retry limit.
  const connection = createRedisClient(config.REDIS_URL, { cluster: config.REDIS_CLUSTER, role: "queue-worker" });
  connection.on("error", (error: Error) => {
    logger.warn("redis connection error", { error });
  });
  let stopping = false;
  let queueWorkers: QueueWorker[] = [];
  const timers: NodeJS.Timeout[] = [];
  const closeSteps: (() => Promise<void>)[] = [];
  const drainSteps: (() => Promise<void>)[] = [];
  const health = createHealthServer({
    registry,
    describe: () => ({ worker }),
    readiness: () => {
      const problems: Record<string, string> = {};
      if (stopping) problems["shutdown"] = "shutting down";
      if (connection.status !== "ready") problems["redis"] = connection.status;
      if (queueWorkers.length === 0 || !queueWorkers.every((w) => w.running())) problems["worker"] = "not taking jobs";
      return { ready: Object.keys(problems).length === 0, problems };
    },
  });
  health.listen(config.HEALTH_PORT);
  await once(health, "listening");

  // The grace timer leaves the drain its whole time, and the rest well inside the pod's 60 s.
  const shutdown = createShutdown({ logger, graceMs: config.WORKER_DRAIN_TIMEOUT_MS + SHUTDOWN_MARGIN_MS });
  shutdown.add("readiness", () => {
    stopping = true;
    for (const timer of timers) clearInterval(timer);
  });
  shutdown.add("jobs", async () => {
    await Promise.all(queueWorkers.map((w) => w.close(config.WORKER_DRAIN_TIMEOUT_MS)));
    for (const step of drainSteps) await step();
  });
  shutdown.add("queues", async () => {
    for (const step of closeSteps) await step();
  });
  shutdown.add("redis", async () => {
    await connection.quit().catch(() => {
      connection.disconnect();
    });
  });
  shutdown.add("metrics database", () => metricsDb?.destroy());
  shutdown.add("database", () => db.destroy());
  shutdown.add("health server", () => closeServer(health));
  handleProcessSignals({ logger, shutdown, stopping: () => stopping });
  // Announced once a SIGTERM would be handled: whoever waits for this line may stop the process.
  logger.info("listening", { port: (health.address() as AddressInfo).port });

  await connection.connect().catch((error: unknown) => {
    // Not fatal: the client keeps reconnecting, and jobs are taken once Redis is back.
    logger.warn("redis unreachable at start; waiting for it", { error });
  });
  return {
    logger,
    db,
    connection,
    queueOptions: {
      connection,
      prefix: config.QUEUE_PREFIX,
      logger,
      jobs,
      lockDurationMs: config.WORKER_LOCK_DURATION_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
    },
    run(...workers) {
      if (stopping) {
        // Shutdown began while the worker was starting: it never takes a job.
        for (const worker of workers) void worker.close(0);
        return;
      }
      queueWorkers = workers;
      logger.info("taking jobs");
    },
    onDrain(step) {
      drainSteps.push(step);
    },
    onClose(step) {
      closeSteps.push(step);
    },
    every(ms, tick) {
      if (!stopping) timers.push(setInterval(tick, ms));
    },
  };
}

/** `--worker=risk`: the risk monitor on the listener's block notices, and on a timer without them. */
async function runRiskWorker(env: Env): Promise<void> {
  const config = loadRiskConfig(env);
  const { registry, metrics } = createWorkerMetrics("risk");
  const metricsDb = createMetricsDatabase(config.METRICS_DATABASE_URL, { maxConnections: 4 });
  const worker = await startProcess("risk", config, registry, metrics.paimon_jobs_total, metricsDb);
  const monitor = createRiskMonitor({
    db: worker.db,
    metricsDb,
    logger: worker.logger.child("risk"),
    metrics,
    policy: config.policy,
  });
  worker.onDrain(() => monitor.idle());
  let lastActivity = Date.now();
  const assessLatest = () => {
    lastActivity = Date.now();
    monitor.assessLatest().catch((error: unknown) => {
      worker.logger.error("could not assess the latest committed block", { error });
    });
  };
  worker.run(
    startQueueWorker({
      ...worker.queueOptions,
      queue: "risk",
      handle: (notice) => {
        lastActivity = Date.now();
        return monitor.handleNotice(notice);
      },
    }),
  );
  // At once (the gauges are empty until the first assessment), then whenever notices stop.
  assessLatest();
  worker.every(Math.min(config.RISK_IDLE_ASSESS_MS, 5_000), () => {
    if (Date.now() - lastActivity >= config.RISK_IDLE_ASSESS_MS) assessLatest();
  });
}

/** `--worker=scheduler`: the fund's periodic jobs, each slot once. */
async function runSchedulerWorker(env: Env): Promise<void> {
  const config = loadSchedulerConfig(env);
  const { registry, metrics } = createWorkerMetrics("scheduler");
  const metricsDb = createMetricsDatabase(config.METRICS_DATABASE_URL, { maxConnections: 2 });
  const worker = await startProcess("scheduler", config, registry, metrics.paimon_jobs_total, metricsDb);
  const timing = (pattern: string) => ({ pattern, timeZone: config.SCHEDULE_TIME_ZONE });
  const dailyMaxAge = config.BACKUP_DAILY_MAX_AGE_HOURS * 3600;
  const scheduler = createScheduler({
    db: worker.db,
    metricsDb,
    connection: worker.connection,
    prefix: config.QUEUE_PREFIX,
    logger: worker.logger.child("scheduler"),
    metrics,
    timings: {
      "settlement-cutoff": timing(config.SETTLEMENT_CUTOFF_CRON),
      "fund-snapshot": timing(config.FUND_SNAPSHOT_CRON),
      "rebalance-check": timing(config.REBALANCE_CHECK_CRON),
      "backup-freshness": timing(config.BACKUP_CHECK_CRON),
    },
    jobs: {
      policy: config.policy,
      rebalanceDrift: config.SCHEDULED_REBALANCE_DRIFT,
      pushgatewayUrl: config.PUSHGATEWAY_URL,
      backupMaxAgeSeconds: {
        postgres: dailyMaxAge,
        secrets: dailyMaxAge,
        timescaledb: dailyMaxAge,
        redis: config.BACKUP_REDIS_MAX_AGE_MINUTES * 60,
      },
    },
  });
  worker.onClose(() => scheduler.close());
  await scheduler.start();
  worker.run(
    startQueueWorker({
      ...worker.queueOptions,
      queue: "schedules",
      handle: (payload, job) => scheduler.handle(payload, job),
    }),
  );
}

/**
 * `--worker=rebalance`: the operator's one sender, the rebalance executions and the redemption
 * settlements it sends, and the listener's final confirmations of executed legs.
 */
async function runRebalanceWorker(env: Env): Promise<void> {
  const config = loadRebalanceConfig(env);
  const { registry, metrics } = createWorkerMetrics("rebalance");
  // The signer first: a key that is not a secp256k1 signing key, or a local key in production,
  // stops the worker before it holds any connection.
  const signer =
    config.SIGNER === "kms"
      ? createKmsSigner({
          client: new KMSClient({
            region: config.AWS_REGION ?? "",
            maxAttempts: 1,
            ...(config.AWS_KMS_ENDPOINT === undefined ? {} : { endpoint: config.AWS_KMS_ENDPOINT }),
          }),
          keyId: config.AWS_KMS_KEY_ID ?? "",
        })
      : createLocalSigner({ privateKey: config.OPERATOR_PRIVATE_KEY ?? "", environment: config.ENVIRONMENT });
  const worker = await startProcess("rebalance", config, registry, metrics.paimon_jobs_total);
  const chain = createChain({ url: config.BSC_RPC_URL, chainId: config.CHAIN_ID, timeoutMs: config.RPC_TIMEOUT_MS });
  worker.onClose(() => {
    chain.destroy();
    return Promise.resolve();
  });
  const logger = worker.logger;
  const sender = await createSender({
    db: worker.db,
    laneSession: laneSessions(config.DATABASE_URL, (error) => {
      logger.warn("the transaction lane's database session failed", { error });
    }),
    chain,
    signer,
    settings: {
      fees: {
        type: config.TX_TYPE,
        priorityFee: config.TX_PRIORITY_FEE_WEI,
        maxFee: config.TX_MAX_FEE_PER_GAS_WEI,
        cancelMaxFee: config.TX_CANCEL_MAX_FEE_PER_GAS_WEI,
      },
      finalityDepth: config.FINALITY_DEPTH,
      replaceAfterMs: config.TX_REPLACE_AFTER_MS,
      rebroadcastMs: config.TX_REBROADCAST_MS,
      maxReplacements: config.TX_MAX_REPLACEMENTS,
      deadlineMs: config.TX_DEADLINE_MS,
      pollMs: config.SENDER_POLL_MS,
      reconcileIntervalMs: config.SENDER_RECONCILE_MS,
      gasMarginPercent: config.TX_GAS_MARGIN_PERCENT,
    },
    logger: logger.child("sender"),
    metrics,
  });
  logger.info("operator signer ready", { signer: config.SIGNER, address: sender.address });
  // The lane stops after the jobs (they wait for its transactions while they drain).
  worker.onDrain(() => sender.close());
  sender.start();

  const confirmations = createConfirmations({ db: worker.db, logger: logger.child("confirmations"), metrics });
  const refresh = () => {
    confirmations.refreshMetrics().catch((error: unknown) => {
      logger.warn("could not read the rebalance executions' counters", { error });
    });
  };
  refresh();
  worker.every(REBALANCE_METRICS_REFRESH_MS, refresh);
  const executor = createRebalanceExecutor({
    db: worker.db,
    chain,
    sender,
    fundAddress: config.FUND_ADDRESS,
    policy: config.policy,
    minTransfer: config.REBALANCE_MIN_TRANSFER,
    logger: logger.child("rebalance"),
    onOutcome: () => confirmations.refreshMetrics(),
  });
  const settlements = createSettlements({
    db: worker.db,
    chain,
    sender,
    fundAddress: config.FUND_ADDRESS,
    logger: logger.child("settlements"),
  });
  worker.run(
    startQueueWorker({
      ...worker.queueOptions,
      queue: "rebalance",
      handle: (payload, _job, signal) => executor.handle(payload, signal),
    }),
    startQueueWorker({
      ...worker.queueOptions,
      queue: "settlements",
      concurrency: config.SETTLEMENT_CONCURRENCY,
      handle: (payload, _job, signal) => settlements.handle(payload, signal),
    }),
    startQueueWorker({
      ...worker.queueOptions,
      queue: "rebalance-confirmations",
      handle: (payload) => confirmations.handle(payload),
    }),
  );
}
