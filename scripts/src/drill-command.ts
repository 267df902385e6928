/**
 * `ops dr-drill`: the drill's configuration (read once, every bad key named), its scratch — a
 * database beside the source, or with `--rds-source` a point-in-time restore of that RDS
 * instance, after deleting the stale scratch instances earlier drills left under its prefix — its
 * report as text or JSON, its record in the backup store, and its result pushed to the
 * Pushgateway — every drill's time and pass or fail, and a passed one's time as the last success —
 * where the monthly check, the alerts and the dashboards read it.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { chainEnvShape, loadConfig, urlSchema } from "@paimon/core/config";
import { z } from "zod";
import { runDrill } from "./drill";
import { drillRunRegistry, drillSuccessRegistry, pushToGateway } from "./push-metrics";
import { localScratch } from "./drill-scratch";
import type { ServicesEntry } from "./drill-services";
import { rdsScratch, scratchIdentifier, scratchPrefix, sweepScratchInstances } from "./rds";
import { drillRecordKey, writeDrillRecord, type DrillRecord } from "./records";
import type { BackupStore } from "./store";
import { configurationError } from "./writers-config";

/** What the drill reads besides the CLI's own settings: the services' and the chain's. */
export const drillEnvSchema = z.object({
  DATABASE_URL: urlSchema(["postgres:", "postgresql:"]),
  REDIS_URL: urlSchema(["redis:", "rediss:"]),
  REDIS_CLUSTER: z.enum(["true", "false"], { message: 'must be "true" or "false"' }).default("false"),
  /** The API's metrics database when it is not the fund's own (TimescaleDB in a cluster). */
  METRICS_DATABASE_URL: urlSchema(["postgres:", "postgresql:"]).optional(),
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).default("development"),
  ...chainEnvShape,
  BSC_WS_URL: urlSchema(["ws:", "wss:"]).optional(),
  FUND_DEPLOY_BLOCK: z.string().regex(/^\d+$/, "must be a block number").optional(),
  PUSHGATEWAY_URL: urlSchema(["http:", "https:"]).optional(),
  PGSSLROOTCERT: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  /** An RDS-compatible endpoint (a local server in tests); AWS's own otherwise. */
  AWS_RDS_ENDPOINT: urlSchema(["http:", "https:"]).optional(),
  /**
   * With `--rds-source`: the scratch instance is named with this prefix and the drill's time —
   * the prefix the drill's IAM role may create and delete under (the cluster's CronJob sets it).
   */
  RDS_SCRATCH_PREFIX: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,36}-$/,
      "must be a lowercase RDS identifier's start, ending in '-' (at most 38 characters)",
    )
    .refine((value) => !value.includes("--"), "must not contain '--'")
    .optional(),
  PATH: z.string().optional(),
  HOME: z.string().optional(),
});

export interface DrillCommandOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly store: BackupStore;
  /** How to run the services' entrypoint; the drill cannot start them without it. */
  readonly services: ServicesEntry | undefined;
  /** `--rds-source`: the RDS instance to restore to the backup's point in time. */
  readonly rdsSource?: string | undefined;
  readonly timeouts: { readonly apiReadyMs: number; readonly catchUpMs: number };
  readonly log: (line: string) => void;
  /** Aborted when the drill must stop (the CLI's SIGTERM or SIGINT): see runDrill. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Pushes the drill's result under the backup jobs' job, where the DR alerts read it: every run's
 * time and pass or fail (DRDrillFailed), then a passed one's time as the last success
 * (DRDrillOverdue). A push that fails throws, as the command's failure: the record is already in
 * the store.
 */
async function pushResult(url: string, record: DrillRecord): Promise<void> {
  const completedAt = new Date(record.completed_at);
  await pushToGateway(url, drillRunRegistry(completedAt, record.passed));
  if (record.passed) await pushToGateway(url, drillSuccessRegistry(completedAt));
}

