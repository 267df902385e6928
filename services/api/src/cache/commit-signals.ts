/**
 * What the API hears of the writers' commits (`@paimon/core/commit-signal`): one dedicated
 * connection per database, outside the pools, that LISTENs on that database's channels — the
 * chain's in the fund's database, the risk's in the metrics database (one connection when they
 * are the same database, as in development).
 *
 * A connection that is lost (a failover, `pg_terminate_backend`, a reset) is replaced with
 * exponential backoff and full jitter, however long the database takes to come back; one that goes
 * silent is found by a heartbeat and replaced the same way. Every time a connection listens again,
 * `listening` says so: whatever committed while it was not listening was not announced to it, and
 * the reader must re-check. Nothing here is fatal to the process.
 */
import { EventEmitter } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { COMMIT_CHANNELS, parseCommitSignal, type CommitChannel, type CommitSignal } from "@paimon/core/commit-signal";
import { pgConnection } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import pg from "pg";

export interface CommitSource {
  /** The database, by the URL its pool uses (TLS settings included). */
  readonly url: string;
  readonly channels: readonly CommitChannel[];
}

export interface CommitSignalsOptions {
  readonly sources: readonly CommitSource[];
  readonly logger: Logger;
  /** Opening a connection (TCP, TLS, startup) and each command on it (LISTEN, the heartbeat) must finish within this. */
  readonly timeoutMs: number;
  /** The first wait before listening again after a loss, and the ceiling the waits double up to. */
  readonly reconnect: { readonly startingDelayMs: number; readonly maxDelayMs: number };
  /** How often a listening connection is sent `select 1`: a silent one is replaced within this plus `timeoutMs`. */
  readonly heartbeatMs: number;
  /** The connections' `application_name`, as `pg_stat_activity` shows them. @default "paimon-api-commit-signals" */
  readonly applicationName?: string;
}

export interface CommitSignalsEvents {
  /** A writer's commit, parsed against the contract. */
  signal: [CommitSignal];
  /** A notification that broke the contract: something committed, but what is unknown. */
  malformed: [{ readonly channel: string; readonly error: Error }];
  /** `url`'s connection listens (again): whatever committed while it did not was not announced. */
  listening: [{ readonly url: string }];
  /** `url`'s connection is gone; another is being opened. */
  lost: [{ readonly url: string; readonly reason: string }];
}

export interface CommitSignals extends EventEmitter<CommitSignalsEvents> {
  /** Opens the connections (in the background: an unreachable database is retried, never thrown). */
  start(): void;
  /** Whether every connection listens now, and if not, why. */
  status(): { readonly listening: true } | { readonly listening: false; readonly reason: string };
  /** Closes the connections and stops reconnecting. */
  close(): Promise<void>;
}

/** A connection's failed attempts are logged: the first of an outage, then every so often (readiness says it meanwhile). */
const LOGGED_ATTEMPT_EVERY = 20;

/** Whether `signal` has aborted: a call, so that a check after an `await` is not narrowed away. */
const hasAborted = (signal: AbortSignal) => signal.aborted;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The sources grouped by database: one connection for every channel a database carries. */
export function groupSources(sources: readonly CommitSource[]): CommitSource[] {
  const byUrl = new Map<string, Set<CommitChannel>>();
  for (const source of sources) {
    const channels = byUrl.get(source.url) ?? new Set<CommitChannel>();
    for (const channel of source.channels) channels.add(channel);
    byUrl.set(source.url, channels);
  }
  return [...byUrl].map(([url, channels]) => ({ url, channels: COMMIT_CHANNELS.filter((c) => channels.has(c)) }));
}

/** The URL as logs may show it: host and database, never credentials. */
const hostOf = (url: string) => {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
};

