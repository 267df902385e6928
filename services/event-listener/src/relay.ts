/**
 * The outbox relay: work committed with its block reaches the BullMQ queues afterwards. Rows are
 * read in commit order — those for the risk monitor at once, irreversible ones (settlements,
 * rebalance confirmations) only once their block is final — added to their queue with the job id
 * the row carries (derived from the event, so a replay or a crash between "added" and "marked
 * sent" makes the same job, which BullMQ keeps once), then marked sent.
 *
 * Redis failing (refused, or stalled past the producer connection's command timeout) fails the
 * relay with a `RedisUnavailableError` and leaves the rows unsent for the next attempt; the queue
 * handles are then made anew, since one whose setup failed would keep failing.
 */
import type { Database } from "@paimon/core/db";
import { AppError } from "@paimon/core/errors";
import { Queue } from "bullmq";
import type { RedisClient } from "@paimon/core/redis";
import { sql, type Kysely } from "kysely";
import { JOB_OPTIONS, PRIORITY, QUEUE_NAMES, type PriorityName } from "@paimon/core/queues";

export interface Relay {
  /** Relays everything releasable up to `finalized`; returns how many jobs it added. */
  relay(finalized: bigint): Promise<number>;
  /** Rows committed but not yet sent. */
  backlog(): Promise<number>;
  /** Waiting jobs across the queues, by priority name. */
  queueSizes(): Promise<Record<PriorityName, number>>;
  close(): Promise<void>;
}

const BATCH = 1_000;

/** Redis did not take the work: it stays in the outbox. */
export class RedisUnavailableError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("redis_unavailable", message, { status: 503, retryable: true, ...options });
    this.name = "RedisUnavailableError";
  }
}

const redisFailure = (error: unknown) =>
  error instanceof RedisUnavailableError
    ? error
    : new RedisUnavailableError(`Redis: ${error instanceof Error ? error.message : String(error)}`, { cause: error });

export function createRelay(options: {
  readonly db: Kysely<Database>;
  readonly connection: RedisClient;
  readonly prefix: string;
}): Relay {
  // BullMQ waits for a connection that is not ready rather than failing: check first, so an
  // outage makes the relay fail (and retry next step) instead of hanging the follower.
  const ready = () => {
    if (options.connection.status !== "ready") {
      throw new RedisUnavailableError(`Redis is ${options.connection.status}; the work stays in the outbox`);
    }
  };
  /**
   * The queue handles, each with its setup settled or not. A handle is closed only once its setup
   * has settled: closed before, BullMQ would let that setup's failure escape as an unhandled
   * rejection (it stops listening when it closes).
   */
  const queues = new Map<string, { readonly queue: Queue; readonly settled: Promise<void> }>();
  /** Handles dropped after a failure, closing once their setup settles (close() waits for them). */
  const closing = new Set<Promise<void>>();
  const handle = (name: string) => {
    let existing = queues.get(name);
    if (!existing) {
      const q = new Queue(name, { connection: options.connection, prefix: options.prefix });
      existing = {
        queue: q,
        settled: q.waitUntilReady().then(
          () => undefined,
          () => undefined,
        ),
      };
      queues.set(name, existing);
    }
    return existing;
  };
  const queue = (name: string) => handle(name).queue;
  for (const name of QUEUE_NAMES) handle(name);
  const closeHandle = ({ queue: q, settled }: { readonly queue: Queue; readonly settled: Promise<void> }) => {
    const closed = settled.then(() => q.close()).catch(() => undefined);
    closing.add(closed);
    void closed.finally(() => closing.delete(closed));
    return closed;
  };
  /** After a Redis failure: new handles next time (one whose setup timed out stays failed). */
  const renew = () => {
    for (const h of queues.values()) void closeHandle(h);
    queues.clear();
  };
  /** Runs a Redis operation: its failure is a RedisUnavailableError, and renews the handles. */
  const onRedis = async <T>(operation: () => Promise<T>): Promise<T> => {
    ready();
    try {
      return await operation();
    } catch (error) {
      renew();
      throw redisFailure(error);
    }
  };

  return {
    async relay(finalized) {
      ready();
      let total = 0;
      for (;;) {
        const rows = await options.db
          .selectFrom("outbox")
          .select(["id", "queue", "job_id", "priority", "payload"])
          .where("sent_at", "is", null)
          .where((eb) => eb.or([eb("await_finality", "=", false), eb("block_number", "<=", finalized.toString())]))
          .orderBy("id")
          .limit(BATCH)
          .execute();
        if (rows.length === 0) return total;
        const byQueue = new Map<string, typeof rows>();
        for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
        await onRedis(async () => {
          for (const [name, jobs] of byQueue) {
            await queue(name).addBulk(
              jobs.map((row) => ({
                name,
                data: row.payload,
                opts: { ...JOB_OPTIONS, jobId: row.job_id, priority: row.priority },
              })),
            );
          }
        });
        await options.db
          .updateTable("outbox")
          .set({ sent_at: sql<Date>`now()` })
          .where(
            "id",
            "in",
            rows.map((row) => row.id),
          )
          .execute();
        total += rows.length;
        if (rows.length < BATCH) return total;
      }
    },
    async backlog() {
      const row = await options.db
        .selectFrom("outbox")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .where("sent_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
    queueSizes: () =>
      onRedis(async () => {
        const sizes = { high: 0, normal: 0, low: 0 };
        for (const name of QUEUE_NAMES) {
          const counts = await queue(name).getCountsPerPriority(Object.values(PRIORITY));
          for (const [priority, value] of Object.entries(PRIORITY) as [PriorityName, number][]) {
            sizes[priority] += counts[String(value)] ?? 0;
          }
        }
        return sizes;
      }),
    async close() {
      for (const h of queues.values()) void closeHandle(h);
      queues.clear();
      // With Redis there, every setup settles within a command timeout and every handle closes.
      // With Redis away a setup waits for it (or for the connection to end): its handle closes
      // then, and shutdown does not wait for that.
      if (options.connection.status === "ready") await Promise.all([...closing]);
    },
  };
}
