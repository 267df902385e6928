/**
 * The listener through chain reorganisations on a devnet (`evm_snapshot` / `evm_revert`, then
 * different blocks mined past the old height): a shallow one is rolled back to the common
 * ancestor and followed again, with everything the orphaned events derived undone; one deeper
 * than finality halts the listener loudly instead.
 */
import { setTimeout as delay } from "node:timers/promises";
import { Channel } from "@paimon/contracts";
import { mine, revert, snapshot } from "@paimon/contracts/devnet";
import type { Database } from "@paimon/core/db";
import type { Kysely } from "kysely";
import { describe, expect } from "vitest";
import { test } from "./fixture";
import { CHECKPOINT } from "./checkpoint";
import {
  asHolder,
  eventsOnChain,
  getHealth,
  listenerEnv,
  metricValue,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursorAt,
  waitForLine,
  type Chain,
} from "./testing";

/** Short, so that a listener that would take a block takes it soon. */
const POLL_INTERVAL_MS = 200;

/** The canonical block at the head now: its number and hash. */
async function headBlock(chain: Chain) {
  const block = await chain.provider.getBlock("latest");
  if (!block?.hash) throw new Error("no head block");
  return { number: block.number, hash: block.hash };
}

/** The hashes of blocks `from`..`to` on the chain as it is now. */
async function hashes(chain: Chain, from: number, to: number): Promise<string[]> {
  const result: string[] = [];
  for (let number = from; number <= to; number++) {
    const block = await chain.provider.getBlock(number);
    if (!block?.hash) throw new Error(`no block ${String(number)}`);
    result.push(block.hash);
  }
  return result;
}

const storedEvents = (db: Kysely<Database>) =>
  db
    .selectFrom("chain_events")
    .select(["block_hash", "log_index", "event_type"])
    .orderBy("block_number")
    .orderBy("log_index")
    .execute();

async function cursor(db: Kysely<Database>) {
  return db
    .selectFrom("sync_checkpoints")
    .select(["block_number", "block_hash"])
    .where("name", "=", CHECKPOINT)
    .executeTakeFirstOrThrow();
}

