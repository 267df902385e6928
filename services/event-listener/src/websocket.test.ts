/**
 * The listener's new-head subscription through a proxy that can cut the WebSocket: with polling
 * pushed out to a minute, only new heads wake it, so events landing promptly shows the
 * subscription works; after a cut it reconnects with backoff and fills the gap it missed.
 */
import { Channel } from "@paimon/contracts";
import type { Database } from "@paimon/core/db";
import { createTcpProxy } from "@paimon/core/testing/tcp-proxy";
import type { Kysely } from "kysely";
import { describe, expect } from "vitest";
import { test as base } from "./fixture";
import { CHECKPOINT } from "./checkpoint";
import { MAX_RECONNECT_DELAY_MS } from "./heads";
import {
  asHolder,
  eventsOnChain,
  listenerEnv,
  metricValue,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursor,
  waitForLine,
} from "./testing";

/** Far beyond what the test waits for anything: whatever wakes the listener, it is not the poll. */
const POLL_INTERVAL_MS = 60_000;
/** What "promptly" means here: a new head, not a poll, made the listener look. */
const PROMPT_MS = 10_000;

/** The devnet's WebSocket behind a proxy the test can cut. */
const test = base.extend("proxy", { scope: "file" }, async ({ chain }, { onCleanup }) => {
  const proxy = await createTcpProxy({
    host: "127.0.0.1",
    port: chain.devnet.port,
  });
  onCleanup(() => proxy.close());
  return proxy;
});

async function cursorNumber(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("sync_checkpoints")
    .select("block_number")
    .where("name", "=", CHECKPOINT)
    .executeTakeFirstOrThrow();
  return Number(row.block_number);
}

describe("the event listener's new-head subscription", () => {
  test("when the WebSocket is cut and restored, then the listener reconnects and fills the gap, each event once", async ({
    chain,
    database,
    proxy,
  }) => {
    const [alice, bob] = chain.holders;
    if (!alice || !bob) throw new Error("no holders");
    const { db } = database;
    const env = listenerEnv(chain, database.url, {
      BSC_WS_URL: `ws://127.0.0.1:${String(proxy.port)}`,
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const listener = spawnListener(env);
    try {
      const port = await listener.port;
      await waitForCursor(db, await chain.provider.getBlockNumber());

      await (await asHolder(chain, alice).requestRedemption(1_000_000n, Channel.Instant)).wait();
      await waitForCursor(db, await chain.provider.getBlockNumber(), PROMPT_MS);

      await proxy.cut();
      await (await asHolder(chain, bob).requestRedemptions([2_000_000n, 3_000_000n], Channel.Standard)).wait();
      await (await chain.fund.settleRedemption(1n)).wait();
      await (await chain.fund.reportLayerValues(5_000_000n, 7_000_000n)).wait();
      await (await asHolder(chain, alice).deposit(9_000_000n)).wait();
      const head = await chain.provider.getBlockNumber();
      // Nothing told the listener about these blocks.
      expect(await cursorNumber(db)).toBeLessThan(head);

      await proxy.restore();
      // While the proxy refused, the backoff grew towards its cap: the next attempt may come up to
      // that long after the restore, and then it must subscribe promptly. Still well short of the
      // poll, and only the subscription logs this line.
      await waitForLine(
        listener,
        "new-head subscription restored; filling the gap",
        MAX_RECONNECT_DELAY_MS + PROMPT_MS,
      );
      await waitForCursor(db, head, PROMPT_MS);

      const stored = await db
        .selectFrom("chain_events")
        .select(["block_hash", "log_index", "event_type"])
        .orderBy("block_number")
        .orderBy("log_index")
        .execute();
      expect(stored.map((e) => [e.block_hash, e.log_index, e.event_type])).toEqual(
        (await eventsOnChain(chain)).map((e) => [e.blockHash, e.logIndex, e.name]),
      );
      expect(await metricValue(port, "paimon_chain_reconnects_total")).toBeGreaterThanOrEqual(1);

      // The restored subscription wakes the listener again.
      await (await chain.fund.reportLayerValues(6_000_000n, 8_000_000n)).wait();
      await waitForCursor(db, await chain.provider.getBlockNumber(), PROMPT_MS);
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
    expect((await listener.exited).code).toBe(0);
    // The bounded waits above add up to more than vitest's default 60 s, with tsx's start before them.
  }, 120_000);
});