/** Runs the drill, records it, and resolves with its record and where it was recorded. */
export async function drillCommand(options: DrillCommandOptions): Promise<{ record: DrillRecord; recorded: string }> {
  const config = loadConfig(drillEnvSchema, options.env);
  if (options.services === undefined)
    throw configurationError(
      "the services' entrypoint is not known to this program: run the drill as `pnpm ops` or `node dist/main.js ops`",
    );
  const pass = (names: readonly (keyof typeof config)[]) =>
    Object.fromEntries(
      names.flatMap((name) => {
        const value = options.env[name];
        return value === undefined ? [] : [[name, value]];
      }),
    );
  const metricsUrl =
    config.METRICS_DATABASE_URL === undefined || config.METRICS_DATABASE_URL === config.DATABASE_URL
      ? undefined
      : config.METRICS_DATABASE_URL;
  const rdsSource = options.rdsSource;
  const rds =
    rdsSource === undefined
      ? undefined
      : new RDSClient({
          ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
          ...(config.AWS_RDS_ENDPOINT ? { endpoint: config.AWS_RDS_ENDPOINT } : {}),
        });
  try {
    const record = await runDrill({
      store: options.store,
      sourceUrl: config.DATABASE_URL,
      sslRootCert: config.PGSSLROOTCERT,
      scratch: (id) =>
        rds === undefined || rdsSource === undefined
          ? localScratch({
              store: options.store,
              sourceUrl: config.DATABASE_URL,
              sslRootCert: config.PGSSLROOTCERT,
              name: `paimon_${id.toLowerCase().replace(/-/g, "_")}`,
            })
          : rdsScratch({
              client: rds,
              source: rdsSource,
              sourceUrl: config.DATABASE_URL,
              name: scratchIdentifier(rdsSource, id, config.RDS_SCRATCH_PREFIX),
              log: options.log,
              signal: options.signal,
            }),
      sweep:
        rds === undefined || rdsSource === undefined
          ? undefined
          : (now) =>
              sweepScratchInstances({
                client: rds,
                prefix: scratchPrefix(rdsSource, config.RDS_SCRATCH_PREFIX),
                source: rdsSource,
                now,
              }),
      signal: options.signal,
      entry: options.services,
      serviceEnv: {
        ...pass(["PATH", "HOME", "REDIS_URL", "REDIS_CLUSTER"]),
        ENVIRONMENT: config.ENVIRONMENT,
        ...(config.PGSSLROOTCERT ? { PGSSLROOTCERT: config.PGSSLROOTCERT } : {}),
      },
      metricsUrl,
      chainEnv: {
        ...pass(["BSC_WS_URL", "CHAIN_ID", "FUND_ADDRESS", "FUND_DEPLOY_BLOCK", "FINALITY_DEPTH"]),
        BSC_RPC_URL: config.BSC_RPC_URL,
      },
      redisUrl: config.REDIS_URL,
      redisCluster: config.REDIS_CLUSTER === "true",
      timeouts: options.timeouts,
      log: options.log,
    });
    await writeDrillRecord(options.store, record);
    if (config.PUSHGATEWAY_URL !== undefined) await pushResult(config.PUSHGATEWAY_URL, record);
    return { record, recorded: `${options.store.url.replace(/\/$/, "")}/${drillRecordKey(record.id)}` };
  } finally {
    rds?.destroy();
  }
}

const time = (value: number) => (value < 120 ? `${value.toFixed(1)} s` : `${(value / 60).toFixed(1)} min`);

/** The drill's report for an operator. */
export function drillReport(record: DrillRecord, recorded: string): string {
  const equal = record.tables.filter((table) => table.equal).length;
  const lines = [
    `DR drill ${record.id}: ${record.passed ? "PASSED" : "FAILED"}`,
    `  backup   ${record.backup_id ?? "(none: the backup failed)"}`,
    ...(record.swept ?? []).map(
      (swept) => `  swept    ${swept.scratch}, left behind by the drill of ${swept.since} (deletion requested)`,
    ),
    `  restore  ${record.restore.method} into ${record.restore.scratch} (removed afterwards)`,
    `  tables   ${equal} of ${record.tables.length} equal (row counts as in the manifest, checksums as in the source's snapshot)`,
    record.rpo
      ? `  RPO      ${time(record.rpo.seconds)} (target < ${time(record.rpo.target_seconds)}): ${record.rpo.met ? "met" : "MISSED"}${
          record.replay
            ? `; the chain replay recovered ${record.replay.blocks} blocks and ${record.replay.events} events beyond it (block ${record.replay.from_block ?? "none"} → ${record.replay.to_block})`
            : ""
        }`
      : "  RPO      not measured",
    record.rto
      ? `  RTO      ${time(record.rto.seconds)} (target < ${time(record.rto.target_seconds)}): ${record.rto.met ? "met" : "MISSED"} — restore began ${record.restore.started_at ?? "?"}, GET /v1/fund 200 at ${record.rto.api_ready_at}`
      : "  RTO      not measured (the API on the restored data never answered)",
    ...(record.problems.length > 0 ? ["  problems", ...record.problems.map((problem) => `    - ${problem}`)] : []),
    `  recorded ${recorded}`,
  ];
  return `${lines.join("\n")}\n`;
}
