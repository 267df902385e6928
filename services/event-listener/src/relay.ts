/**
 * The outbox relay: work committed with its block reaches the BullMQ queues afterwards. Rows are
 * read in commit order — those for the risk monitor at once, irreversible ones (settlements,
 * rebalance confirmations) only once their block is final — added to their queue with the job id
 * the row carries (derived from the event, so a replay or a crash between "added" and "marked
 * sent" makes the same job, which BullMQ keeps once), then marked sent.
 */
import type { Database } from "@paimon/core/db";
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

export function createRelay(options: {
  readonly db: Kysely<Database>;
  readonly connection: RedisClient;
  readonly prefix: string;
}): Relay {
  // BullMQ waits for a connection that is not ready rather than failing: check first, so an
  // outage makes the relay fail (and retry next step) instead of hanging the follower.
  const ready = () => {
    if (options.connection.status !== "ready") {
      throw new Error(`redis is ${options.connection.status}; the work stays in the outbox`);
    }
  };
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let existing = queues.get(name);
    if (!existing) {
      existing = new Queue(name, { connection: options.connection, prefix: options.prefix });
      queues.set(name, existing);
    }
    return existing;
  };
  for (const name of QUEUE_NAMES) queue(name);

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
        for (const [name, jobs] of byQueue) {
          await queue(name).addBulk(
            jobs.map((row) => ({
              name,
              data: row.payload,
              opts: { ...JOB_OPTIONS, jobId: row.job_id, priority: row.priority },
            })),
          );
        }
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
    async queueSizes() {
      ready();
      const sizes = { high: 0, normal: 0, low: 0 };
      for (const q of queues.values()) {
        const counts = await q.getCountsPerPriority(Object.values(PRIORITY));
        for (const [name, priority] of Object.entries(PRIORITY) as [PriorityName, number][]) {
          sizes[name] += counts[String(priority)] ?? 0;
        }
      }
      return sizes;
    },
    async close() {
      // A queue closed while it is still setting its connection up leaves that setup to reject
      // with nobody listening (seen on a Redis Cluster); with Redis there, each finishes first.
      // (With Redis away the setup would wait for it: the queues close at once.)
      const reachable = options.connection.status === "ready";
      await Promise.all(
        [...queues.values()].map(async (q) => {
          if (reachable) await q.waitUntilReady().catch(() => undefined);
          await q.close();
        }),
      );
    },
  };
}
