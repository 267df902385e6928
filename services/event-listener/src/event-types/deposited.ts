import { defineEventType, noEffect } from "./event-type";
import { lowerHex, units } from "./fields";

export type Deposited = {
  readonly type: "Deposited";
  readonly owner: string;
  readonly assets: string;
  readonly shares: string;
};

/**
 * `Deposited(owner, assets, shares)`. No table of the books follows deposits: the event row and
 * its block's notice to the risk monitor (both the store's) are all it leaves, so there is
 * nothing of its own to undo.
 */
export const deposited = defineEventType<Deposited>({
  type: "Deposited",
  stamped: false,
  decode: (a) => ({ type: "Deposited", owner: lowerHex(a[0]), assets: units(a[1]), shares: units(a[2]) }),
  apply: () => noEffect(),
  undo: () => Promise.resolve(),
});
