import { defineEventType } from "./event-type";
import { decimal, lowerHex, units } from "./fields";
import { reopenRedemptions, resolveRedemptions } from "./redemption-resolution";

export type RedemptionSettled = {
  readonly type: "RedemptionSettled";
  readonly id: string;
  readonly owner: string;
  readonly shares: string;
  readonly assets: string;
};

/** `RedemptionSettled(id, owner, shares, assets)`: the redemption settled at its block; undone, requested again. */
export const redemptionSettled = defineEventType<RedemptionSettled>({
  type: "RedemptionSettled",
  stamped: false,
  decode: (a) => ({
    type: "RedemptionSettled",
    id: decimal(a[0]),
    owner: lowerHex(a[1]),
    shares: units(a[2]),
    assets: units(a[3]),
  }),
  apply: ({ chainId }, events) => resolveRedemptions(chainId, "settled", events),
  undo: ({ trx, chainId }, orphaned) => reopenRedemptions(trx, chainId, orphaned),
});
