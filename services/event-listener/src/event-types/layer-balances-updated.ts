import { sql } from "kysely";
import { jsonRows } from "../json-rows";
import { defineEventType } from "./event-type";
import { fundUnits } from "./fields";

export type LayerBalancesUpdated = {
  readonly type: "LayerBalancesUpdated";
  readonly l1: string;
  readonly l2: string;
  readonly l3: string;
  readonly nav: string;
};

/**
 * `LayerBalancesUpdated(l1, l2, l3)`: a fund snapshot at its block's time (NAV is the three
 * layers' sum), remembering the event it came from — which is how it is undone, row for row.
 */
export const layerBalancesUpdated = defineEventType<LayerBalancesUpdated>({
  type: "LayerBalancesUpdated",
  stamped: true,
  decode: (a) => {
    const [l1, l2, l3] = [a[0] as bigint, a[1] as bigint, a[2] as bigint];
    return {
      type: "LayerBalancesUpdated",
      l1: fundUnits(l1),
      l2: fundUnits(l2),
      l3: fundUnits(l3),
      nav: fundUnits(l1 + l2 + l3),
    };
  },
  apply({ chainId, blockTime }, events) {
    const columns = [
      ["at", "timestamptz"],
      ["block", "bigint"],
      ["nav", "numeric"],
      ["l1", "numeric"],
      ["l2", "numeric"],
      ["l3", "numeric"],
      ["hash", "text"],
      ["log", "integer"],
    ] as const;
    const rows = jsonRows("t", columns, events, ({ event, blockNumber, blockHash, logIndex }) => [
      blockTime(blockNumber).toISOString(),
      blockNumber.toString(),
      event.nav,
      event.l1,
      event.l2,
      event.l3,
      blockHash,
      logIndex,
    ]);
    const insert = sql`
      insert into fund_snapshots
        (recorded_at, block_number, nav, l1_value, l2_value, l3_value, chain_id, block_hash, log_index)
      select t.at, t.block, t.nav, t.l1, t.l2, t.l3, ${chainId}, t.hash, t.log
      from ${rows}`;
    return {
      work: [],
      write: async (trx) => {
        await insert.execute(trx);
      },
    };
  },
  async undo({ trx, chainId }, orphaned) {
    const rows = jsonRows(
      "t",
      [
        ["hash", "text"],
        ["log", "integer"],
      ],
      orphaned,
      ({ blockHash, logIndex }) => [blockHash, logIndex],
    );
    await sql`
      delete from fund_snapshots f using ${rows}
      where f.chain_id = ${chainId} and f.block_hash = t.hash and f.log_index = t.log`.execute(trx);
  },
});
