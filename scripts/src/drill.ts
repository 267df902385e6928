/**
 * The DR drill: a disaster rehearsed without one, measured. A backup of the live database (its
 * per-table checksums read in the dump's own snapshot) is restored into a scratch database or
 * instance; every table's row count is compared with the manifest's and its checksum with the
 * source's; an API is started on the restored data and a listener that catches up from the
 * restored cursor on the real chain. RPO is the age of the newest restorable data when the
 * restore began (and what the chain replay recovered beyond it); RTO runs from the start of the
 * restore to the API answering `GET /v1/fund` with 200. Both against the targets (§8.1). The
 * scratch database, the services and the listener's queues are removed afterwards, whatever
 * happened; a drill that is stopped (its signal) stops waiting — during its backup too, whose
 * pg_dump is killed and which never gets its manifest — removes them as quickly as it can, and
 * records that it was stopped. Before all that, what earlier drills left behind is swept.
 */
import { randomBytes } from "node:crypto";
import { createRedisClient, deleteKeys } from "@paimon/core/redis";
import { JsonRpcProvider } from "ethers";
import { makeBackup } from "./backups";
import { compareTables, describeDifference, tableChecksums, type TableDigest } from "./drill-checksums";
import type { Scratch } from "./drill-scratch";
import { pause, remaining, startService, type RunningService, type ServicesEntry } from "./drill-services";
import { dumpPostgres, withClient } from "./postgres";
import { drillId, type DrillRecord } from "./records";
import type { BackupStore } from "./store";

/** The spec's targets: at most an hour of data lost, service back within four hours. */
export const DRILL_TARGETS = { rpoSeconds: 3600, rtoSeconds: 4 * 3600 } as const;

/** How long the restored API may take to serve, and the listener to reach the chain's head. */
export const DRILL_TIMEOUTS = { apiReadyMs: 10 * 60_000, catchUpMs: 30 * 60_000 } as const;

const API_POLL_MS = 250;
const CURSOR_POLL_MS = 500;

/** What a drill found left behind by earlier ones and removed before it began. */
export interface Sweep {
  /** Each scratch whose removal was requested, and when the drill that made it began. */
  readonly swept: readonly { readonly name: string; readonly since: Date }[];
  readonly problems: readonly string[];
}

