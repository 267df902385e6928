/**
 * The operator's commands (`pnpm ops …`, or `node dist/main.js ops …` in the image), the same code
 * the cluster's backup CronJobs run.
 *
 *   pnpm ops backup postgres|timescaledb|redis|secrets
 *                                      make a backup, verify it where it is stored, then record it
 *                                      (what each kind reads: kinds.ts)
 *   pnpm ops backups list              every backup, complete or partial, newest first
 *   pnpm ops backups prune [--dry-run] drop what the backup table's retention lets go
 *   pnpm ops restore <backup-id>       verify every checksum, stop the writers (the cluster's
 *                                      Deployments scaled to 0, or pnpm dev's processes), refuse
 *                                      if any still holds a lock, restore, compare row counts with
 *                                      the manifest, start the writers again (also on failure)
 *   pnpm ops dr-drill [--rds-source <instance>]
 *                                      backup → scratch restore → every table compared → the API
 *                                      and the listener on it → RPO and RTO against the targets,
 *                                      recorded in the store (drills/) and the Pushgateway
 *   pnpm ops check daily|weekly|monthly [--since <date>] [--out <dir>]
 *                                      the §9 checklist: a pass / warn / unknown / fail line per
 *                                      item with its evidence, pushed to the Pushgateway; monthly
 *                                      also writes the operations report into --out (checks/config.ts
 *                                      lists what each item reads: PROMETHEUS_URL, API_URL, …)
 *   pnpm ops opensearch-security apply --config-dir <dir>
 *                                      PUT the directory's OpenSearch roles and role mappings to
 *                                      the security plugin's API, in the order its requests.json
 *                                      lists, SigV4-signed; the domain's VPC endpoint from
 *                                      DescribeDomain (its own variables: OPENSEARCH_DOMAIN,
 *                                      AWS_REGION, and optionally AWS_OPENSEARCH_ENDPOINT and
 *                                      OPENSEARCH_CA_FILE; no BACKUP_TARGET)
 *
 * Configuration is the environment, read once and checked naming the variable: BACKUP_TARGET
 * (`file:///dir` or `s3://bucket[/prefix]`), DATABASE_URL, REDIS_URL, and optionally
 * PUSHGATEWAY_URL, BACKUP_KMS_KEY_ID (SSE-KMS), AWS_REGION, AWS_S3_ENDPOINT (an S3-compatible
 * server) and PGSSLROOTCERT (the CA a verifying database URL needs); each backup kind's own
 * (METRICS_DATABASE_URL, REDIS_BACKUP_MODE and ELASTICACHE_*, SECRETS_PREFIX: kinds.ts); for
 * the writers, KUBECONFIG and KUBERNETES_NAMESPACE (in a pod, its service account and
 * namespace). `--json` prints one JSON document for automation.
 *
 * Exit codes: 0 done; 1 failed (a tool, the store, the database, or an API refusing a request:
 * OpenSearch's security API with its answer); 2 refused — a partial,
 * damaged or truncated backup, live writers, a restore whose row counts differ — with nothing
 * changed where refused before the restore began; 3 a DR drill that ran and did not pass (a
 * table differs, a target missed, the restored services never ready); 4 a checklist with no
 * failed item but a warning or an item that could not be checked (a failed item is 1); 64 bad
 * usage or configuration (an OpenSearch configuration directory included); 130 or 143 a DR drill
 * stopped by SIGINT or SIGTERM (its deadline, a drain, an eviction), which first asked RDS to
 * delete its scratch instance, then cleaned up and recorded itself as failed.
 */
import { constants } from "node:os";
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { loadConfig, urlSchema } from "@paimon/core/config";
import { AppError } from "@paimon/core/errors";
import { z } from "zod";
import {
  BackupError,
  fetchVerified,
  listBackups,
  makeBackup,
  pruneBackups,
  withScratch,
  type BackupResult,
} from "./backups";
import { kindsEnvShape, openBackupStore, producer, restoreKind } from "./kinds";
import { BACKUP_KINDS, isBackupKind, parseBackupId } from "./manifest";
import { differingCounts, restoreBackup } from "./restore";
import { applyOpenSearchSecurity, opensearchSecurityReport } from "./opensearch-command";
import { runCheck } from "./checks/command";
import { CHECKLISTS, type Checklist } from "./checks/types";
import { DRILL_TIMEOUTS } from "./drill";
import { drillCommand, drillReport } from "./drill-command";
import type { ServicesEntry } from "./drill-services";
import { backupSuccessRegistry, pushToGateway } from "./push-metrics";
import { openStore, type BackupStore } from "./store";
import { WRITERS_CHOICES, defaultWriters, openWriters, type WritersChoice } from "./writers-config";

const optionalUrl = (protocols: readonly string[]) => urlSchema(protocols).optional();

