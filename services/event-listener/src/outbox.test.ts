/**
 * The outbox relay beyond the chain's own work: the API's operator requests (written to the same
 * outbox) reach their queue through the listener, and with Redis unreachable the listener still
 * follows the chain into PostgreSQL while the work waits in the outbox.
 */
import { PRIORITY, outboxValues, queuedJob } from "@paimon/core/queues";
import { randomUUID } from "node:crypto";
import { Channel } from "@paimon/contracts";
import { Queue } from "bullmq";
import { describe, expect, vi } from "vitest";
import { test } from "./fixture";
import { asHolder, listenerEnv, spawnListener, stopListener, testQueues, waitForCursor } from "./testing";

describe("the outbox relay", () => {
  test("when the API has queued a manual rebalance, then the listener relays it to the rebalance queue once", async ({
    chain,
    database,
  }) => {
    const env = listenerEnv(chain, database.url);
    const queues = testQueues(env.QUEUE_PREFIX);
    const rebalance = new Queue("rebalance", {
      connection: { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null },
      prefix: env.QUEUE_PREFIX,
    });
    const id = randomUUID();
    // The row as the API's POST /v1/rebalances writes it, through the queue contract.
    await database.db
      .insertInto("outbox")
      .values(
        outboxValues(
          queuedJob("rebalance", {
            executionId: id,
            trigger: "manual",
            reason: "test",
          }),
        ),
      )
      .execute();
    const listener = spawnListener(env);
    try {
      await vi.waitFor(
        async () => {
          const job = await rebalance.getJob(`rebalance-${id}`);
          expect(job?.data).toEqual({
            executionId: id,
            trigger: "manual",
            reason: "test",
          });
          expect(job?.opts.priority).toBe(PRIORITY.high);
          const row = await database.db
            .selectFrom("outbox")
            .select("sent_at")
            .where("job_id", "=", `rebalance-${id}`)
            .executeTakeFirstOrThrow();
          expect(row.sent_at).not.toBeNull();
        },
        // From the spawn: tsx's start (10–20 s on a loaded 2-core machine) comes first.
        { timeout: 60_000, interval: 50 },
      );
    } finally {
      await stopListener(listener);
      await rebalance.close();
      await queues.clean();
    }
  }, 120_000);

  test("when Redis is unreachable, then the chain is still followed into PostgreSQL and the work waits in the outbox", async ({
    chain,
    database,
  }) => {
    const [holder] = chain.holders;
    if (!holder) throw new Error("no holder");
    await (await asHolder(chain, holder).requestRedemption(1_000_000n, Channel.Instant)).wait();
    const head = await chain.provider.getBlockNumber();
    // Nothing listens on port 1.
    const listener = spawnListener({
      ...listenerEnv(chain, database.url),
      REDIS_URL: "redis://127.0.0.1:1",
    });
    try {
      await waitForCursor(database.db, head);
      const unsent = await database.db
        .selectFrom("outbox")
        .select("job_id")
        .where("queue", "=", "risk")
        .where("sent_at", "is", null)
        .execute();
      expect(unsent.length).toBeGreaterThan(0);
      expect(listener.child.exitCode).toBeNull();
    } finally {
      await stopListener(listener);
    }
    expect((await listener.exited).code).toBe(0);
  });
});