export interface DrillOptions {
  readonly store: BackupStore;
  /** The live database, backed up by the drill. */
  readonly sourceUrl: string;
  readonly sslRootCert?: string | undefined;
  /** Where the backup is restored, given the drill's id. */
  readonly scratch: (id: string) => Scratch;
  /** Removes the scratches earlier drills left behind (on RDS: sweepScratchInstances), first. */
  readonly sweep?: ((now: Date) => Promise<Sweep>) | undefined;
  /** Aborted when the drill must stop (SIGTERM): it stops waiting, cleans up and records why. */
  readonly signal?: AbortSignal | undefined;
  readonly entry: ServicesEntry;
  /** The environment every service gets (ENVIRONMENT, REDIS_URL, PATH, …); the drill adds the rest. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  /** The API's metrics database; the scratch database itself when the metrics live beside the data. */
  readonly metricsUrl?: string | undefined;
  /** The listener's chain settings (BSC_RPC_URL, CHAIN_ID, FUND_ADDRESS, …). */
  readonly chainEnv: Readonly<Record<string, string>> & { readonly BSC_RPC_URL: string };
  readonly redisUrl: string;
  readonly redisCluster: boolean;
  readonly targets?: { readonly rpoSeconds: number; readonly rtoSeconds: number };
  readonly timeouts?: { readonly apiReadyMs: number; readonly catchUpMs: number };
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

interface Source {
  readonly backupId: string;
  readonly startedAt: Date;
  readonly snapshotAt: Date;
  readonly tables: Record<string, number>;
  readonly digests: Record<string, TableDigest>;
  readonly listenerBlock: string | null;
}

/**
 * Takes the drill's backup, with the source's checksums and the database's time in its snapshot.
 * The drill's signal stops it wherever it is: the checksums, pg_dump, the upload.
 */
async function backUp(options: DrillOptions): Promise<Source> {
  let digests: Record<string, TableDigest> = {};
  let snapshotAt = new Date(Number.NaN);
  const result = await makeBackup({
    kind: "postgres",
    store: options.store,
    ...(options.now ? { now: options.now } : {}),
    signal: options.signal,
    produce: async (directory) => {
      const { file, snapshot } = await dumpPostgres({
        url: options.sourceUrl,
        directory,
        sslRootCert: options.sslRootCert,
        signal: options.signal,
        inSnapshot: async (client) => {
          // The point in time the snapshot is, by the server's clock: what RDS restores to.
          const clock = await client.query<{ at: Date }>("select clock_timestamp() as at");
          snapshotAt = clock.rows[0]?.at ?? snapshotAt;
          digests = await tableChecksums(client);
        },
      });
      return {
        files: [file],
        tables: snapshot.tables,
        position: { wal_lsn: snapshot.walLsn, listener_block: snapshot.listenerBlock },
        source: { server_version: snapshot.serverVersion, database: snapshot.database },
      };
    },
  });
  return {
    backupId: result.manifest.id,
    startedAt: new Date(result.manifest.started_at),
    snapshotAt,
    tables: result.manifest.tables,
    digests,
    listenerBlock: result.manifest.position.listener_block,
  };
}

/** A promise that rejects with the signal's reason when it aborts, for a race; none without one. */
function stopped(signal: AbortSignal | undefined): Promise<never> {
  const never = new Promise<never>((_, reject) => {
    if (signal?.aborted === true) reject(signal.reason as Error);
    else
      signal?.addEventListener(
        "abort",
        () => {
          reject(signal.reason as Error);
        },
        { once: true },
      );
  });
  never.catch(() => undefined);
  return never;
}

/** Resolves once `GET /v1/fund` answers 200; fails if the API exits, the deadline passes or the drill stops. */
async function fundServed(api: RunningService, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const port = await Promise.race([
    api.port,
    stopped(signal),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          reject(new Error("the API did not listen within the drill's time"));
        },
        remaining(deadline, "the API"),
      );
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
  const url = `http://127.0.0.1:${String(port)}/v1/fund`;
  let last = "no answer";
  for (;;) {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch((error: unknown) => {
      last = (error as Error).message;
      return undefined;
    });
    if (response?.status === 200) return;
    if (response) last = `${response.status} ${await response.text()}`;
    if (Date.now() > deadline) throw new Error(`GET /v1/fund on the restored data: ${last}`);
    await pause(API_POLL_MS, api);
    signal?.throwIfAborted();
  }
}

/** Resolves with the listener's cursor once it has reached `head`. */
async function caughtUp(
  listener: RunningService,
  url: string,
  sslRootCert: string | undefined,
  head: number,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<bigint> {
  return withClient(
    url,
    sslRootCert,
    async (client) => {
      for (;;) {
        const row = await client.query<{ block: string }>(
          "select block_number::text as block from sync_checkpoints where name = 'event-listener'",
        );
        const block = row.rows[0]?.block;
        if (block !== undefined && BigInt(block) >= BigInt(head)) return BigInt(block);
        if (Date.now() > deadline)
          throw new Error(
            `the listener did not catch up: cursor at ${block ?? "none"}, the head was ${head} when it started\n${listener.tail()}`,
          );
        await pause(CURSOR_POLL_MS, listener);
        signal?.throwIfAborted();
      }
    },
    signal,
  );
}

const seconds = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 1000);

/** Runs the drill; resolves with its record, passed or not. */
export async function runDrill(options: DrillOptions): Promise<DrillRecord> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const targets = options.targets ?? DRILL_TARGETS;
  const timeouts = options.timeouts ?? DRILL_TIMEOUTS;
  const { signal } = options;
  const startedAt = now();
  const id = drillId(startedAt);
  const problems: string[] = [];
  /** Why the drill failed: the stop, when it was stopped, whatever the step that gave way. */
  const failure = (error: unknown) =>
    signal?.aborted === true ? (signal.reason as Error).message : (error as Error).message;

  let swept: Sweep["swept"] = [];
  if (options.sweep) {
    try {
      const sweep = await options.sweep(startedAt);
      swept = sweep.swept;
      problems.push(...sweep.problems);
      for (const { name, since } of swept)
        log(`${id}: deleting ${name}, left behind by the drill of ${since.toISOString()} (not waiting for it)`);
    } catch (error) {
      problems.push(`earlier drills' scratches could not be swept: ${(error as Error).message}`);
    }
  }
  const sweptRecord = options.sweep
    ? { swept: swept.map(({ name, since }) => ({ scratch: name, since: since.toISOString() })) }
    : {};

  const scratch = options.scratch(id);
  log(`${id}: backing up the source`);
  let source: Source;
  try {
    signal?.throwIfAborted();
    source = await backUp(options);
  } catch (error) {
    return {
      format: 1,
      id,
      started_at: startedAt.toISOString(),
      completed_at: now().toISOString(),
      passed: false,
      problems: [
        ...problems,
        signal?.aborted === true ? failure(error) : `the backup failed: ${(error as Error).message}`,
      ],
      ...sweptRecord,
      backup_id: null,
      restore: { method: scratch.method, scratch: scratch.name, started_at: null },
      rpo: null,
      rto: null,
      replay: null,
      tables: [],
    };
  }
  log(`${id}: backup ${source.backupId} made (listener at block ${source.listenerBlock ?? "none"})`);