export const opsEnvSchema = z.object({
  BACKUP_TARGET: z.string().refine((value) => /^(file|s3):\/\/./.test(value), "must be a file:// or s3:// URL"),
  DATABASE_URL: optionalUrl(["postgres:", "postgresql:"]),
  REDIS_URL: optionalUrl(["redis:", "rediss:"]),
  PUSHGATEWAY_URL: optionalUrl(["http:", "https:"]),
  BACKUP_KMS_KEY_ID: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_S3_ENDPOINT: optionalUrl(["http:", "https:"]),
  PGSSLROOTCERT: z.string().min(1).optional(),
  // Where the writers a restore stops run (writers-config.ts).
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  KUBECONFIG: z.string().min(1).optional(),
  KUBERNETES_NAMESPACE: z.string().min(1).optional(),
  HOME: z.string().min(1).optional(),
  ...kindsEnvShape,
});
export type OpsConfig = z.infer<typeof opsEnvSchema>;

/** Where the commands print, and what they read; tests pass their own. */
export interface OpsIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** How to run the services' entrypoint (`dr-drill` starts the API and the listener with it). */
  readonly services?: ServicesEntry;
  /**
   * Aborted when a DR drill must stop, with a `Stopped` reason. Without it, the drill listens for
   * the process's SIGTERM and SIGINT itself while it runs.
   */
  readonly stop?: AbortSignal;
}

const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** Why a command was stopped. */
export class Stopped extends Error {
  constructor(readonly signal: (typeof STOP_SIGNALS)[number]) {
    super(`stopped by ${signal}`);
    this.name = "Stopped";
  }
}

/**
 * Runs `work` with `given`, or else with a signal the process's first SIGTERM or SIGINT aborts.
 * Each handler answers once and all are removed afterwards: a second Ctrl-C, or a signal outside
 * the drill, ends the process as it always does. Kubernetes sends SIGTERM at the Job's deadline,
 * a drain or an eviction, and SIGKILL once the pod's grace period is over.
 */
async function untilStopped<T>(given: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (given !== undefined) return work(given);
  const controller = new AbortController();
  const handlers = STOP_SIGNALS.map((name) => {
    const handler = () => {
      controller.abort(new Stopped(name));
    };
    process.once(name, handler);
    return { name, handler };
  });
  try {
    return await work(controller.signal);
  } finally {
    for (const { name, handler } of handlers) process.off(name, handler);
  }
}

/** A stopped command's exit code: the shell's, 128 and the signal's number. */
const stoppedCode = (reason: unknown) => (reason instanceof Stopped ? 128 + constants.signals[reason.signal] : 1);

class Refusal extends Error {}

const required = (config: OpsConfig, name: "DATABASE_URL" | "REDIS_URL"): string => {
  const value = config[name];
  if (value === undefined)
    throw new AppError("invalid_configuration", `invalid configuration: ${name}: missing`, {
      details: { problems: [`${name}: missing`] },
    });
  return value;
};

/** Pushes the backup's success and size to the Pushgateway, under the job the backup alerts read. */
async function recordSuccess(url: string, result: BackupResult): Promise<void> {
  const { kind } = result.manifest;
  await pushToGateway(url, backupSuccessRegistry(kind, new Date(result.manifest.completed_at), result.bytes), { kind });
}

