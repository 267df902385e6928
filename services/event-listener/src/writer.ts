/**
 * Exactly one active writer. The listener takes a PostgreSQL session advisory lock on a
 * connection of its own and does every write through that same connection: while it holds the
 * lock nobody else writes, and if the connection dies the lock is released *and* no further write
 * can be made through it — a standby asking for the lock takes over. (A Deployment's `Recreate`
 * strategy is not a lock: for a moment two pods can run.)
 *
 * Nothing here waits without a bound. Connecting has a deadline; a standby asks for the lock with
 * `pg_try_advisory_lock` every `lockPollMs` instead of blocking in `pg_advisory_lock`, so a dead
 * connection is noticed (and reported as such) rather than taken for a lock held elsewhere; every
 * statement is cancelled by PostgreSQL past `timeoutMs` (`statement_timeout`), and one that gets
 * no answer at all a little later gives the connection up: a connection that stopped answering
 * may still hold the lock on the server, but it can never be written through again, and the
 * writer that replaces it takes the lock anew and starts from the committed checkpoint.
 */
import { setTimeout as delay } from "node:timers/promises";
import { pgConnection, type Database } from "@paimon/core/db";
import {
  Kysely,
  PostgresDialect,
  type PostgresCursor,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";
import pg from "pg";

export interface Writer {
  /**
   * The leader's database handle: every query runs on the lock-holding connection, one at a time
   * (a transaction has it to itself until it ends).
   */
  readonly db: Kysely<Database>;
  /** Rejects when the connection is lost (the lock with it): the process must stop writing. */
  readonly lost: Promise<never>;
  /** True once the connection (and the lock) is gone. */
  isLost(): boolean;
  close(): Promise<void>;
}

export interface WriterOptions {
  readonly url: string;
  readonly chainId: number;
  /** Called once if the lock is not free at once (another instance is the writer). */
  readonly onWaiting?: () => void;
  /** Aborting gives up connecting or waiting (shutdown of a standby). */
  readonly signal?: AbortSignal;
  /** Connecting, and each statement. @default 30_000 */
  readonly timeoutMs?: number;
  /** How often a standby asks for the lock. @default 1_000 */
  readonly lockPollMs?: number;
}

/** The lock's key: one writer per chain, whatever the database is shared with. */
export const lockKey = (chainId: number) => `paimon:event-listener:${String(chainId)}`;

/** How long past `statement_timeout` a statement may go unanswered before its connection is given up. */
export const answerDeadlineMs = (timeoutMs: number) => timeoutMs + Math.max(1_000, Math.round(timeoutMs / 2));

/**
 * Connects, waits for the lock (as long as another instance holds it), and returns the writer.
 * Rejects if the database cannot be reached or stops answering meanwhile (the caller retries).
 */
export async function acquireWriter(options: WriterOptions): Promise<Writer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = new pg.Client({
    // The same TLS as every pool: the CA an RDS URL's `sslmode=verify-full` needs.
    ...pgConnection(options.url),
    application_name: "paimon-event-listener",
    connectionTimeoutMillis: timeoutMs,
    // A write may not take forever, and a transaction whose client went silent must not hold its
    // locks (the advisory lock is the session's, and goes when the session does).
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: timeoutMs,
    // A half-open connection would hold the lock until the server's own keepalive gave up.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  let dead: Error | undefined;
  let rejectLost: (error: Error) => void = () => undefined;
  const lost = new Promise<never>((_resolve, reject) => {
    rejectLost = reject;
  });
  lost.catch(() => undefined);
  const markLost = (error: Error) => {
    if (dead) return;
    dead = error;
    rejectLost(error);
  };
  /** Gives the connection up for good: nothing more can be sent through it. */
  const giveUp = (error: Error) => {
    markLost(error);
    // With a statement outstanding, `end()` destroys the socket rather than wait for the server.
    client.end().catch(() => undefined);
  };
  client.on("error", (error) => {
    markLost(error);
  });
  client.on("end", () => {
    markLost(new Error("the writer's database connection closed"));
  });

  const answerMs = answerDeadlineMs(timeoutMs);
  /** One statement, bounded: no answer in time gives the connection (and the lock) up. */
  const query = async <R extends object>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>> => {
    if (dead) throw dead;
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`the database did not answer within ${String(answerMs)} ms`);
        giveUp(error);
        reject(error);
      }, answerMs);
    });
    try {
      return await Promise.race([client.query<R>(text, values === undefined ? undefined : [...values]), unanswered]);
    } finally {
      clearTimeout(timer);
    }
  };

  const abort = () => {
    giveUp(new Error("shutting down"));
  };
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    await client.connect();
    const key = lockKey(options.chainId);
    let announced = false;
    for (;;) {
      const free = await query<{ locked: boolean }>("select pg_try_advisory_lock(hashtext($1)) as locked", [key]);
      if (free.rows[0]?.locked === true) break;
      if (!announced) options.onWaiting?.();
      announced = true;
      await Promise.race([delay(options.lockPollMs ?? 1_000, undefined, { signal: options.signal }), lost]);
    }
  } catch (error) {
    giveUp(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }

  // One connection, never replaced (a reconnect would be a connection without the lock), lent to
  // one user at a time: a transaction holds it until it commits, nobody's statement runs inside it.
  let free: Promise<void> = Promise.resolve();
  function poolQuery<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  function poolQuery<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  function poolQuery<R>(
    sql: string | PostgresCursor<R>,
    parameters?: readonly unknown[],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== "string") throw new Error("the writer's connection does not stream");
    return query<R & object>(sql, parameters) as unknown as Promise<PostgresQueryResult<R>>;
  }
  const lend = async (): Promise<PostgresPoolClient> => {
    if (dead) throw dead;
    const previous = free;
    let giveBack: () => void = () => undefined;
    free = new Promise<void>((resolve) => {
      giveBack = resolve;
    });
    await previous;
    let returned = false;
    return {
      query: poolQuery,
      release: (destroy?: boolean) => {
        if (returned) return;
        returned = true;
        // Kysely discards a connection whose rollback failed: it is in no known state, so neither is the lock.
        if (destroy === true) giveUp(new Error("the writer's connection failed to roll a transaction back"));
        giveBack();
      },
    };
  };
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: {
        connect: lend,
        end: () => client.end(),
      },
    }),
  });
  return {
    db,
    lost,
    isLost: () => dead !== undefined,
    async close() {
      markLost(new Error("the writer closed"));
      await db.destroy().catch(() => undefined);
      // Kysely ends its pool only if it ever ran a query: the lock's connection is ended here.
      await client.end().catch(() => undefined);
    },
  };
}
