import { defineEventType } from "./event-type";
import { decimal, lowerHex, units } from "./fields";
import { reopenRedemptions, resolveRedemptions } from "./redemption-resolution";

export type RedemptionCancelled = {
  readonly type: "RedemptionCancelled";
  readonly id: string;
  readonly owner: string;
  readonly shares: string;
};

/** `RedemptionCancelled(id, owner, shares)`: the redemption cancelled at its block; undone, requested again. */
export const redemptionCancelled = defineEventType<RedemptionCancelled>({
  type: "RedemptionCancelled",
  stamped: false,
  decode: (a) => ({ type: "RedemptionCancelled", id: decimal(a[0]), owner: lowerHex(a[1]), shares: units(a[2]) }),
  apply: ({ chainId }, events) => resolveRedemptions(chainId, "cancelled", events),
  undo: ({ trx, chainId }, orphaned) => reopenRedemptions(trx, chainId, orphaned),
});