export function buildOps(io: OpsIo, done: (code: number) => void): Command {
  let config: OpsConfig | undefined;
  let store: BackupStore | undefined;
  const json = (command: Command) => command.optsWithGlobals<{ json?: boolean }>().json === true;
  const context = () => {
    config ??= loadConfig(opsEnvSchema, io.env);
    store ??= openStore(config.BACKUP_TARGET, {
      region: config.AWS_REGION,
      s3Endpoint: config.AWS_S3_ENDPOINT,
      kmsKeyId: config.BACKUP_KMS_KEY_ID,
    });
    return { config, store };
  };

  const program = new Command("ops")
    .description("The Paimon platform's operations: backups and restores")
    .option("--json", "print one JSON document")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError(false);

  program
    .command("backup")
    .description("make a backup of one kind, verify it where it is stored, then record its success")
    .addArgument(new Argument("<kind>", "what to back up").choices(Object.keys(BACKUP_KINDS)))
    .action(async (kind: string, _options: unknown, command: Command) => {
      if (!isBackupKind(kind)) throw new Refusal(`unknown backup kind ${JSON.stringify(kind)}`);
      const { config: current } = context();
      const target = await openBackupStore(current);
      const result = await makeBackup({
        kind,
        store: target,
        produce: producer(kind, current, target),
        ...(current.PUSHGATEWAY_URL
          ? { onSuccess: (done: BackupResult) => recordSuccess(current.PUSHGATEWAY_URL ?? "", done) }
          : {}),
      });
      io.out(
        json(command)
          ? `${JSON.stringify({ id: result.manifest.id, location: result.location, bytes: result.bytes, manifest: result.manifest })}\n`
          : `backup ${result.manifest.id}: ${result.bytes} bytes, verified at ${result.location}\n`,
      );
      done(0);
    });

  const backups = program.command("backups").description("the backups in BACKUP_TARGET");
  backups
    .command("list")
    .description("every backup, newest first by kind; partial ones (no manifest) are shown as such")
    .action(async (_options: unknown, command: Command) => {
      const listed = await listBackups(context().store);
      io.out(
        json(command)
          ? `${JSON.stringify(listed.map((backup) => ({ ...backup, startedAt: backup.startedAt.toISOString() })))}\n`
          : listed.map((b) => `${b.id}  ${b.state}  ${b.bytes} bytes${b.problem ? `  ${b.problem}` : ""}\n`).join("") ||
              "no backups\n",
      );
      done(0);
    });
  backups
    .command("prune")
    .description(
      "delete what retention lets go (postgres 30, redis 7, secrets 90, timescaledb 30 days); never a kind's newest",
    )
    .option("--dry-run", "say what would go, delete nothing")
    .action(async (options: { dryRun?: boolean }, command: Command) => {
      const gone = await pruneBackups(context().store, { dryRun: options.dryRun === true });
      io.out(
        json(command)
          ? `${JSON.stringify({ dryRun: options.dryRun === true, pruned: gone.map((backup) => backup.id) })}\n`
          : `${options.dryRun === true ? "would prune" : "pruned"} ${gone.length} backup(s)${gone.map((b) => `\n  ${b.id}`).join("")}\n`,
      );
      done(0);
    });

  /** A TimescaleDB or secrets backup: verified whole first, then restored by its kind (kinds.ts). */
  const restoreOtherKind = (id: string, options: { databaseUrl?: string; secret?: string[] }, command: Command) =>
    withScratch(async (directory) => {
      const { config: current, store: source } = context();
      const verified = await fetchVerified(source, id, directory);
      const restored = await restoreKind(current, verified, {
        databaseUrl: options.databaseUrl,
        secrets: options.secret,
      });
      if (restored.kind === "timescaledb") {
        const differing = differingCounts(verified.manifest.tables, restored.tables);
        if (differing.length > 0) throw new Refusal(`${id} restored, but row counts differ: ${differing.join("; ")}`);
      }
      io.out(
        json(command)
          ? `${JSON.stringify({ id, restored: true, ...restored })}\n`
          : restored.kind === "timescaledb"
            ? `restored ${id}: ${Object.keys(restored.tables).length} tables, row counts as in the manifest\n`
            : `restored ${id}: ${restored.secrets.map((secret) => `${secret.name} (new version ${secret.version_id})`).join(", ")}\n`,
      );
    });

  program
    .command("restore")
    .description(
      "verify a backup's every checksum, then restore it: PostgreSQL (the writers stopped and started again), TimescaleDB (into a fresh database), or secrets; row counts compared with the manifest",
    )
    .argument("<backup-id>", "as `backups list` shows it")
    .option(
      "--database-url <url>",
      "restore into this database instead of DATABASE_URL (METRICS_DATABASE_URL for a TimescaleDB backup)",
    )
    .option("--secret <name...>", "a secrets backup: restore only these secrets (each must exist under SECRETS_PREFIX)")
    .addOption(
      new Option(
        "--writers <where>",
        "who writes to the target and is stopped for the restore: the cluster's Deployments, pnpm dev's processes, or none (default: none for --database-url; in a pod or with KUBECONFIG the cluster; else pnpm dev)",
      ).choices(WRITERS_CHOICES),
    )
    .action(
      async (
        id: string,
        options: { databaseUrl?: string; secret?: string[]; writers?: WritersChoice },
        command: Command,
      ) => {
        const kind = parseBackupId(id)?.kind;
        if (kind === "timescaledb" || kind === "secrets") {
          await restoreOtherKind(id, options, command);
          done(0);
          return;
        }
        const { config: current, store: source } = context();
        const services = current.DATABASE_URL;
        const url = options.databaseUrl ?? required(current, "DATABASE_URL");
        const choice = options.writers ?? defaultWriters(current, url === services ? "services" : "other");
        const writers = openWriters({
          choice,
          env: current,
          targetUrl: url,
          log: (line) => {
            io.err(`ops: ${line}\n`);
          },
        });
        const {
          manifest,
          counts,
          writers: stopped,
        } = await restoreBackup({
          store: source,
          id,
          url,
          sslRootCert: current.PGSSLROOTCERT,
          writers,
        });
        // `none` stops nothing by choice: say why, where the others say where no writer ran.
        const noneStopped =
          choice !== "none"
            ? `no writers ran in ${writers.where}`
            : options.writers === "none"
              ? "writers not stopped, as --writers none asked"
              : "no writers were stopped: none are known for this database (it is not DATABASE_URL)";
        io.out(
          json(command)
            ? `${JSON.stringify({ id, restored: true, tables: counts, position: manifest.position, writers: stopped })}\n`
            : `restored ${id}: ${Object.keys(counts).length} tables, row counts as in the manifest; the listener resumes from block ${manifest.position.listener_block ?? "(none)"}; ${stopped.length > 0 ? `writers stopped and started again: ${stopped.join(", ")}` : noneStopped}\n`,
        );
        done(0);
      },
    );

  const seconds = (name: string) => (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) === 0)
      throw new InvalidArgumentError(`${name} must be a whole number of seconds above 0`);
    return Number(value) * 1000;
  };
  program
    .command("dr-drill")
    .description(
      "back up, restore into a scratch database, compare every table's rows and checksum, start the API and the listener on it, measure RPO and RTO against their targets (< 1 h, < 4 h), record the drill; exit 3 if it did not pass",
    )
    .option(
      "--rds-source <instance>",
      "on AWS: restore this RDS instance to the backup's point in time into a scratch instance",
    )
    .option("--api-timeout <seconds>", "how long the restored API may take to serve", seconds("--api-timeout"))
    .option(
      "--catch-up-timeout <seconds>",
      "how long the listener may take to reach the chain's head",
      seconds("--catch-up-timeout"),
    )
    .action(async (options: { rdsSource?: string; apiTimeout?: number; catchUpTimeout?: number }, command: Command) => {
      const { store: target } = context();
      const { record, recorded, code } = await untilStopped(io.stop, async (signal) => {
        const drilled = await drillCommand({
          env: io.env,
          store: target,
          services: io.services,
          rdsSource: options.rdsSource,
          timeouts: {
            apiReadyMs: options.apiTimeout ?? DRILL_TIMEOUTS.apiReadyMs,
            catchUpMs: options.catchUpTimeout ?? DRILL_TIMEOUTS.catchUpMs,
          },
          log: (line) => {
            io.err(`ops: ${line}\n`);
          },
          signal,
        });
        return { ...drilled, code: signal.aborted ? stoppedCode(signal.reason) : drilled.record.passed ? 0 : 3 };
      });
      io.out(json(command) ? `${JSON.stringify({ ...record, recorded })}\n` : drillReport(record, recorded));
      done(code);
    });
  program
    .command("check")
    .description(
      "run the daily, weekly or monthly checklist: a line per item with its status and evidence; monthly also writes the operations report",
    )
    .addArgument(new Argument("<checklist>", "which checklist").choices(CHECKLISTS))
    .option(
      "--since <date>",
      "look back to this ISO date or time (default: a day, a week, 30 days)",
      (value: string) => {
        const at = new Date(value);
        if (Number.isNaN(at.getTime())) throw new InvalidArgumentError("--since must be an ISO date or date-time");
        return at;
      },
    )
    .option("--out <dir>", "where monthly writes the report and its SVG charts")
    .action(async (checklist: Checklist, options: { since?: Date; out?: string }, command: Command) => {
      if (checklist === "monthly" && options.out === undefined) {
        io.err("ops: check monthly writes the operations report: --out <dir> is required\n");
        done(64);
        return;
      }
      done(await runCheck(checklist, { since: options.since, out: options.out, json: json(command) }, io));
    });

  program
    .command("opensearch-security")
    .description("the log domain's fine-grained access control")
    .command("apply")
    .description(
      "PUT each OpenSearch role and role mapping of a directory to the domain's security API, in the order its requests.json lists, SigV4-signed; a second apply changes nothing",
    )
    .requiredOption("--config-dir <dir>", "the directory: requests.json ([{ path, file }]) and the bodies it names")
    .action(async (options: { configDir: string }, command: Command) => {
      const applied = await applyOpenSearchSecurity(io.env, options.configDir);
      io.out(opensearchSecurityReport(applied, json(command)));
      done(0);
    });
  return program;
}

/** Runs the CLI; resolves to its exit code. */
export async function runOps(argv: readonly string[], io: OpsIo): Promise<number> {
  let code = 0;
  try {
    await buildOps(io, (exit) => (code = exit)).parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 64;
    if (error instanceof AppError && error.code === "invalid_configuration") {
      io.err(`ops: ${error.message}\n`);
      return 64;
    }
    if (error instanceof BackupError || error instanceof Refusal) {
      io.err(`ops: refused: ${error.message}\n`);
      return 2;
    }
    io.err(`ops: failed: ${(error as Error).message}\n`);
    return 1;
  }
}
