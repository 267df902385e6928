/**
 * The rebalance plan: from the layers' balances, the redemptions waiting on L1 and the risk
 * policy, the transfers between layers that bring the fund back to its targets. Pure, and in
 * bigint millionths of a fund unit throughout (the contract's FUND_DECIMALS), so that the legs
 * and the layers add up to the last place.
 *
 * - NAV is L1 + L2 + L3. An empty fund (NAV 0) plans nothing.
 * - L1's floor is the larger of its band's minimum share of NAV and the pending redemptions times
 *   the policy's elevated coverage, rounded up to a millionth and capped at NAV: L1 must pay what
 *   is already asked of it with the elevated margin, and never sit under its band.
 * - L1 is meant to hold the larger of its target share of NAV (rounded down) and the floor,
 *   capped at NAV. The rest of NAV goes to L2 and L3 in proportion to their targets: L2's share
 *   rounded down to a millionth, L3 the remainder, so that the three add up to NAV exactly.
 * - When every layer's ratio lies in its band (read as the risk assessment reads it: rounded down
 *   to 6 decimals) and L1 holds at least its floor, nothing is planned: a rebalance is not churn.
 * - A layer's delta is what it is meant to hold less what it holds; the deltas sum to 0. The
 *   largest surplus pays the largest deficit, then what is left pays the next, so three layers
 *   need at most two legs, never one from a layer to itself. A leg never takes more than its
 *   source's surplus: no layer is drawn below what it is meant to hold, L1 never below its floor.
 * - A leg under `minTransfer` is not worth a transaction and is dropped. The plan is then a best
 *   effort, and `targets` are what the layers hold once the legs actually planned are carried out.
 * - An amount that is not a non-negative decimal in whole millionths, or a policy ratio that is
 *   not a non-negative decimal, is a RangeError naming its field.
 */
import { FUND_DECIMALS } from "@paimon/contracts";
import { AMOUNT_PLACES, formatUnits, LAYERS, toUnits, type LayerName, type RiskPolicy } from "@paimon/core/fund";

export interface RebalanceInput {
  /** Each layer's balance: decimal strings in fund units, at most 6 decimals. */
  readonly balances: { readonly l1: string; readonly l2: string; readonly l3: string };
  /** Assets of the redemptions requested and not yet settled or cancelled. */
  readonly pendingAssets: string;
  readonly policy: RiskPolicy;
  /** A leg smaller than this is not worth a transaction. */
  readonly minTransfer: string;
}

/** One leg: `amount` (6 decimals, as formatUnits writes it) from one layer to another. */
export interface Transfer {
  readonly from: LayerName;
  readonly to: LayerName;
  readonly amount: string;
}

export interface RebalancePlan {
  /** At most two legs, each at least `minTransfer`, largest first. */
  readonly transfers: readonly Transfer[];
  /** What each layer holds once `transfers` are carried out, 6 decimals. */
  readonly targets: Readonly<Record<LayerName, string>>;
  /** The least L1 should hold, 6 decimals. */
  readonly l1Floor: string;
  /** Why nothing is planned; present only when `transfers` is empty. */
  readonly skipped?: string;
}

/** One of the policy's ratios (18 places) is 1. */
const RATIO_ONE = 10n ** BigInt(AMOUNT_PLACES);
/** 10^-18 units in a millionth. */
const PER_MILLIONTH = 10n ** BigInt(AMOUNT_PLACES - FUND_DECIMALS);
/** A millionth share of NAV, in 10^-18 units. */
const SHARE_STEP = 10n ** BigInt(AMOUNT_PLACES - 6);

