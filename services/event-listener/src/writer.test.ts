/**
 * Two listeners on one database: the advisory lock lets exactly one write. The other serves
 * `/health` but not `/health/ready`, never follows, and takes over at once when the writer dies
 * without a goodbye (SIGKILL: only PostgreSQL noticing the closed connection frees the lock).
 */
import { Channel } from "@paimon/contracts";
import type { TestDatabase } from "@paimon/core/testing";
import { describe, expect, vi } from "vitest";
import { test } from "./fixture";
import {
  asHolder,
  eventsOnChain,
  getHealth,
  listenerEnv,
  metricValue,
  mineBlocks,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursor,
  waitForLine,
  type Chain,
  type ListenerProcess,
} from "./testing";

const WAITING = "another instance is the writer; waiting for its lock";
const ACQUIRED = "writer lock acquired";

/** A few blocks of fund activity: batch and single requests, a settlement, a revaluation. */
async function someEvents(chain: Chain): Promise<void> {
  const [alice, bob] = chain.holders;
  const first = await chain.fund.nextRedemptionId();
  await (await asHolder(chain, alice!).requestRedemptions([1_000n, 2_000n], Channel.Instant)).wait();
  await (await asHolder(chain, bob!).requestRedemption(3_000n, Channel.Standard)).wait();
  await (await chain.fund.settleRedemption(first)).wait();
  await (await chain.fund.reportLayerValues(5_000_000n, 7_000_000n)).wait();
}

const messages = (listener: ListenerProcess) => listener.lines().map((line) => line["message"]);

async function storedEvents(database: TestDatabase) {
  const rows = await database.db
    .selectFrom("chain_events")
    .select(["block_hash", "log_index", "event_type"])
    .orderBy("block_number")
    .orderBy("log_index")
    .execute();
  return rows.map((e) => [e.block_hash, e.log_index, e.event_type]);
}

describe("two event listeners on one database", () => {
  test("when a second starts beside the writer, then it stands by unready and only the writer advances; when the writer is SIGKILLed, then the standby takes over and what follows lands once", async ({
    chain,
    database,
  }) => {
    const env = listenerEnv(chain, database.url);
    const queues = testQueues(env.QUEUE_PREFIX);
    const a = spawnListener(env);
    let b: ListenerProcess | undefined;
    try {
      await waitForLine(a, ACQUIRED);
      const portA = await a.port;
      await vi.waitFor(
        async () => {
          expect((await getHealth(portA, "/health/ready")).status).toBe(200);
        },
        { timeout: 30_000, interval: 50 },
      );

      b = spawnListener(env);
      const standby = b;
      await waitForLine(standby, WAITING);
      const portB = await standby.port;
      expect(await getHealth(portB, "/health/ready")).toEqual({
        status: 503,
        body: {
          status: "unready",
          checks: { role: "standby", reason: "another instance is the writer" },
        },
      });
      expect(await getHealth(portB, "/health")).toEqual({
        status: 200,
        body: {
          status: "ok",
          role: "standby",
          reason: "another instance is the writer",
        },
      });

      await someEvents(chain);
      const head = await chain.provider.getBlockNumber();
      await waitForCursor(database.db, head);
      await vi.waitFor(
        async () => {
          expect(await metricValue(portA, "paimon_chain_last_processed_block")).toBe(head);
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(await metricValue(portB, "paimon_chain_last_processed_block")).toBe(0);
      expect(messages(standby)).not.toContain(ACQUIRED);
      expect(messages(standby)).not.toContain("following");
      expect((await getHealth(portB, "/health/ready")).status).toBe(503);
      expect(await storedEvents(database)).toEqual(
        (await eventsOnChain(chain)).map((e) => [e.blockHash, e.logIndex, e.name]),
      );

      a.child.kill("SIGKILL");
      expect((await a.exited).signal).toBe("SIGKILL");
      // Some of it before the standby holds the lock, some after: both must land, once.
      await someEvents(chain);
      await waitForLine(standby, ACQUIRED);
      await someEvents(chain);
      // Past the finality depth (2), so that the settlements are released too.
      await mineBlocks(chain, 3);
      const after = await chain.provider.getBlockNumber();
      await waitForCursor(database.db, after);
      await vi.waitFor(
        async () => {
          expect((await getHealth(portB, "/health/ready")).status).toBe(200);
          const unsent = await database.db.selectFrom("outbox").select("job_id").where("sent_at", "is", null).execute();
          expect(unsent).toEqual([]);
        },
        { timeout: 30_000, interval: 50 },
      );

      const truth = await eventsOnChain(chain);
      expect(await storedEvents(database)).toEqual(truth.map((e) => [e.blockHash, e.logIndex, e.name]));
      const redemptions = await database.db.selectFrom("redemptions").select("id").execute();
      expect(redemptions).toHaveLength(Number((await chain.fund.nextRedemptionId()) - 1n));
      const settlements = await queues.queues.find((queue) => queue.name === "settlements")!.getJobs();
      expect(settlements.map((job) => job.id).sort()).toEqual(
        truth
          .filter((e) => e.name === "RedemptionRequested")
          .map((e) => `redemption-${String(chain.devnet.chainId)}-${String(e.args[0])}`)
          .sort(),
      );
      expect(messages(standby).filter((message) => message === ACQUIRED)).toHaveLength(1);
    } finally {
      await stopListener(a);
      if (b) await stopListener(b);
      await queues.clean();
    }
    expect(await b.exited).toEqual({ code: 0, signal: null });
    expect(messages(b)).toContain("shut down");
    // Two tsx starts in a row, each up to 10–20 s on a loaded 2-core machine.
  }, 120_000);
});
