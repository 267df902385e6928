/**
 * The fast decoder against ethers' own: for every fund event, any field values, both read the
 * same event — so the shortcut can never disagree with the ABI.
 */
import { PaimonFund__factory } from "@paimon/contracts";
import fc from "fast-check";
import { formatUnits, getAddress, hexlify, zeroPadValue } from "ethers";
import { describe, expect, it } from "vitest";
import { createEventDecoder, fundUnits } from "./events";
import type { RawLog } from "./rpc";

const fundInterface = PaimonFund__factory.createInterface();
const fast = createEventDecoder(fundInterface);
const reference = createEventDecoder(fundInterface, { ethersOnly: true });

const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((bytes) => getAddress(hexlify(bytes)));
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => zeroPadValue(bytes, 32));

const EVENTS = {
  Deposited: fc.tuple(address, uint(256), uint(256)),
  RedemptionRequested: fc.tuple(uint(256), address, uint(256), uint(256), fc.constantFrom(0n, 1n)),
  RedemptionSettled: fc.tuple(uint(256), address, uint(256), uint(256)),
  RedemptionCancelled: fc.tuple(uint(256), address, uint(256)),
  LayerBalancesUpdated: fc.tuple(uint(250), uint(250), uint(250)),
  RebalanceExecuted: fc.tuple(bytes32, uint(8), uint(8), uint(256)),
} as const;

const log = (name: keyof typeof EVENTS, values: readonly unknown[]): RawLog => {
  const encoded = fundInterface.encodeEventLog(name, [...values]);
  return {
    address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    topics: encoded.topics,
    data: encoded.data,
    blockNumber: "0x10",
    blockHash: `0x${"ab".repeat(32)}`,
    transactionHash: `0x${"cd".repeat(32)}`,
    logIndex: "0x3",
  };
};

describe("decoding the fund's events", () => {
  for (const [name, values] of Object.entries(EVENTS) as [keyof typeof EVENTS, fc.Arbitrary<readonly unknown[]>][]) {
    it(`reads ${name} exactly as ethers' parseLog does, for any field values`, () => {
      fc.assert(
        fc.property(values, (args) => {
          const raw = log(name, args);
          expect(fast.decode(raw)).toEqual(reference.decode(raw));
          expect(fast.decode(raw)?.event.type).toBe(name);
        }),
        { numRuns: 200 },
      );
    });
  }

  it("writes amounts as ethers' formatUnits does", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (value) => {
        expect(fundUnits(value)).toBe(formatUnits(value, 6));
      }),
    );
  });

  it("ignores logs of other events and other topics", () => {
    const granted = fundInterface.encodeEventLog("RoleGranted", [
      `0x${"00".repeat(32)}`,
      getAddress(`0x${"11".repeat(20)}`),
      getAddress(`0x${"22".repeat(20)}`),
    ]);
    expect(
      fast.decode({ ...log("Deposited", [getAddress(`0x${"11".repeat(20)}`), 1n, 1n]), ...granted }),
    ).toBeUndefined();
    expect(
      fast.decode({
        ...log("Deposited", [getAddress(`0x${"11".repeat(20)}`), 1n, 1n]),
        topics: [`0x${"ee".repeat(32)}`],
      }),
    ).toBeUndefined();
  });
});
