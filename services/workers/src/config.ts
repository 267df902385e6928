import { baseEnvSchema, chainEnvShape, checkQueuePrefix, loadConfig, urlSchema, envNumber } from "@paimon/core/config";
import { DEFAULT_QUEUE_PREFIX } from "@paimon/core/queues";
import { riskPolicyEnvShape, riskPolicyFromEnv, type RiskPolicy } from "@paimon/core/fund";
import { AppError } from "@paimon/core/errors";
import type { Worker } from "@paimon/core/workloads";
import cronParser from "cron-parser";
import { z } from "zod";

/** A worker of the one program, `workers --worker=<name>`: one of core's `WORKERS`. */
export type WorkerName = Worker;

/** Every worker's environment: the base variables, its health port and its queues. */
const commonSchema = baseEnvSchema.extend({
  /** Health, readiness and metrics (8002 in the cluster; 0 picks a free port in tests). */
  HEALTH_PORT: envNumber(z.number().int().min(0).max(65535)).default(8002),
  /** Key prefix of the BullMQ queues in Redis (tests give each run its own). */
  QUEUE_PREFIX: z.string().min(1).default(DEFAULT_QUEUE_PREFIX),
  /**
   * How long a taken job stays locked to this worker without a renewal. A worker killed mid-job
   * loses its lock after this long, and the job is then taken again (jobs are idempotent).
   */
  WORKER_LOCK_DURATION_MS: envNumber(z.number().int().min(1_000).max(600_000)).default(30_000),
  /** How many times a job may be found stalled (its worker died) before it fails for good. */
  WORKER_MAX_STALLED_COUNT: envNumber(z.number().int().min(1).max(1000)).default(10),
  /**
   * On SIGTERM, how long the current job may run on before it is released to another worker; with
   * the 15 s the rest of shutdown may take, inside the pod's 60 s grace period.
   */
  WORKER_DRAIN_TIMEOUT_MS: envNumber(z.number().int().min(0).max(40_000)).default(25_000),
});

/** What every worker's configuration has. */
export type CommonConfig = z.infer<typeof commonSchema>;

/** The metrics database: TimescaleDB in the cluster, the same PostgreSQL in development. */
const metricsDatabase = { METRICS_DATABASE_URL: urlSchema(["postgres:", "postgresql:"]) };

const cron = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(
      (pattern) => {
        try {
          cronParser.parseExpression(pattern);
          return true;
        } catch {
          return false;
        }
      },
      { message: "must be a cron pattern (5 fields, or 6 with seconds first)" },
    );

const timeZone = z
  .string()
  .default("UTC")
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: "must be an IANA time zone such as Asia/Singapore" },
  );

export const riskEnvSchema = commonSchema.extend({
  ...metricsDatabase,
  ...riskPolicyEnvShape,
  /**
   * Without a block notice for this long, the monitor assesses the latest committed block anyway,
   * so a quiet or stalled chain (or a lost notice) is still assessed and the gauges stay current.
   */
  RISK_IDLE_ASSESS_MS: envNumber(z.number().int().min(100).max(3_600_000)).default(60_000),
});

