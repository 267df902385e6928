/**
 * Exactly one active writer. The listener takes a PostgreSQL session advisory lock on a
 * connection of its own and does every write through that same connection: while it holds the
 * lock nobody else writes, and if the connection dies the lock is released *and* no further write
 * can be made through it — a standby blocked in `pg_advisory_lock` takes over at once. (A
 * Deployment's `Recreate` strategy is not a lock: for a moment two pods can run.)
 */
import { pgConnection, type Database } from "@paimon/core/db";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";

export interface Writer {
  /** The leader's database handle: every query runs on the lock-holding connection. */
  readonly db: Kysely<Database>;
  /** Rejects when the connection is lost (the lock with it): the process must stop writing. */
  readonly lost: Promise<never>;
  /** True once the connection (and the lock) is gone. */
  isLost(): boolean;
  close(): Promise<void>;
}

/** The lock's key: one writer per chain, whatever the database is shared with. */
export const lockKey = (chainId: number) => `paimon:event-listener:${String(chainId)}`;

/**
 * Connects, waits for the lock (as long as another instance holds it), and returns the writer.
 * `onWaiting` is called if the lock is not free at once.
 */
export async function acquireWriter(options: {
  readonly url: string;
  readonly chainId: number;
  readonly onWaiting?: () => void;
  /** Aborting gives up waiting (shutdown of a standby). */
  readonly signal?: AbortSignal;
}): Promise<Writer> {
  const client = new pg.Client({
    // The same TLS as every pool: the CA an RDS URL's `sslmode=verify-full` needs.
    ...pgConnection(options.url),
    application_name: "paimon-event-listener",
    // A half-open connection would hold the lock (and stall the writer) until the server's own
    // keepalive gave up, hours later: probe it (and, once the lock is held, bound every statement).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  let markLost: (error: Error) => void = () => undefined;
  const lost = new Promise<never>((_resolve, reject) => {
    markLost = reject;
  });
  lost.catch(() => undefined);
  client.on("error", (error) => {
    markLost(error);
  });
  client.on("end", () => {
    markLost(new Error("the writer's database connection closed"));
  });
  await client.connect();
  const abort = () => {
    void client.end();
  };
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    const key = lockKey(options.chainId);
    const free = await client.query<{ locked: boolean }>("select pg_try_advisory_lock(hashtext($1)) as locked", [key]);
    if (free.rows[0]?.locked !== true) {
      options.onWaiting?.();
      await client.query("select pg_advisory_lock(hashtext($1))", [key]);
    }
    // Waiting for the lock may take forever; a write may not.
    await client.query("set statement_timeout = '120s'");
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }
  let dead: Error | undefined;
  lost.catch((error: unknown) => {
    dead = error instanceof Error ? error : new Error(String(error));
  });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      // One connection, never replaced: a reconnect would be a connection without the lock.
      pool: {
        connect: () =>
          dead
            ? Promise.reject(dead)
            : Promise.resolve({
                query: client.query.bind(client),
                release: () => undefined,
              }),
        end: () => client.end(),
      },
    }),
  });
  return {
    db,
    lost,
    isLost: () => dead !== undefined,
    async close() {
      await db.destroy().catch(() => undefined);
    },
  };
}