export function createCommitSignals(options: CommitSignalsOptions): CommitSignals {
  const { logger } = options;
  const emitter = new EventEmitter<CommitSignalsEvents>();
  const stopping = new AbortController();
  const sources = groupSources(options.sources);
  /** Why each database's connection is not listening; absent while it is. */
  const down = new Map<string, string>(sources.map((source) => [source.url, "not connected yet"]));
  let runs: Promise<void>[] = [];

  /** One connection, listening on `source`'s channels; rejects (and leaves nothing open) if it cannot. */
  const connect = async (source: CommitSource): Promise<pg.Client> => {
    const client = new pg.Client({
      ...pgConnection(source.url),
      application_name: options.applicationName ?? "paimon-api-commit-signals",
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      keepAlive: true,
    });
    // Until it is watched below, an error of the connection must not crash the process.
    client.on("error", () => undefined);
    try {
      await client.connect();
      for (const channel of source.channels) await client.query(`listen ${client.escapeIdentifier(channel)}`);
      return client;
    } catch (error) {
      client.connection.stream.destroy();
      throw error;
    }
  };

  /** Resolves with why `client` stopped being usable: an error, its end, a heartbeat unanswered, or shutdown. */
  const untilLost = (client: pg.Client) =>
    new Promise<string>((resolve) => {
      const heartbeat = setInterval(() => {
        client.query("select 1").catch((error: unknown) => {
          finish(`heartbeat unanswered: ${messageOf(error)}`);
        });
      }, options.heartbeatMs);
      const finish = (reason: string) => {
        clearInterval(heartbeat);
        stopping.signal.removeEventListener("abort", onStop);
        resolve(reason);
      };
      const onStop = () => {
        finish("shutting down");
      };
      client.on("error", (error) => {
        finish(messageOf(error));
      });
      client.on("end", () => {
        finish("connection ended");
      });
      if (stopping.signal.aborted) onStop();
      else stopping.signal.addEventListener("abort", onStop, { once: true });
    });

  const run = async (source: CommitSource) => {
    const where = hostOf(source.url);
    for (let attempt = 0; !stopping.signal.aborted;) {
      let client: pg.Client;
      try {
        client = await connect(source);
      } catch (error) {
        attempt += 1;
        down.set(source.url, `cannot listen: ${messageOf(error)}`);
        if (attempt % LOGGED_ATTEMPT_EVERY === 1) {
          logger.warn("cannot listen for commit signals; retrying", { database: where, attempt, error });
        }
        // Full jitter: replicas that lost the database together do not come back in step.
        const ceiling = Math.min(options.reconnect.maxDelayMs, options.reconnect.startingDelayMs * 2 ** (attempt - 1));
        await delay(Math.random() * ceiling, undefined, { signal: stopping.signal }).catch(() => undefined);
        continue;
      }
      attempt = 0;
      down.delete(source.url);
      client.on("notification", (message) => {
        let signal: CommitSignal;
        try {
          signal = parseCommitSignal(message.channel, message.payload);
        } catch (error) {
          logger.warn("a commit signal broke the contract", { channel: message.channel, error });
          emitter.emit("malformed", { channel: message.channel, error: error as Error });
          return;
        }
        emitter.emit("signal", signal);
      });
      logger.info("listening for commit signals", { database: where, channels: source.channels });
      emitter.emit("listening", { url: source.url });
      const reason = await untilLost(client);
      if (hasAborted(stopping.signal)) {
        await closeClient(client);
        return;
      }
      client.connection.stream.destroy();
      down.set(source.url, `connection lost: ${reason}`);
      logger.warn("lost the commit signal connection; listening again", { database: where, reason });
      emitter.emit("lost", { url: source.url, reason });
    }
  };

  /** A goodbye within the timeout; a connection that does not answer it is cut. */
  const closeClient = async (client: pg.Client) => {
    const ended = client.end().then(
      () => true,
      () => false,
    );
    const timer = delay(options.timeoutMs, false, { ref: false });
    if (!(await Promise.race([ended, timer]))) client.connection.stream.destroy();
  };

  return Object.assign(emitter, {
    start() {
      if (runs.length > 0) return;
      runs = sources.map((source) => run(source));
    },
    status() {
      const reasons = [...down].map(([url, reason]) => `${hostOf(url)}: ${reason}`);
      return reasons.length === 0
        ? ({ listening: true } as const)
        : { listening: false as const, reason: reasons.join("; ") };
    },
    async close() {
      stopping.abort();
      await Promise.all(runs);
    },
  });
}
