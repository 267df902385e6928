/**
 * What the follower reads from the node to commit a range of final blocks: `eth_getLogs` over the
 * range (narrowed on the node's range errors and grown back after successes), the header of its
 * last block (asked for beside the logs), the decoded events, and the timestamps of the blocks
 * whose events carry them (a few headers at a time), and the commit's rows built from them.
 * `readAhead` starts all of that, with the node's head, for the range after one that is
 * committing.
 */
import type { Logger } from "@paimon/core/logger";
import { ALL_EVENT_TYPES } from "./event-types";
import type { ChainEvent, EventDecoder } from "./events";
import { RangeTooWideError, type BlockHeader, type RawLog, type RpcClient } from "./rpc";
import { prepare, type Prepared } from "./store";

/** After this many ranges without a range error, the range doubles back towards the maximum. */
const GROW_AFTER = 8;

/** Block headers asked for at once when a range's events need their blocks' timestamps. */
const HEADER_REQUESTS_IN_FLIGHT = 4;

/** The event types whose rows carry their block's time: their blocks' headers are fetched. */
const STAMPED = new Set<string>(ALL_EVENT_TYPES.filter((type) => type.stamped).map((type) => type.type));

/** What the node says of the chain: its head, and its `finalized` block where it knows the tag. */
export interface View {
  readonly head: bigint;
  readonly tagged: bigint | undefined;
}

/** A range read from the node, ready to commit. */
export interface FetchedRange {
  readonly from: bigint;
  readonly to: bigint;
  readonly events: ChainEvent[];
  readonly end: BlockHeader;
  readonly timestamps: Map<bigint, number>;
  /** Its commit's rows, built. */
  readonly prepared: Prepared;
  /** Reading it: the logs, the headers, decoding, building the rows. */
  readonly fetchMs: number;
}

/** The next range, being read while the current one commits, and the cursor it extends. */
export interface Ahead {
  readonly after: { readonly number: bigint; readonly hash: string };
  readonly view: Promise<View>;
  /** Undefined when the node did not have the range's last block. */
  readonly range: Promise<FetchedRange | undefined>;
}

/** A settled promise's value, or its error. */
export function valueOf<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

/** Waits until a read ahead has settled, whatever its outcome: nothing of it stays in flight. */
export const drain = (ahead: Ahead) => Promise.allSettled([ahead.view, ahead.range]);

export interface ChainReader {
  /** The node's head and `finalized` block, asked for together. */
  observe(): Promise<View>;
  /** The end of the next range after block `after`: as wide as the node lets us, not past `final`. */
  rangeEnd(after: bigint, final: bigint): bigint;
  /** Reads [from, wanted] (or less, if the node narrows it); undefined if the node lacks its last block. */
  fetchRange(from: bigint, wanted: bigint): Promise<FetchedRange | undefined>;
  /** Starts reading the range after `after` (up to `final`) and the node's view. */
  readAhead(after: { readonly number: bigint; readonly hash: string }, final: bigint): Ahead;
  decode(logs: readonly RawLog[]): ChainEvent[];
  /** Block timestamps of the events whose rows carry them (`known`: headers already read). */
  timestamps(events: readonly ChainEvent[], known: readonly BlockHeader[]): Promise<Map<bigint, number>>;
}

export function createChainReader(options: {
  readonly rpc: RpcClient;
  readonly chainId: number;
  readonly decoder: EventDecoder;
  readonly logger: Logger;
  /** Lower-case. */
  readonly fundAddress: string;
  readonly maxBlockRange: number;
}): ChainReader {
  const { rpc, logger } = options;
  const widest = BigInt(options.maxBlockRange);
  let range = widest;
  let rangeSuccesses = 0;

  /** `eth_getLogs` over [from, to], narrowing `to` until the node accepts the range. */
  const logsInRange = async (from: bigint, to: bigint) => {
    for (;;) {
      try {
        const logs = await rpc.logs({ address: options.fundAddress, fromBlock: from, toBlock: to });
        rangeSuccesses += 1;
        if (rangeSuccesses >= GROW_AFTER && range < widest) {
          range = range * 2n > widest ? widest : range * 2n;
          rangeSuccesses = 0;
        }
        return { logs, to };
      } catch (error) {
        if (!(error instanceof RangeTooWideError) || to === from) throw error;
        rangeSuccesses = 0;
        const span = (to - from + 1n) / 2n;
        range = span > 0n ? span : 1n;
        to = from + range - 1n;
        logger.info("narrowing the block range", { from: from.toString(), to: to.toString(), error: error.message });
      }
    }
  };

  const reader: ChainReader = {
    async observe() {
      const [number, tag] = await Promise.allSettled([rpc.blockNumber(), rpc.finalizedNumber()]);
      return { head: valueOf(number), tagged: valueOf(tag) };
    },
    rangeEnd: (after, final) => (after + range < final ? after + range : final),
    async fetchRange(from, wanted) {
      const started = performance.now();
      // The last block's header is asked for beside the logs: a range is seldom narrowed.
      const [read, header] = await Promise.allSettled([logsInRange(from, wanted), rpc.block(wanted)]);
      const { logs, to } = valueOf(read);
      const end = to === wanted ? valueOf(header) : await rpc.block(to);
      if (!end) return undefined;
      const events = reader.decode(logs);
      const timestamps = await reader.timestamps(events, [end]);
      const prepared = prepare(options.chainId, events, timestamps);
      return { from, to, events, end, timestamps, prepared, fetchMs: performance.now() - started };
    },
    readAhead(after, final) {
      const next: Ahead = {
        after,
        view: reader.observe(),
        range: reader.fetchRange(after.number + 1n, reader.rangeEnd(after.number, final)),
      };
      // Its failure is the next step's to report (or nobody's, if it is dropped).
      next.view.catch(() => undefined);
      next.range.catch(() => undefined);
      return next;
    },
    decode: (logs) =>
      logs.flatMap((log) => {
        if (log.removed === true) return [];
        const event = options.decoder.decode(log);
        return event ? [event] : [];
      }),
    async timestamps(events, known) {
      const result = new Map<bigint, number>(known.map((block) => [block.number, block.timestamp]));
      const missing = [
        ...new Set(
          events.filter((e) => STAMPED.has(e.event.type) && !result.has(e.blockNumber)).map((e) => e.blockNumber),
        ),
      ];
      for (let start = 0; start < missing.length; start += HEADER_REQUESTS_IN_FLIGHT) {
        const headers = await Promise.allSettled(
          missing.slice(start, start + HEADER_REQUESTS_IN_FLIGHT).map((number) => rpc.block(number)),
        );
        for (const header of headers.map(valueOf)) if (header) result.set(header.number, header.timestamp);
      }
      return result;
    },
  };
  return reader;
}
