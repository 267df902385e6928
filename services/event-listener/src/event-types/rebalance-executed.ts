import { queuedJob } from "@paimon/core/queues";
import { defineEventType, noEffect } from "./event-type";
import { lowerHex, small, units } from "./fields";

export type RebalanceExecuted = {
  readonly type: "RebalanceExecuted";
  readonly executionId: string;
  readonly fromLayer: number;
  readonly toLayer: number;
  readonly amount: string;
};

/**
 * `RebalanceExecuted(executionId, fromLayer, toLayer, amount)`: one leg of a rebalance on chain.
 * Its execution's status is the rebalance worker's, which sent the leg and follows its receipt;
 * the listener hands it the leg's event once final (rebalance-confirmations) and writes nothing
 * else — so its undo is its unsent confirmation, which goes with its block.
 */
export const rebalanceExecuted = defineEventType<RebalanceExecuted>({
  type: "RebalanceExecuted",
  stamped: false,
  decode: (a) => ({
    type: "RebalanceExecuted",
    executionId: lowerHex(a[0]),
    fromLayer: small(a[1]),
    toLayer: small(a[2]),
    amount: units(a[3]),
  }),
  apply: ({ chainId }, events) =>
    noEffect(
      events.map(({ event, blockNumber, blockHash, txHash }) => ({
        job: queuedJob("rebalance-confirmations", {
          chainId,
          executionId: event.executionId,
          fromLayer: event.fromLayer,
          toLayer: event.toLayer,
          amount: event.amount,
          blockNumber: blockNumber.toString(),
          txHash,
        }),
        blockNumber,
        blockHash,
        awaitFinality: true,
      })),
    ),
  undo: () => Promise.resolve(),
});
