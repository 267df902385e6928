/**
 * The contract's BullMQ queues under a test's prefix, for the tests of what the listener feeds
 * (the listener's own, the workers'). Free of the devnet: importing it loads no Hardhat.
 */
import { JOB_OPTIONS, QUEUE_NAMES, type QueuedJob, type QueueName } from "@paimon/core/queues";
import { deleteKeys } from "@paimon/core/redis";
import { Queue, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";

/** This machine's Redis, where the tests' queues live. */
const REDIS = { host: "127.0.0.1", port: 6379 } as const;

/** Every queue of the contract under `prefix`; `clean()` closes them and removes every key of the prefix. */
export function testQueues(prefix: string) {
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix }));
  const get = (name: QueueName): Queue => {
    const queue = queues.find((candidate) => candidate.name === name);
    if (!queue) throw new Error(`no queue ${name} in the contract`);
    return queue;
  };
  return {
    queues,
    get,
    /** Adds `job` to its queue as the listener's relay would (the contract's options), with `overrides`. */
    async add(job: QueuedJob, overrides: JobsOptions = {}) {
      await get(job.queue).add(job.queue, job.payload, {
        ...JOB_OPTIONS,
        jobId: job.jobId,
        priority: job.priority,
        ...overrides,
      });
    },
    /** Closes, then removes every key under the test's prefix (whatever queue wrote it). */
    async clean() {
      await Promise.all(queues.map((queue) => queue.close()));
      const redis = new Redis(REDIS);
      try {
        await deleteKeys(redis, `${prefix}:*`);
      } finally {
        redis.disconnect();
      }
    },
  };
}
