/**
 * The writer's one connection, against a database that goes away: nothing waits on it without a
 * bound (connecting, a statement, a standby's wait for the lock), a connection given up is never
 * written through again (no reconnect: a new connection would not hold the lock), the lock is
 * free for the next writer once the old session is gone, and statements take the connection in
 * turn (one issued while a transaction is open never runs inside it).
 */
import { randomUUID } from "node:crypto";
import { outboxValues, queuedJob } from "@paimon/core/queues";
import { createTcpProxy } from "@paimon/core/testing/tcp-proxy";
import { sql } from "kysely";
import { describe, expect } from "vitest";
import { test as base } from "./fixture";
import { acquireWriter, answerDeadlineMs, type Writer } from "./writer";

const CHAIN_ID = 31337;
/**
 * Connecting, and each statement: longer than a pause of this process on a loaded machine (some
 * 15 s), so that no healthy connect or statement before the fault runs into it.
 */
const TIMEOUT_MS = 15_000;
/** Connecting to a path that never answers, where no healthy step comes first. */
const CONNECT_TIMEOUT_MS = 1_000;
/**
 * What a loaded machine's timers and scheduling may add to a bound: a pause of some 15 s, yet
 * short enough that each bound still tells the timeout given from the writer's 30 s default.
 */
const SLACK_MS = 20_000;

/** PostgreSQL behind a proxy the tests can cut and blackhole, and the file's database through it. */
const test = base
  // eslint-disable-next-line no-empty-pattern -- vitest requires an object pattern; this fixture has no dependencies
  .extend("proxy", { scope: "file" }, async ({}, { onCleanup }) => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    onCleanup(() => proxy.close());
    return proxy;
  })
  .extend("proxiedUrl", { scope: "file" }, ({ database, proxy }) => proxy.through(database.url));
const writers: Writer[] = [];

test.afterEach(async ({ proxy }) => {
  await proxy.set("forward");
  await Promise.all(writers.splice(0).map((writer) => writer.close()));
});

const acquire = async (
  url: string,
  options: { onWaiting?: () => void; signal?: AbortSignal; timeoutMs?: number } = {},
) => {
  const writer = await acquireWriter({
    url,
    chainId: CHAIN_ID,
    timeoutMs: TIMEOUT_MS,
    lockPollMs: 100,
    ...options,
  });
  writers.push(writer);
  return writer;
};

/** How long `promise` took to reject, and with what (it must reject). */
async function rejection(promise: Promise<unknown>) {
  const started = performance.now();
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, "it rejected").toBeInstanceOf(Error);
  return { error: error as Error, elapsed: performance.now() - started };
}

describe("the writer's connection", () => {
  test("when its connection is reset, then the writer is lost and its handle never writes again, even once the database is back; the next writer takes the lock", async ({
    database,
    proxy,
    proxiedUrl,
  }) => {
    const writer = await acquire(proxiedUrl);
    await writer.db.selectFrom("sync_checkpoints").selectAll().execute();
    const accepted = proxy.accepted();
    await proxy.cut();
    await rejection(writer.lost);
    expect(writer.isLost()).toBe(true);
    await proxy.restore();

    const { error } = await rejection(writer.db.selectFrom("sync_checkpoints").selectAll().execute());
    expect(error.message).not.toBe("");
    expect(proxy.accepted(), "no new connection was opened for the lost writer").toBe(accepted);
    // The server ended the old session, and its lock with it.
    const next = await acquire(database.url);
    expect(next.isLost()).toBe(false);
  });

  test("when the database stops answering mid-statement, then the statement fails within its deadline, the writer is lost, and the next writer gets the lock once the path is back", async ({
    database,
    proxy,
    proxiedUrl,
  }) => {
    const writer = await acquire(proxiedUrl);
    await proxy.set("blackhole");
    const { error, elapsed } = await rejection(writer.db.selectFrom("sync_checkpoints").selectAll().execute());
    expect(error.message).toMatch(/did not answer within/);
    expect(elapsed).toBeGreaterThanOrEqual(answerDeadlineMs(TIMEOUT_MS) - 50);
    expect(elapsed).toBeLessThan(answerDeadlineMs(TIMEOUT_MS) + SLACK_MS);
    expect(writer.isLost()).toBe(true);
    await proxy.set("forward");
    // Giving the connection up closed it: the server's session ended and released the lock.
    const next = await acquire(database.url);
    expect(next.isLost()).toBe(false);
  }, 120_000);

  test("when a standby waits for the lock and its database stops answering, then acquiring rejects within a deadline instead of waiting forever", async ({
    database,
    proxy,
    proxiedUrl,
  }) => {
    await acquire(database.url);
    let announce: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => {
      announce = resolve;
    });
    const standby = acquire(proxiedUrl, { onWaiting: announce });
    await waiting;
    await proxy.set("blackhole");
    const { error, elapsed } = await rejection(standby);
    expect(error.message).toMatch(/did not answer within/);
    expect(elapsed).toBeLessThan(answerDeadlineMs(TIMEOUT_MS) + SLACK_MS);
  }, 120_000);

  test("when the database accepts the connection and never answers, then connecting fails within its timeout", async ({
    proxy,
    proxiedUrl,
  }) => {
    await proxy.set("blackhole");
    const { elapsed } = await rejection(acquire(proxiedUrl, { timeoutMs: CONNECT_TIMEOUT_MS }));
    expect(elapsed).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
  });

  test("when a statement is issued while a transaction holds the connection, then it runs after the transaction, never inside it", async ({
    database,
  }) => {
    const writer = await acquire(database.url);
    const jobId = `rebalance-${randomUUID()}`;
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let finish: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const transaction = writer.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("outbox")
        .values({
          ...outboxValues(
            queuedJob("rebalance", {
              executionId: randomUUID(),
              trigger: "manual",
              reason: "test",
            }),
          ),
          job_id: jobId,
        })
        .execute();
      entered();
      await held;
      // An answer from the server: it comes in after `outside` has been issued (promise ticks, no I/O).
      await sql`select 1`.execute(trx);
      throw new Error("rolled back on purpose");
    });
    await inside;
    // Same session: run inside the open transaction, this would see its uncommitted row.
    const outside = writer.db.selectFrom("outbox").select("job_id").where("job_id", "=", jobId).execute();
    finish();
    await expect(transaction).rejects.toThrow("rolled back on purpose");
    expect(await outside).toEqual([]);
  });
});
