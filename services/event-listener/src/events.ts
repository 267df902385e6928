/**
 * The fund contract's logs, decoded into one typed union: each listed event type
 * (`event-types/`) reads its own arguments — amounts as decimal strings in the fund's unit (never
 * floats), ids and addresses normalised the way the database stores them.
 *
 * The event layouts come from the contract's ethers `Interface`. Every fund event has only
 * static 32-byte fields, which are read straight from the topics and data words — ethers'
 * `parseLog` costs ~200 µs a log, which made decoding the slowest part of a backfill; an event
 * with a dynamic field would fall back to it. A test checks both paths agree.
 */
import { PaimonFund__factory } from "@paimon/contracts";
import { type EventFragment, type Interface } from "ethers";
import { ALL_EVENT_TYPES, type EventType, type FundEvent, type Located } from "./event-types";
import type { RawLog } from "./rpc";

export type { FundEvent, FundEventType } from "./event-types";
export { fundUnits } from "./event-types/fields";

/** A decoded log and where it sits on chain. */
export type ChainEvent = Located<FundEvent>;

/** The listed event types by name; the fund's other events (role changes) are not the books' concern. */
const TYPES = new Map<string, EventType<FundEvent>>(ALL_EVENT_TYPES.map((type) => [type.type, type]));

function toEvent(name: string, args: readonly unknown[]): FundEvent | undefined {
  return TYPES.get(name)?.decode(args);
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