describe("the event listener through a chain reorganisation", () => {
  test("when blocks that are not final are replaced, then it rolls back to the common ancestor and follows the new chain", async ({
    chain,
    database,
  }) => {
    const [alice, bob, carol] = chain.holders;
    if (!alice || !bob || !carol) throw new Error("no holders");
    const { db } = database;
    // Common history: redemption #1, which the orphaned branch settles and the new one does not.
    await (await asHolder(chain, alice).requestRedemption(1_000_000n, Channel.Instant)).wait();

    const env = listenerEnv(chain, database.url, {
      FINALITY_DEPTH: "10",
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const listener = spawnListener(env);
    try {
      const port = await listener.port;
      const ancestor = await headBlock(chain);
      await waitForCursorAt(db, ancestor);
      const saved = await snapshot(chain.provider);

      // The branch to be orphaned: #2 and #3 requested, #1 settled, a layer report.
      await (await asHolder(chain, bob).requestRedemptions([2_000_000n, 3_000_000n], Channel.Standard)).wait();
      await (await chain.fund.settleRedemption(1n)).wait();
      await (await chain.fund.reportLayerValues(5_000_000n, 7_000_000n)).wait();
      const oldHead = await headBlock(chain);
      await waitForCursorAt(db, oldHead);
      const orphaned = await hashes(chain, ancestor.number + 1, oldHead.number);
      // The orphaned branch's effects are in the books before the reorganisation.
      expect(
        (await db.selectFrom("redemptions").select(["id", "status"]).orderBy("id").execute()).map((r) => [
          r.id,
          r.status,
        ]),
      ).toEqual([
        ["1", "settled"],
        ["2", "requested"],
        ["3", "requested"],
      ]);
      expect(
        await db.selectFrom("fund_snapshots").select("id").where("block_hash", "in", orphaned).execute(),
      ).not.toEqual([]);
      expect(
        await db
          .selectFrom("outbox")
          .select("job_id")
          .where("block_hash", "in", orphaned)
          .where("sent_at", "is", null)
          .execute(),
      ).not.toEqual([]);

      // The new branch: other transactions (so other hashes), one block longer. Redemption id 2
      // is taken again, by another owner.
      await revert(chain.provider, saved);
      const replacement = await (await asHolder(chain, carol).requestRedemption(4_000_000n, Channel.Instant)).wait();
      await (await chain.fund.reportLayerValues(6_000_000n, 8_000_000n)).wait();
      await (await asHolder(chain, bob).deposit(5_000_000n)).wait();
      await (await asHolder(chain, alice).deposit(7_000_000n)).wait();
      const newHead = await headBlock(chain);
      expect(newHead.number).toBeGreaterThan(oldHead.number);
      // Ten blocks deep, nothing of the reorganisation is final yet.
      expect(newHead.number - 10).toBeLessThan(ancestor.number);
      const canonical = await hashes(chain, ancestor.number + 1, oldHead.number);
      for (const [index, hash] of canonical.entries()) expect(hash).not.toBe(orphaned[index]);

      await waitForCursorAt(db, newHead);

      expect((await storedEvents(db)).map((e) => [e.block_hash, e.log_index, e.event_type])).toEqual(
        (await eventsOnChain(chain)).map((e) => [e.blockHash, e.logIndex, e.name]),
      );
      const redemptions = await db.selectFrom("redemptions").selectAll().orderBy("id").execute();
      expect(redemptions.map((r) => [r.id, r.status, r.owner, r.channel, r.resolved_block])).toEqual([
        ["1", "requested", alice.address.toLowerCase(), "instant", null],
        ["2", "requested", carol.address.toLowerCase(), "instant", null],
      ]);
      expect(redemptions[1]?.requested_tx).toBe(replacement?.hash.toLowerCase());

      const snapshots = await db
        .selectFrom("fund_snapshots")
        .select(["block_hash", "log_index", "l2_value"])
        .orderBy("block_number")
        .orderBy("log_index")
        .execute();
      expect(snapshots.map((s) => [s.block_hash, s.log_index])).toEqual(
        (await eventsOnChain(chain))
          .filter((e) => e.name === "LayerBalancesUpdated")
          .map((e) => [e.blockHash, e.logIndex]),
      );
      expect(snapshots.map((s) => Number(s.l2_value))).not.toContain(5);
      expect(snapshots.map((s) => Number(s.l2_value))).toContain(6);

      expect(
        await db
          .selectFrom("outbox")
          .select("job_id")
          .where("block_hash", "in", orphaned)
          .where("sent_at", "is", null)
          .execute(),
      ).toEqual([]);
      const settlements = await db
        .selectFrom("outbox")
        .select(["job_id", "block_hash", "sent_at"])
        .where("queue", "=", "settlements")
        .orderBy("job_id")
        .execute();
      expect(settlements.map((row) => [row.job_id, row.sent_at])).toEqual([
        ["redemption-31337-1", null],
        ["redemption-31337-2", null],
      ]);
      expect(settlements[1]?.block_hash).toBe(canonical[0]);

      expect(await metricValue(port, "paimon_chain_reorgs_total")).toBeGreaterThanOrEqual(1);
      const rolledBack = await waitForLine(listener, "chain reorganisation: rolled back to the common ancestor");
      expect(rolledBack).toMatchObject({
        level: "warn",
        depth: oldHead.number - ancestor.number,
        ancestor: String(ancestor.number),
        removed_events: expect.any(Number) as number,
      });
      expect((await getHealth(port, "/health/ready")).status).toBe(200);
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
    expect((await listener.exited).code).toBe(0);
  });

  test("when the chain reorganises below finality, then the listener halts, unready, and its cursor stays", async ({
    chain,
    database,
  }) => {
    const [, bob] = chain.holders;
    if (!bob) throw new Error("no holders");
    const { db } = database;
    const env = listenerEnv(chain, database.url, {
      FINALITY_DEPTH: "1",
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    let listener = spawnListener(env);
    try {
      let port = await listener.port;
      const base = await headBlock(chain);
      await waitForCursorAt(db, base);
      const saved = await snapshot(chain.provider);
      for (const l2 of [11_000_000n, 12_000_000n, 13_000_000n]) {
        await (await chain.fund.reportLayerValues(l2, 1_000_000n)).wait();
      }
      // A redemption requested in the last block, not final when the chain reorganises.
      const request = await (await asHolder(chain, bob).requestRedemption(4_000_000n, Channel.Standard)).wait();
      const orphanedId = (await chain.fund.nextRedemptionId()) - 1n;
      const orphanedJob = `redemption-${String(chain.devnet.chainId)}-${orphanedId.toString()}`;
      const oldHead = await headBlock(chain);
      expect(request?.blockNumber).toBe(oldHead.number);
      await waitForCursorAt(db, oldHead);
      const before = await storedEvents(db);
      const unsent = () =>
        db.selectFrom("outbox").select(["job_id", "sent_at"]).where("job_id", "=", orphanedJob).executeTakeFirst();
      expect(await unsent()).toEqual({ job_id: orphanedJob, sent_at: null });

      // Four blocks back with finality at one: the new branch (other transactions) is mined past
      // the old head, so the listener sees a final block of its own changed.
      const finalBefore = (await chain.provider.getBlock(oldHead.number - 1))?.hash;
      await revert(chain.provider, saved);
      for (const l2 of [21_000_000n, 22_000_000n, 23_000_000n, 24_000_000n, 25_000_000n, 26_000_000n]) {
        await (await chain.fund.reportLayerValues(l2, 2_000_000n)).wait();
      }

      const halted = await waitForLine(listener, "halting: the chain reorganised below finality");
      // The old head was not final (depth 1) and may change; its parent was, and did: the halt names it.
      expect(halted).toMatchObject({
        level: "error",
        block: String(oldHead.number - 1),
      });
      expect(halted["stored_hash"]).toBe(finalBefore);
      const ready = await getHealth(port, "/health/ready");
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: "unready",
        checks: {
          halted: expect.stringContaining("reorganisation below finality") as string,
        },
      });
      // Alive (a restart would not help), and saying why it is not following.
      expect(await getHealth(port, "/health")).toEqual({
        status: 200,
        body: {
          status: "ok",
          role: "writer",
          reason: expect.stringMatching(/^halted: reorganisation below finality/) as string,
        },
      });

      // More blocks come; a halted listener takes none of them. A negative check: there is no
      // event that says "did nothing", so it watches for some 25 poll intervals — several polls
      // even on a loaded machine — and can only miss a listener that would move later still.
      await mine(chain.provider, 3);
      const watchUntil = performance.now() + 25 * POLL_INTERVAL_MS;
      while (performance.now() < watchUntil) {
        expect(await cursor(db)).toEqual({
          block_number: String(oldHead.number),
          block_hash: oldHead.hash,
        });
        await delay(POLL_INTERVAL_MS / 2);
      }
      expect(await storedEvents(db)).toEqual(before);
      // Its irreversible work stays unsent: the chain it came from is gone.
      expect(await unsent()).toEqual({ job_id: orphanedJob, sent_at: null });
      const [settlements] = queues.queues;
      expect(await settlements?.getJob(orphanedJob)).toBeUndefined();
      expect((await getHealth(port, "/health/ready")).status).toBe(503);
      await stopListener(listener);
      expect((await listener.exited).code).toBe(0);

      // The halt is not forgotten on a restart: the next listener halts before moving the cursor.
      listener = spawnListener(env);
      port = await listener.port;
      await waitForLine(listener, "halting: the chain reorganised below finality");
      expect(await cursor(db)).toEqual({
        block_number: String(oldHead.number),
        block_hash: oldHead.hash,
      });
      expect(await unsent()).toEqual({ job_id: orphanedJob, sent_at: null });
      expect((await getHealth(port, "/health/ready")).status).toBe(503);
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
    expect((await listener.exited).code).toBe(0);
    // Two tsx starts in a row, each up to 10–20 s on a loaded 2-core machine.
  }, 120_000);

  test("when blocks replaced while it was down have since become final, then a restarted listener rolls back instead of halting", async ({
    chain,
    freshDatabase: fresh,
  }) => {
    const [alice, bob] = chain.holders;
    if (!alice || !bob) throw new Error("no holders");
    // A database of its own: the test before left its listener halted.
    const env = listenerEnv(chain, fresh.url, {
      FINALITY_DEPTH: "3",
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    let listener = spawnListener(env);
    try {
      await waitForCursorAt(fresh.db, await headBlock(chain));
      const saved = await snapshot(chain.provider);
      await (await asHolder(chain, alice).requestRedemption(1_000_000n, Channel.Standard)).wait();
      const lost = await headBlock(chain);
      await waitForCursorAt(fresh.db, lost);
      await stopListener(listener);

      // While it is down, the head block is replaced, and the chain moves on past finality.
      await revert(chain.provider, saved);
      await (await asHolder(chain, bob).requestRedemption(2_000_000n, Channel.Instant)).wait();
      await mine(chain.provider, 6);
      const head = await headBlock(chain);

      listener = spawnListener(env);
      await waitForCursorAt(fresh.db, head);
      expect(await waitForLine(listener, "chain reorganisation: rolled back to the common ancestor")).toMatchObject({
        depth: 1,
      });
      expect(listener.lines().some((line) => line["message"] === "halting: the chain reorganised below finality")).toBe(
        false,
      );
      expect(await storedEvents(fresh.db)).toEqual(
        (await eventsOnChain(chain)).map((e) => ({
          block_hash: e.blockHash,
          log_index: e.logIndex,
          event_type: e.name,
        })),
      );
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
    // Two tsx starts in a row, each up to 10–20 s on a loaded 2-core machine.
  }, 120_000);
});