  const services: RunningService[] = [];
  // The drill's listener hands its work to queues of its own, never the live ones.
  const queuePrefix = `{paimon-drill-${randomBytes(4).toString("hex")}}`;
  let restoreStartedAt: Date | undefined;
  let apiReadyAt: Date | undefined;
  let tables: DrillRecord["tables"] = [];
  let replay: DrillRecord["replay"] = null;
  try {
    signal?.throwIfAborted();
    restoreStartedAt = now();
    log(`${id}: restoring into ${scratch.name} (${scratch.method})`);
    const url = await scratch.restore({ id: source.backupId, snapshotAt: source.snapshotAt });
    const restored = await withClient(
      url,
      options.sslRootCert,
      async (client) => {
        await client.query("begin isolation level repeatable read read only");
        try {
          return await tableChecksums(client);
        } finally {
          await client.query("rollback");
        }
      },
      signal,
    );
    const compared = compareTables(source.tables, source.digests, restored);
    tables = compared.map((table) => ({
      table: table.table,
      backup_rows: table.backupRows,
      restored_rows: table.restoredRows,
      source_md5: table.sourceMd5,
      restored_md5: table.restoredMd5,
      equal: table.equal,
    }));
    problems.push(...compared.filter((table) => !table.equal).map(describeDifference));
    log(`${id}: ${compared.filter((table) => table.equal).length} of ${compared.length} tables equal`);

    const api = startService(options.entry, "api", {
      ...options.serviceEnv,
      DATABASE_URL: url,
      METRICS_DATABASE_URL: options.metricsUrl ?? url,
      PORT: "0",
      // A key of its own: no operator token of the live API is valid here.
      JWT_SECRET: randomBytes(32).toString("hex"),
    });
    services.push(api);
    await fundServed(api, Date.now() + timeouts.apiReadyMs, signal);
    apiReadyAt = now();
    log(`${id}: the API on the restored data answers GET /v1/fund`);

    const provider = new JsonRpcProvider(options.chainEnv.BSC_RPC_URL, undefined, { staticNetwork: true });
    let head: number;
    try {
      head = await Promise.race([provider.getBlockNumber(), stopped(signal)]);
    } finally {
      provider.destroy();
    }
    const listener = startService(options.entry, "event-listener", {
      ...options.serviceEnv,
      ...options.chainEnv,
      DATABASE_URL: url,
      HEALTH_PORT: "0",
      QUEUE_PREFIX: queuePrefix,
    });
    services.push(listener);
    log(`${id}: the listener catches up from block ${source.listenerBlock ?? "none"} to ${head}`);
    const cursor = await caughtUp(listener, url, options.sslRootCert, head, Date.now() + timeouts.catchUpMs, signal);
    const from = source.listenerBlock;
    const events = await withClient(
      url,
      options.sslRootCert,
      async (client) => {
        const result = await client.query<{ count: string }>(
          "select count(*)::text as count from chain_events where block_number > $1",
          [from ?? "-1"],
        );
        return Number(result.rows[0]?.count ?? 0);
      },
      signal,
    );
    replay = {
      from_block: from,
      to_block: cursor.toString(),
      blocks: Number(cursor - BigInt(from ?? "-1")),
      events,
    };
    log(`${id}: the chain replay re-read ${replay.blocks} blocks and ${events} events`);
  } catch (error) {
    problems.push(failure(error));
  } finally {
    if (signal?.aborted === true) log(`${id}: ${(signal.reason as Error).message}: cleaning up`);
    // A stopped RDS scratch has had its deletion requested already (rdsScratch); the rest goes now.
    await Promise.all(services.map((service) => service.stop()));
    await scratch.drop().catch((error: unknown) => {
      problems.push(`the scratch ${scratch.name} could not be removed: ${(error as Error).message}`);
    });
    const redis = createRedisClient(options.redisUrl, { cluster: options.redisCluster });
    try {
      await redis.connect();
      await deleteKeys(redis, `${queuePrefix}:*`);
    } catch (error) {
      problems.push(`the drill's queues ${queuePrefix} could not be removed: ${(error as Error).message}`);
    } finally {
      redis.disconnect();
    }
  }

  const rpo =
    restoreStartedAt === undefined
      ? null
      : (() => {
          const value = seconds(source.startedAt, restoreStartedAt);
          return { seconds: value, target_seconds: targets.rpoSeconds, met: value < targets.rpoSeconds };
        })();
  const rto =
    restoreStartedAt === undefined || apiReadyAt === undefined
      ? null
      : (() => {
          const value = seconds(restoreStartedAt, apiReadyAt);
          return {
            seconds: value,
            target_seconds: targets.rtoSeconds,
            met: value < targets.rtoSeconds,
            api_ready_at: apiReadyAt.toISOString(),
          };
        })();
  if (rpo && !rpo.met) problems.push(`RPO ${rpo.seconds.toFixed(0)} s is over the target of ${rpo.target_seconds} s`);
  if (rto && !rto.met) problems.push(`RTO ${rto.seconds.toFixed(0)} s is over the target of ${rto.target_seconds} s`);
  return {
    format: 1,
    id,
    started_at: startedAt.toISOString(),
    completed_at: now().toISOString(),
    passed: problems.length === 0 && rpo !== null && rto !== null && replay !== null,
    problems,
    ...sweptRecord,
    backup_id: source.backupId,
    restore: {
      method: scratch.method,
      scratch: scratch.name,
      started_at: restoreStartedAt?.toISOString() ?? null,
    },
    rpo,
    rto,
    replay,
    tables,
  };
}
