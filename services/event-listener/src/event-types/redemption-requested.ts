import { Channel } from "@paimon/contracts";
import { queuedJob } from "@paimon/core/queues";
import { sql } from "kysely";
import { jsonRows } from "../json-rows";
import { defineEventType } from "./event-type";
import { decimal, lowerHex, small, units } from "./fields";

export type RedemptionRequested = {
  readonly type: "RedemptionRequested";
  readonly id: string;
  readonly owner: string;
  readonly shares: string;
  readonly assets: string;
  readonly channel: "instant" | "standard";
};

/**
 * `RedemptionRequested(id, owner, shares, assets, channel)`: a redemption in status `requested`,
 * created at its block's time, and its settlement — paying out is irreversible, so the job waits
 * until the block is final. Undone: the redemption goes (its unsent settlement with its block).
 */
export const redemptionRequested = defineEventType<RedemptionRequested>({
  type: "RedemptionRequested",
  stamped: true,
  decode: (a) => ({
    type: "RedemptionRequested",
    id: decimal(a[0]),
    owner: lowerHex(a[1]),
    shares: units(a[2]),
    assets: units(a[3]),
    channel: small(a[4]) === Channel.Instant ? "instant" : "standard",
  }),
  apply({ chainId, blockTime }, events) {
    const columns = [
      ["id", "text"],
      ["owner", "text"],
      ["shares", "numeric"],
      ["assets", "numeric"],
      ["channel", "text"],
      ["block", "bigint"],
      ["tx", "text"],
      ["at", "timestamptz"],
    ] as const;
    const rows = jsonRows("t", columns, events, ({ event, blockNumber, txHash }) => [
      event.id,
      event.owner,
      event.shares,
      event.assets,
      event.channel,
      blockNumber.toString(),
      txHash,
      blockTime(blockNumber).toISOString(),
    ]);
    const insert = sql`
      insert into redemptions
        (id, chain_id, owner, shares, assets, channel, status, requested_block, requested_tx, created_at)
      select t.id, ${chainId}, t.owner, t.shares, t.assets, t.channel, 'requested', t.block, t.tx, t.at
      from ${rows}`;
    const work = events.map(({ event, blockNumber, blockHash }) => ({
      job: queuedJob("settlements", {
        kind: "redemption",
        chainId,
        redemptionId: event.id,
        channel: event.channel,
        owner: event.owner,
        assets: event.assets,
      }),
      blockNumber,
      blockHash,
      awaitFinality: true,
    }));
    return {
      work,
      // Only new events take effect, replay or not: a redemption id already there is never a
      // replay (a rollback deletes its blocks' redemptions) but a defect, and fails the commit.
      write: async (trx) => {
        await insert.execute(trx);
      },
    };
  },
  async undo({ trx, chainId }, orphaned) {
    const ids = orphaned.map(({ event }) => event.id);
    await sql`delete from redemptions where chain_id = ${chainId} and id = any(${ids}::text[])`.execute(trx);
  },
});
