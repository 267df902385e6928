/**
 * The operator's commands (`pnpm ops …`, or `node dist/main.js ops …` in the image), the same code
 * the cluster's backup CronJobs run.
 *
 *   pnpm ops backup postgres|redis     make a backup, verify it where it is stored, then record it
 *   pnpm ops backups list              every backup, complete or partial, newest first
 *   pnpm ops backups prune [--dry-run] drop what the backup table's retention lets go
 *   pnpm ops restore <backup-id>       verify every checksum, refuse under live writers, restore,
 *                                      compare row counts with the manifest
 *
 * Configuration is the environment, read once and checked naming the variable: BACKUP_TARGET
 * (`file:///dir` or `s3://bucket[/prefix]`), DATABASE_URL, REDIS_URL, and optionally
 * PUSHGATEWAY_URL, BACKUP_KMS_KEY_ID (SSE-KMS), AWS_REGION, AWS_S3_ENDPOINT (an S3-compatible
 * server) and PGSSLROOTCERT (the CA a verifying database URL needs). `--json` prints one JSON
 * document for automation.
 *
 * Exit codes: 0 done; 1 failed (a tool, the store or the database); 2 refused — a partial,
 * damaged or truncated backup, live writers, a restore whose row counts differ — with nothing
 * changed where refused before the restore began; 64 bad usage or configuration.
 */
import { Argument, Command, CommanderError } from "commander";
import { loadConfig, urlSchema } from "@paimon/core/config";
import { AppError } from "@paimon/core/errors";
import { Redis } from "ioredis";
import { createServiceMetrics } from "@paimon/core/metrics";
import { Pushgateway } from "prom-client";
import { z } from "zod";
import {
  BackupError,
  fetchVerified,
  listBackups,
  makeBackup,
  pruneBackups,
  withScratch,
  type BackupResult,
  type Produced,
} from "./backups";
import { isBackupKind, type BackupKind } from "./manifest";
import { dumpPostgres, liveWriters, restorePostgres } from "./postgres";
import { saveRedis } from "./redis";
import { openStore, type BackupStore } from "./store";

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
});
export type OpsConfig = z.infer<typeof opsEnvSchema>;

/** Where the commands print, and what they read; tests pass their own. */
export interface OpsIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

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
  const { registry, metrics } = createServiceMetrics(
    "paimon-backup",
    ["paimon_backup_last_success_timestamp_seconds", "paimon_backup_size_bytes"],
    { defaultMetrics: false },
  );
  const kind = { kind: result.manifest.kind };
  metrics.paimon_backup_last_success_timestamp_seconds.set(kind, Date.parse(result.manifest.completed_at) / 1000);
  metrics.paimon_backup_size_bytes.set(kind, result.bytes);
  await new Pushgateway(url, { timeout: 10_000 }, registry).pushAdd({ jobName: "paimon-backup", groupings: kind });
}

function producer(kind: BackupKind, config: OpsConfig): (directory: string) => Promise<Produced> {
  switch (kind) {
    case "postgres":
      return async (directory) => {
        const { file, snapshot } = await dumpPostgres({
          url: required(config, "DATABASE_URL"),
          directory,
          sslRootCert: config.PGSSLROOTCERT,
        });
        return {
          files: [file],
          tables: snapshot.tables,
          position: { wal_lsn: snapshot.walLsn, listener_block: snapshot.listenerBlock },
          source: { server_version: snapshot.serverVersion, database: snapshot.database },
        };
      };
    case "redis":
      return async (directory) => {
        const redis = new Redis(required(config, "REDIS_URL"), { lazyConnect: true, maxRetriesPerRequest: 2 });
        await redis.connect();
        try {
          const saved = await saveRedis({ redis, directory });
          return {
            files: [saved.file],
            tables: saved.keyspace,
            position: { wal_lsn: null, listener_block: null },
            source: { server_version: saved.version, database: null },
          };
        } finally {
          redis.disconnect();
        }
      };
    case "secrets":
    case "timescaledb":
      throw new Refusal(`a ${kind} backup is not made by this command yet`);
  }
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
    .addArgument(new Argument("<kind>", "what to back up").choices(["postgres", "redis"]))
    .action(async (kind: string, _options: unknown, command: Command) => {
      if (!isBackupKind(kind)) throw new Refusal(`unknown backup kind ${JSON.stringify(kind)}`);
      const { config: current, store: target } = context();
      const result = await makeBackup({
        kind,
        store: target,
        produce: producer(kind, current),
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

  program
    .command("restore")
    .description("verify a backup's every checksum, then restore it (PostgreSQL) and compare row counts")
    .argument("<backup-id>", "as `backups list` shows it")
    .option("--database-url <url>", "restore into this database instead of DATABASE_URL (a drill's scratch database)")
    .action(async (id: string, options: { databaseUrl?: string }, command: Command) => {
      const { config: current, store: source } = context();
      await withScratch(async (directory) => {
        const { manifest, files } = await fetchVerified(source, id, directory);
        if (manifest.kind !== "postgres")
          throw new Refusal(`${id} is a ${manifest.kind} backup; this command restores PostgreSQL backups`);
        const url = options.databaseUrl ?? required(current, "DATABASE_URL");
        const writers = await liveWriters(url, current.PGSSLROOTCERT);
        if (writers.length > 0)
          throw new Refusal(
            `writers are connected to the target (${writers.join(", ")}): stop the event listener and the workers first; nothing was changed`,
          );
        const file = files[0];
        if (file === undefined) throw new Refusal(`${id} has no dump`);
        const counts = await restorePostgres({ url, file, sslRootCert: current.PGSSLROOTCERT });
        const differing = Object.entries(manifest.tables)
          .filter(([table, rows]) => counts[table] !== rows)
          .map(([table, rows]) => `${table}: ${String(counts[table] ?? "absent")} rows, the backup had ${rows}`);
        if (differing.length > 0) throw new Refusal(`${id} restored, but row counts differ: ${differing.join("; ")}`);
        io.out(
          json(command)
            ? `${JSON.stringify({ id, restored: true, tables: counts, position: manifest.position })}\n`
            : `restored ${id}: ${Object.keys(counts).length} tables, row counts as in the manifest; the listener resumes from block ${manifest.position.listener_block ?? "(none)"}\n`,
        );
      });
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
