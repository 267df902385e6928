/**
 * The readers' synthetic blocks against the chain they stand for: a block's events are what the
 * listener decodes from the fund's own logs of the same amounts, and its header links to the
 * block below it on its fork.
 */
import { Channel, PaimonFund__factory } from "@paimon/contracts";
import { toBeHex } from "ethers";
import { describe, expect, it } from "vitest";
import { createEventDecoder } from "./events";
import { blockHash, syntheticBatch, syntheticEvents } from "./synthetic-blocks";

const fundInterface = PaimonFund__factory.createInterface();
const decoder = createEventDecoder(fundInterface);
const OWNER = `0x${"ab".repeat(20)}`;

/** The fund's log of `name` with `args`, at `logIndex` of block `number` of fork `fork`, decoded by the listener. */
function decodedLog(
  name: "RedemptionRequested" | "LayerBalancesUpdated",
  args: readonly unknown[],
  at: { readonly number: number; readonly fork: number; readonly logIndex: number },
) {
  const encoded = fundInterface.encodeEventLog(name, [...args]);
  const hash = blockHash(at.number, at.fork);
  return decoder.decode({
    address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    topics: encoded.topics,
    data: encoded.data,
    blockNumber: toBeHex(at.number),
    blockHash: hash,
    transactionHash: hash,
    logIndex: toBeHex(at.logIndex),
  });
}

describe("synthetic blocks", () => {
  it("when a block reports requests and layer balances, then its events are what the listener decodes from the fund's logs of those amounts", () => {
    const at = { number: 42, fork: 3 };
    const events = syntheticEvents({
      ...at,
      layers: { l1: "0.1", l2: "0.2", l3: "600000.000000" },
      requests: [
        { id: "7", assets: "12.25", channel: "instant" },
        { id: "8", assets: "100", channel: "standard" },
      ],
    });
    expect(events).toEqual([
      decodedLog("RedemptionRequested", [7n, OWNER, 12_250_000n, 12_250_000n, Channel.Instant], { ...at, logIndex: 0 }),
      decodedLog("RedemptionRequested", [8n, OWNER, 100_000_000n, 100_000_000n, Channel.Standard], {
        ...at,
        logIndex: 1,
      }),
      decodedLog("LayerBalancesUpdated", [100_000n, 200_000n, 600_000_000_000n], { ...at, logIndex: 2 }),
    ]);
    expect(events[2]?.event).toMatchObject({ l3: "600000.0", nav: "600000.3" });
  });

  it("when an amount has more places than the fund's six, then no block is made of it", () => {
    expect(() => syntheticEvents({ number: 1, layers: { l1: "0.0000001", l2: "0", l3: "0" } })).toThrow(/more than 6/);
  });

  it("when a block is on a fork, then its hash and its parent's are that fork's, and the cursor stands on it", () => {
    const batch = syntheticBatch(56, { number: 31, fork: 1 }, { finalized: 20n });
    expect(batch.blocks).toEqual([
      { number: 31n, hash: blockHash(31, 1), parentHash: blockHash(30, 1), timestamp: expect.any(Number) as number },
    ]);
    expect(batch.cursor).toEqual({ number: 31n, hash: blockHash(31, 1) });
    expect(batch.finalized).toBe(20n);
    expect(new Set([blockHash(31, 1), blockHash(31, 0), blockHash(30, 1)]).size).toBe(3);
  });

  it("when a fork's first block branches from the old fork, then its parent is the ancestor there", () => {
    expect(syntheticBatch(56, { number: 30, fork: 1, parentFork: 0 }).blocks[0]?.parentHash).toBe(blockHash(29, 0));
  });
});
