/**
 * A BullMQ worker on one queue of the contract: each job's payload is checked before its handler
 * runs; a job whose payload is wrong, or whose handler fails for a reason retrying cannot fix,
 * fails at once with that reason (BullMQ's UnrecoverableError) and the worker goes on; anything
 * else is retried with the producer's backoff. Every outcome is logged and counted.
 */
import { setTimeout as delay } from "node:timers/promises";
import { AppError } from "@paimon/core/errors";
import type { Logger } from "@paimon/core/logger";
import type { Metrics } from "@paimon/core/metrics";
import { parsePayload, type Payload, type QueueName } from "@paimon/core/queues";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { RedisClient } from "@paimon/core/redis";

export interface QueueWorkerOptions<Q extends QueueName> {
  readonly queue: Q;
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ's workers require. */
  readonly connection: RedisClient;
  readonly prefix: string;
  readonly logger: Logger;
  readonly jobs: Metrics["paimon_jobs_total"];
  readonly lockDurationMs: number;
  readonly maxStalledCount: number;
  /** @default 1 */
  readonly concurrency?: number;
  readonly handle: (payload: Payload<Q>, job: Job, signal: AbortSignal | undefined) => Promise<unknown>;
}

export interface QueueWorker {
  /** Whether it is taking jobs. */
  running(): boolean;
  /**
   * Stops taking jobs and waits for the current ones; past `drainTimeoutMs` they are cancelled
   * (their handlers see the abort) and released to be taken again.
   */
  close(drainTimeoutMs: number): Promise<void>;
}

/** How long cancelled handlers have to give up before the worker stops waiting for them. */
const CANCEL_GRACE_MS = 2_000;

export function startQueueWorker<Q extends QueueName>(options: QueueWorkerOptions<Q>): QueueWorker {
  const { queue, logger } = options;
  const worker = new Worker(
    queue,
    async (job: Job, _token?: string, signal?: AbortSignal) => {
      let payload: Payload<Q>;
      try {
        payload = parsePayload(queue, job.data);
      } catch (error) {
        throw new UnrecoverableError((error as Error).message);
      }
      try {
        return await options.handle(payload, job, signal);
      } catch (error) {
        if (error instanceof AppError && !error.retryable) {
          throw new UnrecoverableError(`${error.code}: ${error.message}`);
        }
        throw error;
      }
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      maxStalledCount: options.maxStalledCount,
      autorun: true,
    },
  );
  worker.on("completed", (job) => {
    options.jobs.inc({ queue, outcome: "completed" });
    logger.debug("job completed", { queue, job_id: job.id });
  });
  worker.on("failed", (job, error) => {
    const final =
      job === undefined || error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    options.jobs.inc({ queue, outcome: final ? "failed" : "retrying" });
    const fields = { queue, job_id: job?.id, attempts: job?.attemptsMade, reason: error.message, error };
    if (final) logger.error("job failed", fields);
    else logger.warn("job failed; it will be retried", fields);
  });
  worker.on("error", (error) => {
    // Connection trouble: BullMQ reconnects on its own; the job in hand is retried or stalls.
    logger.warn("queue worker error", { queue, error });
  });
  return {
    running: () => worker.isRunning(),
    async close(drainTimeoutMs) {
      const closing = worker.close();
      const drained = await Promise.race([closing.then(() => true), delay(drainTimeoutMs, false, { ref: false })]);
      if (!drained) {
        // A cancelled handler fails its job, which is retried; one that ignores the signal keeps its
        // lock until it expires, and the job is then taken again (handlers are idempotent).
        logger.warn("jobs still running at the drain deadline; releasing them", { queue });
        worker.cancelAllJobs("shutting down");
        await Promise.race([closing, delay(CANCEL_GRACE_MS, undefined, { ref: false })]);
      }
    },
  };
}
