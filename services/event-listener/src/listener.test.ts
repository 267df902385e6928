/**
 * The listener against a real devnet: every event the fund emits lands exactly once with its
 * fields, what the events derive matches the contract's own state, and the work they cause
 * reaches the queues with its priority — settlements only once their block is final.
 */
import { Channel, RedemptionStatus } from "@paimon/contracts";
import { mine } from "@paimon/contracts/devnet";
import { formatUnits } from "ethers";
import { describe, expect, vi } from "vitest";
import { test } from "./fixture";
import {
  asHolder,
  eventsOnChain,
  listenerEnv,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursor,
} from "./testing";

describe("the event listener on a devnet", () => {
  test("when the fund emits every kind of event, then each lands once, with its fields, and its work is queued", async ({
    chain,
    database,
  }) => {
    const [alice, bob] = chain.holders;
    if (!alice || !bob) throw new Error("no holders");
    await (await asHolder(chain, alice).requestRedemption(1_000_000n, Channel.Instant)).wait();
    await (await asHolder(chain, bob).requestRedemptions([2_000_000n, 3_000_000n], Channel.Standard)).wait();
    await (await chain.fund.settleRedemption(1n)).wait();
    await (await asHolder(chain, bob).cancelRedemption(3n)).wait();
    await (await chain.fund.reportLayerValues(5_000_000n, 7_000_000n)).wait();
    await (await chain.fund.executeRebalance(`0x${"ab".repeat(32)}`, 1, 2, 1_000_000n)).wait();

    const env = listenerEnv(chain, database.url);
    const queues = testQueues(env.QUEUE_PREFIX);
    const listener = spawnListener(env);
    try {
      const head = await chain.provider.getBlockNumber();
      await waitForCursor(database.db, head);

      const truth = await eventsOnChain(chain);
      const stored = await database.db
        .selectFrom("chain_events")
        .selectAll()
        .orderBy("block_number")
        .orderBy("log_index")
        .execute();
      expect(stored.map((e) => [e.block_hash, e.log_index, e.event_type])).toEqual(
        truth.map((e) => [e.blockHash, e.logIndex, e.name]),
      );
      const request = stored.find((e) => e.event_type === "RedemptionRequested");
      expect(request?.payload).toEqual({
        type: "RedemptionRequested",
        id: "1",
        owner: alice.address.toLowerCase(),
        shares: formatUnits(1_000_000n, 6),
        assets: expect.any(String) as string,
        channel: "instant",
      });

      const redemptions = await database.db.selectFrom("redemptions").selectAll().orderBy("id").execute();
      expect(redemptions.map((r) => [r.id, r.status, r.channel])).toEqual([
        ["1", "settled", "instant"],
        ["2", "requested", "standard"],
        ["3", "cancelled", "standard"],
      ]);
      for (const r of redemptions) {
        const onChain = await chain.fund.redemption(BigInt(r.id));
        expect(Number(onChain.status)).toBe(
          {
            requested: RedemptionStatus.Requested,
            settled: RedemptionStatus.Settled,
            cancelled: RedemptionStatus.Cancelled,
          }[r.status],
        );
        expect(Number(r.assets)).toBe(Number(formatUnits(onChain.assets, 6)));
        expect(r.owner).toBe(onChain.owner.toLowerCase());
      }
      const latest = await database.db
        .selectFrom("fund_snapshots")
        .selectAll()
        .orderBy("block_number", "desc")
        .orderBy("log_index", "desc")
        .executeTakeFirstOrThrow();
      const [l1, l2, l3] = await Promise.all([chain.fund.l1(), chain.fund.l2(), chain.fund.l3()]);
      expect([latest.l1_value, latest.l2_value, latest.l3_value].map(Number)).toEqual(
        [l1, l2, l3].map((value) => Number(formatUnits(value, 6))),
      );

      // The last blocks are not final yet (depth 2): their settlements wait. Two more blocks make them final.
      await mine(chain.provider, 3);
      await waitForCursor(database.db, head + 3);
      await vi.waitFor(
        async () => {
          const unsent = await database.db.selectFrom("outbox").select("job_id").where("sent_at", "is", null).execute();
          expect(unsent).toEqual([]);
        },
        { timeout: 10_000 },
      );
      const settlements = queues.queues.find((queue) => queue.name === "settlements");
      const jobs = await settlements?.getJobs(["prioritized", "waiting"]);
      expect(jobs?.map((job) => [job.id, job.opts.priority]).sort()).toEqual([
        ["redemption-31337-1", 1],
        ["redemption-31337-2", 10],
        ["redemption-31337-3", 10],
      ]);
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
    expect((await listener.exited).code).toBe(0);
  });
});
