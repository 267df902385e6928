/** A synthetic fund history for the risk monitor's tests, and what each block's assessment must say. */
import { assessRisk, formatUnits, toUnits, type FundState } from "@paimon/core/fund";
import type { HistoryBlock } from "../testing";

/**
 * `count` blocks from `first`: L1 sags from 10 % of NAV towards 3 % and recovers, every tenth block
 * requests an instant redemption, so the levels and the reasons vary from block to block.
 */
export function riskHistory(count: number, first = 1): HistoryBlock[] {
  return Array.from({ length: count }, (_, index) => {
    const number = first + index;
    const l1 = 100_000 - (index % 50) * 1_500;
    return {
      number,
      layers: { l1: `${String(l1)}.000000`, l2: "300000.000000", l3: "600000.000000" },
      ...(index % 10 === 0
        ? { requests: [{ id: String(number), assets: "1000.000000", channel: "instant" as const }] }
        : {}),
    };
  });
}

/** What the fund was at each block of `history` (nothing is ever settled in it). */
export function expectedStates(history: readonly HistoryBlock[]): Map<number, FundState> {
  const states = new Map<number, FundState>();
  let pending = 0n;
  let count = 0;
  for (const block of history) {
    for (const request of block.requests ?? []) {
      pending += toUnits(request.assets);
      count += 1;
    }
    states.set(block.number, { ...block.layers, pendingAssets: formatUnits(pending), pendingCount: count });
  }
  return states;
}

export const expectedLevel = (state: FundState) => assessRisk(state).level;