export const schedulerEnvSchema = commonSchema.extend({
  ...metricsDatabase,
  ...riskPolicyEnvShape,
  /** The time zone every schedule's pattern is read in. */
  SCHEDULE_TIME_ZONE: timeZone,
  /** Standard-channel redemptions requested before this daily cut-off are settled. */
  SETTLEMENT_CUTOFF_CRON: cron("0 16 * * *"),
  /** The daily fund snapshot (NAV, layers, pending redemptions, risk) into the metrics database. */
  FUND_SNAPSHOT_CRON: cron("0 0 * * *"),
  /** How often the allocation is compared with its targets for a `scheduled` rebalance. */
  REBALANCE_CHECK_CRON: cron("0 */6 * * *"),
  /** How often the backups' last successes are checked against their maximum ages. */
  BACKUP_CHECK_CRON: cron("15 * * * *"),
  /** A `scheduled` rebalance is raised when a layer is further than this from its target. */
  SCHEDULED_REBALANCE_DRIFT: z
    .string()
    .regex(/^0(\.\d{1,18})?$|^1$/, "must be a ratio from 0 to 1")
    .default("0.02"),
  /** The Pushgateway the backup jobs report to; unset, the backup check records that it could not look. */
  PUSHGATEWAY_URL: urlSchema(["http:", "https:"]).optional(),
  /** Hours after which the last daily backup (postgres, secrets, timescaledb) is overdue. */
  BACKUP_DAILY_MAX_AGE_HOURS: envNumber(z.number().min(1).max(240)).default(26),
  /** Minutes after which the last hourly Redis snapshot is overdue (the one-hour RPO, with slack). */
  BACKUP_REDIS_MAX_AGE_MINUTES: envNumber(z.number().min(1).max(1440)).default(75),
});

const wei = (fallback: string) =>
  z
    .string()
    .regex(/^\d{1,30}$/, "must be a whole number of wei")
    .default(fallback)
    .transform((value) => BigInt(value));
const GWEI = "000000000";

/**
 * The rebalance worker: the operator's one sender (the only workload whose role may call
 * `kms:Sign`), the rebalance executions and the redemption settlements it sends.
 */
export const rebalanceEnvSchema = commonSchema.extend({
  ...chainEnvShape,
  ...riskPolicyEnvShape,
  /** How long one JSON-RPC request may take before it counts as failed (and is retried). */
  RPC_TIMEOUT_MS: envNumber(z.number().int().min(100).max(120_000)).default(10_000),
  /** `kms` (staging, production: the key never leaves KMS) or `local` (development and tests only). */
  SIGNER: z.enum(["kms", "local"]).default("kms"),
  /** The KMS key (id, ARN or alias) of the operator: an ECC_SECG_P256K1 SIGN_VERIFY key. */
  AWS_KMS_KEY_ID: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  /** A KMS endpoint other than AWS's (tests' KMS-protocol server). */
  AWS_KMS_ENDPOINT: urlSchema(["http:", "https:"]).optional(),
  /** SIGNER=local: the operator's private key (never accepted in production). */
  OPERATOR_PRIVATE_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex private key")
    .optional(),
  /** 2: EIP-1559 transactions (BSC accepts them); 0: legacy ones. */
  TX_TYPE: z
    .enum(["2", "0"])
    .default("2")
    .transform((value): 0 | 2 => (value === "2" ? 2 : 0)),
  /** The priority fee offered per gas, in wei (1 gwei). */
  TX_PRIORITY_FEE_WEI: wei(`1${GWEI}`),
  /** The cap on any original or replacement's fee per gas, in wei (100 gwei). */
  TX_MAX_FEE_PER_GAS_WEI: wei(`100${GWEI}`),
  /** The cap on a cancellation's fee per gas, in wei (200 gwei): freeing a stuck lane is worth more. */
  TX_CANCEL_MAX_FEE_PER_GAS_WEI: wei(`200${GWEI}`),
  /** An attempt unmined for this long is replaced with higher fees. */
  TX_REPLACE_AFTER_MS: envNumber(z.number().int().min(100).max(3_600_000)).default(60_000),
  /** How often an accepted, unmined transaction is broadcast again (the same bytes). */
  TX_REBROADCAST_MS: envNumber(z.number().int().min(0).max(3_600_000)).default(15_000),
  /** Replacements of an intent before it is cancelled. */
  TX_MAX_REPLACEMENTS: envNumber(z.number().int().min(0).max(50)).default(5),
  /** From an intent's creation until it is cancelled if still unmined. */
  TX_DEADLINE_MS: envNumber(z.number().int().min(1_000).max(86_400_000)).default(1_800_000),
  /** Extra gas over the node's estimate, in percent. */
  TX_GAS_MARGIN_PERCENT: envNumber(z.number().int().min(0).max(200)).default(25),
  /** How often the sender looks at its open transactions (it also wakes on each new one). */
  SENDER_POLL_MS: envNumber(z.number().int().min(20).max(60_000)).default(2_000),
  /** How often the chain's nonce is compared with the lane's (and at start). */
  SENDER_RECONCILE_MS: envNumber(z.number().int().min(100).max(3_600_000)).default(60_000),
  /** A rebalance leg smaller than this (in the fund's units, dollars) is not worth a transaction. */
  REBALANCE_MIN_TRANSFER: z
    .string()
    .regex(/^\d{1,30}(\.\d{1,6})?$/, "must be an amount with at most 6 decimals")
    .default("1000"),
  /** Jobs the settlement queue runs at once (each mostly waits for its transaction to be final). */
  SETTLEMENT_CONCURRENCY: envNumber(z.number().int().min(1).max(64)).default(8),
});

