/**
 * The fund contract's logs, decoded into one typed union. Amounts become decimal strings in the
 * fund's unit (never floats); ids and addresses are normalised (decimal ids, lower-case
 * addresses) the way the database stores them.
 *
 * The event layouts come from the contract's ethers `Interface`. Every fund event has only
 * static 32-byte fields, which are read straight from the topics and data words — ethers'
 * `parseLog` costs ~200 µs a log, which made decoding the slowest part of a backfill; an event
 * with a dynamic field would fall back to it. A test checks both paths agree.
 */
import { Channel, FUND_DECIMALS, PaimonFund__factory } from "@paimon/contracts";
import { type EventFragment, type Interface } from "ethers";
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

const SCALE = 10n ** BigInt(FUND_DECIMALS);

/** An integer of the fund's unit as a decimal string (`1500000` → `"1.5"`), as ethers' formatUnits writes it. */
export function fundUnits(value: bigint): string {
  const sign = value < 0n ? "-" : "";
  const magnitude = value < 0n ? -value : value;
  const fraction = (magnitude % SCALE).toString().padStart(FUND_DECIMALS, "0").replace(/0+$/, "");
  return `${sign}${(magnitude / SCALE).toString()}.${fraction === "" ? "0" : fraction}`;
}

const amount = (value: unknown) => fundUnits(value as bigint);
const shares = (value: unknown) => fundUnits(value as bigint);
const lower = (value: unknown) => (value as string).toLowerCase();

function toEvent(name: string, a: readonly unknown[]): FundEvent | undefined {
  switch (name) {
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

/** Reads one 32-byte word as its ABI type, or undefined for a type this fast path does not read. */
function staticReader(type: string): ((word: string) => unknown) | undefined {
  if (/^uint\d*$/.test(type)) return (word) => BigInt(`0x${word}`);
  if (type === "address") return (word) => `0x${word.slice(24)}`;
  if (type === "bytes32") return (word) => `0x${word}`;
  if (type === "bool") return (word) => BigInt(`0x${word}`) !== 0n;
  return undefined;
}

interface Layout {
  readonly name: string;
  /** Per input, in declaration order: where its word is (a topic or a data word) and how to read it. */
  readonly inputs: readonly {
    readonly indexed: boolean;
    readonly position: number;
    readonly read: (word: string) => unknown;
  }[];
}

function layoutOf(fragment: EventFragment): Layout | undefined {
  let topic = 1;
  let word = 0;
  const inputs: Layout["inputs"][number][] = [];
  for (const input of fragment.inputs) {
    const read = staticReader(input.type);
    if (!read) return undefined;
    inputs.push({ indexed: input.indexed === true, position: input.indexed === true ? topic++ : word++, read });
  }
  return { name: fragment.name, inputs };
}

export function createEventDecoder(
  fundInterface: Interface = PaimonFund__factory.createInterface(),
  options: {
    /** Decode every log with ethers' `parseLog` (the reference the fast path is tested against). */ readonly ethersOnly?: boolean;
  } = {},
): EventDecoder {
  const layouts = new Map<string, Layout | undefined>();
  fundInterface.forEachEvent((fragment) => {
    layouts.set(fragment.topicHash, options.ethersOnly === true ? undefined : layoutOf(fragment));
  });
  const args = (log: RawLog): { name: string; args: readonly unknown[] } | undefined => {
    const topic = log.topics[0];
    if (topic === undefined || !layouts.has(topic)) return undefined;
    const layout = layouts.get(topic);
    if (!layout) {
      const parsed = fundInterface.parseLog({ topics: [...log.topics], data: log.data });
      return parsed ? { name: parsed.name, args: [...parsed.args] } : undefined;
    }
    return {
      name: layout.name,
      args: layout.inputs.map(({ indexed, position, read }) =>
        read(
          indexed ? (log.topics[position] ?? "").slice(2) : log.data.slice(2 + position * 64, 2 + (position + 1) * 64),
        ),
      ),
    };
  };
  return {
    decode(log) {
      const decoded = args(log);
      const event = decoded ? toEvent(decoded.name, decoded.args) : undefined;
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
