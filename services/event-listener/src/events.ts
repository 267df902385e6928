/**
 * The fund contract's logs, decoded with its ethers `Interface` into one typed union. Amounts
 * become decimal strings in the fund's unit (never floats); ids and addresses are normalised
 * (decimal ids, lower-case addresses) the way the database stores them.
 */
import { Channel, FUND_DECIMALS, PaimonFund__factory } from "@paimon/contracts";
import { formatUnits, type Interface, type LogDescription } from "ethers";
import type { RawLog } from "./rpc";

export type FundEvent =
  | { readonly type: "Deposited"; readonly owner: string; readonly assets: string; readonly shares: string }
  | {
      readonly type: "RedemptionRequested";
      readonly id: string;
      readonly owner: string;
      readonly shares: string;
      readonly assets: string;
      readonly channel: "instant" | "standard";
    }
  | {
      readonly type: "RedemptionSettled";
      readonly id: string;
      readonly owner: string;
      readonly shares: string;
      readonly assets: string;
    }
  | { readonly type: "RedemptionCancelled"; readonly id: string; readonly owner: string; readonly shares: string }
  | {
      readonly type: "LayerBalancesUpdated";
      readonly l1: string;
      readonly l2: string;
      readonly l3: string;
      readonly nav: string;
    }
  | {
      readonly type: "RebalanceExecuted";
      readonly executionId: string;
      readonly fromLayer: number;
      readonly toLayer: number;
      readonly amount: string;
    };

export type FundEventType = FundEvent["type"];

/** A decoded log and where it sits on chain. */
export interface ChainEvent {
  readonly blockNumber: bigint;
  readonly blockHash: string;
  readonly logIndex: number;
  readonly txHash: string;
  readonly event: FundEvent;
}

const amount = (value: unknown) => formatUnits(value as bigint, FUND_DECIMALS);
const shares = (value: unknown) => formatUnits(value as bigint, FUND_DECIMALS);
const lower = (value: unknown) => (value as string).toLowerCase();

function toEvent(parsed: LogDescription): FundEvent | undefined {
  const a = parsed.args;
  switch (parsed.name) {
    case "Deposited":
      return { type: "Deposited", owner: lower(a[0]), assets: amount(a[1]), shares: shares(a[2]) };
    case "RedemptionRequested":
      return {
        type: "RedemptionRequested",
        id: (a[0] as bigint).toString(),
        owner: lower(a[1]),
        shares: shares(a[2]),
        assets: amount(a[3]),
        channel: Number(a[4]) === Channel.Instant ? "instant" : "standard",
      };
    case "RedemptionSettled":
      return {
        type: "RedemptionSettled",
        id: (a[0] as bigint).toString(),
        owner: lower(a[1]),
        shares: shares(a[2]),
        assets: amount(a[3]),
      };
    case "RedemptionCancelled":
      return { type: "RedemptionCancelled", id: (a[0] as bigint).toString(), owner: lower(a[1]), shares: shares(a[2]) };
    case "LayerBalancesUpdated":
      return {
        type: "LayerBalancesUpdated",
        l1: amount(a[0]),
        l2: amount(a[1]),
        l3: amount(a[2]),
        nav: amount((a[0] as bigint) + (a[1] as bigint) + (a[2] as bigint)),
      };
    case "RebalanceExecuted":
      return {
        type: "RebalanceExecuted",
        executionId: lower(a[0]),
        fromLayer: Number(a[1]),
        toLayer: Number(a[2]),
        amount: amount(a[3]),
      };
    default:
      // The fund's other events (role changes) are not the books' concern.
      return undefined;
  }
}

export interface EventDecoder {
  decode(log: RawLog): ChainEvent | undefined;
}

export function createEventDecoder(fundInterface: Interface = PaimonFund__factory.createInterface()): EventDecoder {
  return {
    decode(log) {
      const parsed = fundInterface.parseLog({ topics: [...log.topics], data: log.data });
      const event = parsed ? toEvent(parsed) : undefined;
      if (!event) return undefined;
      return {
        blockNumber: BigInt(log.blockNumber),
        blockHash: log.blockHash.toLowerCase(),
        logIndex: Number(BigInt(log.logIndex)),
        txHash: log.transactionHash.toLowerCase(),
        event,
      };
    },
  };
}