/** Each worker's schema, for the deployments' environment check. */
export const WORKER_ENV_SCHEMAS = {
  risk: riskEnvSchema,
  scheduler: schedulerEnvSchema,
  rebalance: rebalanceEnvSchema,
} as const satisfies Record<WorkerName, z.ZodObject>;

export type RiskConfig = z.infer<typeof riskEnvSchema> & { readonly policy: RiskPolicy };
export type SchedulerConfig = z.infer<typeof schedulerEnvSchema> & { readonly policy: RiskPolicy };
export type RebalanceConfig = z.infer<typeof rebalanceEnvSchema> & { readonly policy: RiskPolicy };

/** The policy of a parsed risk or scheduler environment; a policy that does not hold together names its variable. */
function withPolicy<T extends Record<string, unknown>>(parsed: T): T & { readonly policy: RiskPolicy } {
  const { policy, problems } = riskPolicyFromEnv(parsed as Record<string, string>);
  if (problems.length > 0) {
    const lines = problems.map((p) => `${p.key}: ${p.message}`);
    throw new AppError("invalid_configuration", `invalid configuration: ${lines.join("; ")}`, {
      details: { problems: lines },
    });
  }
  return Object.freeze({ ...parsed, policy });
}

type Env = Readonly<Record<string, string | undefined>>;

export const loadRiskConfig = (env: Env): Readonly<RiskConfig> =>
  withPolicy(checkQueuePrefix(loadConfig(riskEnvSchema, env)));
export const loadSchedulerConfig = (env: Env): Readonly<SchedulerConfig> =>
  withPolicy(checkQueuePrefix(loadConfig(schedulerEnvSchema, env)));
export function loadRebalanceConfig(env: Env): Readonly<RebalanceConfig> {
  const config = withPolicy(checkQueuePrefix(loadConfig(rebalanceEnvSchema, env)));
  const problems: string[] = [];
  if (config.SIGNER === "kms") {
    if (config.AWS_KMS_KEY_ID === undefined) problems.push("AWS_KMS_KEY_ID: required when SIGNER is kms");
    if (config.AWS_REGION === undefined) problems.push("AWS_REGION: required when SIGNER is kms");
  } else {
    if (config.OPERATOR_PRIVATE_KEY === undefined) problems.push("OPERATOR_PRIVATE_KEY: required when SIGNER is local");
    if (config.ENVIRONMENT === "production") {
      problems.push("SIGNER: must be kms in production, where only KMS may hold the operator key");
    }
  }
  if (config.TX_CANCEL_MAX_FEE_PER_GAS_WEI < config.TX_MAX_FEE_PER_GAS_WEI) {
    problems.push("TX_CANCEL_MAX_FEE_PER_GAS_WEI: must be at least TX_MAX_FEE_PER_GAS_WEI");
  }
  if (config.TX_PRIORITY_FEE_WEI > config.TX_MAX_FEE_PER_GAS_WEI) {
    problems.push("TX_PRIORITY_FEE_WEI: must be at most TX_MAX_FEE_PER_GAS_WEI");
  }
  if (problems.length > 0) {
    throw new AppError("invalid_configuration", `invalid configuration: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return config;
}
