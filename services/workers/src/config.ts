import { baseEnvSchema, checkQueuePrefix, loadConfig, urlSchema } from "@paimon/core/config";
import { DEFAULT_QUEUE_PREFIX } from "@paimon/core/queues";
import { riskPolicyEnvShape, riskPolicyFromEnv, type RiskPolicy } from "@paimon/core/fund";
import { AppError } from "@paimon/core/errors";
import cronParser from "cron-parser";
import { z } from "zod";

/** The workers of the one program, `workers --worker=<name>`. */
export const WORKER_NAMES = ["risk", "scheduler", "rebalance"] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

/** Every worker's environment: the base variables, its health port and its queues. */
const commonSchema = baseEnvSchema.extend({
  /** Health, readiness and metrics (8002 in the cluster; 0 picks a free port in tests). */
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8002),
  /** Key prefix of the BullMQ queues in Redis (tests give each run its own). */
  QUEUE_PREFIX: z.string().min(1).default(DEFAULT_QUEUE_PREFIX),
  /**
   * How long a taken job stays locked to this worker without a renewal. A worker killed mid-job
   * loses its lock after this long, and the job is then taken again (jobs are idempotent).
   */
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** How many times a job may be found stalled (its worker died) before it fails for good. */
  WORKER_MAX_STALLED_COUNT: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * On SIGTERM, how long the current job may run on before it is released to another worker; with
   * the 15 s the rest of shutdown may take, inside the pod's 60 s grace period.
   */
  WORKER_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(40_000).default(25_000),
});

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
  RISK_IDLE_ASSESS_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
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
  BACKUP_DAILY_MAX_AGE_HOURS: z.coerce.number().min(1).max(240).default(26),
  /** Minutes after which the last hourly Redis snapshot is overdue (the one-hour RPO, with slack). */
  BACKUP_REDIS_MAX_AGE_MINUTES: z.coerce.number().min(1).max(1440).default(75),
});

export const rebalanceEnvSchema = commonSchema;

/** Each worker's schema, for the deployments' environment check. */
export const WORKER_ENV_SCHEMAS = {
  risk: riskEnvSchema,
  scheduler: schedulerEnvSchema,
  rebalance: rebalanceEnvSchema,
} as const satisfies Record<WorkerName, z.ZodObject>;

export type RiskConfig = z.infer<typeof riskEnvSchema> & { readonly policy: RiskPolicy };
export type SchedulerConfig = z.infer<typeof schedulerEnvSchema> & { readonly policy: RiskPolicy };
export type RebalanceConfig = z.infer<typeof rebalanceEnvSchema>;

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
export const loadRebalanceConfig = (env: Env): Readonly<RebalanceConfig> =>
  checkQueuePrefix(loadConfig(rebalanceEnvSchema, env));