/** `value` as 10^-18 units, non-negative, or a RangeError naming `field`. */
function decimal(field: string, value: unknown): bigint {
  if (typeof value !== "string") throw new RangeError(`${field} must be a decimal string, not ${typeof value}`);
  let units: bigint;
  try {
    units = toUnits(value);
  } catch (error) {
    throw new RangeError(`${field}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (units < 0n) throw new RangeError(`${field} must not be negative: ${value}`);
  return units;
}

/** An amount in fund units as whole millionths, or a RangeError naming `field`. */
function millionths(field: string, value: unknown): bigint {
  const units = decimal(field, value);
  if (units % PER_MILLIONTH !== 0n) {
    throw new RangeError(`${field} has more than ${String(FUND_DECIMALS)} decimal places: ${String(value)}`);
  }
  return units / PER_MILLIONTH;
}

const format = (units: bigint) => formatUnits(units, FUND_DECIMALS);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
/** `amount × ratio`, `ratio` in 10^-18 units, rounded up to a millionth. */
const timesUp = (amount: bigint, ratio: bigint) => (amount * ratio + RATIO_ONE - 1n) / RATIO_ONE;
/** `amount × ratio`, rounded down to a millionth. */
const timesDown = (amount: bigint, ratio: bigint) => (amount * ratio) / RATIO_ONE;

/** Plans the transfers that bring `input.balances` back to the policy's targets (see above). */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const held: Record<LayerName, bigint> = {
    L1: millionths("balances.l1", input.balances.l1),
    L2: millionths("balances.l2", input.balances.l2),
    L3: millionths("balances.l3", input.balances.l3),
  };
  const pending = millionths("pendingAssets", input.pendingAssets);
  const minTransfer = millionths("minTransfer", input.minTransfer);
  const bands = Object.fromEntries(
    LAYERS.map((layer) => {
      const band = input.policy.bands[layer];
      const field = (name: string) => `policy.bands.${layer}.${name}`;
      return [
        layer,
        {
          target: decimal(field("target"), band.target),
          min: decimal(field("min"), band.min),
          max: decimal(field("max"), band.max),
        },
      ];
    }),
  ) as Record<LayerName, { target: bigint; min: bigint; max: bigint }>;
  const coverage = decimal("policy.coverage.elevated", input.policy.coverage.elevated);

  const nav = held.L1 + held.L2 + held.L3;
  const nothing = (l1Floor: bigint, skipped: string): RebalancePlan => ({
    transfers: [],
    targets: { L1: format(held.L1), L2: format(held.L2), L3: format(held.L3) },
    l1Floor: format(l1Floor),
    skipped,
  });
  if (nav === 0n) return nothing(0n, "empty fund");

  const l1Floor = min(nav, max(timesUp(nav, bands.L1.min), timesUp(pending, coverage)));
  const inBand = LAYERS.every((layer) => {
    const share = ((held[layer] * 1_000_000n) / nav) * SHARE_STEP;
    return bands[layer].min <= share && share <= bands[layer].max;
  });
  if (inBand && held.L1 >= l1Floor) return nothing(l1Floor, "within bands");

  const l1 = min(nav, max(timesDown(nav, bands.L1.target), l1Floor));
  const rest = nav - l1;
  const weights = bands.L2.target + bands.L3.target;
  const l2 = weights === 0n ? 0n : (rest * bands.L2.target) / weights;
  const desired: Record<LayerName, bigint> = { L1: l1, L2: l2, L3: rest - l2 };

  // Sorting is stable: equal amounts keep LAYERS' order, so the plan is deterministic.
  const byAmount = (a: { left: bigint }, b: { left: bigint }) => (a.left > b.left ? -1 : a.left < b.left ? 1 : 0);
  const surpluses = LAYERS.filter((layer) => desired[layer] < held[layer])
    .map((layer) => ({ layer, left: held[layer] - desired[layer] }))
    .sort(byAmount);
  const deficits = LAYERS.filter((layer) => desired[layer] > held[layer])
    .map((layer) => ({ layer, left: desired[layer] - held[layer] }))
    .sort(byAmount);
  const legs: { from: LayerName; to: LayerName; amount: bigint }[] = [];
  for (let s = 0, d = 0; s < surpluses.length && d < deficits.length;) {
    const source = surpluses[s];
    const sink = deficits[d];
    if (!source || !sink) break;
    const amount = min(source.left, sink.left);
    legs.push({ from: source.layer, to: sink.layer, amount });
    source.left -= amount;
    sink.left -= amount;
    if (source.left === 0n) s += 1;
    if (sink.left === 0n) d += 1;
  }
  if (legs.length === 0) return nothing(l1Floor, "at the targets");

  const planned = legs.filter((leg) => leg.amount >= minTransfer);
  if (planned.length === 0) return nothing(l1Floor, "legs below the minimum transfer");
  const after = { ...held };
  for (const leg of planned) {
    after[leg.from] -= leg.amount;
    after[leg.to] += leg.amount;
  }
  return {
    transfers: planned.map((leg) => ({ from: leg.from, to: leg.to, amount: format(leg.amount) })),
    targets: { L1: format(after.L1), L2: format(after.L2), L3: format(after.L3) },
    l1Floor: format(l1Floor),
  };
}
