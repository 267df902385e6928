/**
 * Blocks of fund history made up by the tests of the listener's readers (the API's cache, the
 * workers), committed as the listener commits a block at the tip: one batch with its header and
 * cursor, through `commitBatch`. Their events are what the listener would decode from the fund's
 * logs of the same amounts — each built by its event type's own `decode` — so a reader's test sees
 * the values (NAV, amounts, ids) a real chain gives it. Free of the devnet: the API's tests import
 * this without Hardhat.
 */
import { Channel, FUND_DECIMALS } from "@paimon/contracts";
import type { Database } from "@paimon/core/db";
import { toUnits } from "@paimon/core/fund";
import type { Kysely } from "kysely";
import { layerBalancesUpdated } from "./event-types/layer-balances-updated";
import { redemptionRequested } from "./event-types/redemption-requested";
import type { ChainEvent } from "./events";
import { commitBatch, type Batch } from "./store";

/** When a synthetic block is made: this many seconds after the epoch, plus its number. */
const BLOCK_TIME_BASE_SECONDS = 1_800_000_000;

/** The holder who requests every synthetic redemption. */
const OWNER = `0x${"ab".repeat(20)}`;

/** A synthetic block's hash: distinct per number and per fork. */
export const blockHash = (number: number, fork = 0): string =>
  `0x${fork.toString(16).padStart(8, "0")}${number.toString(16).padStart(56, "0")}`;

/** The three layers' balances, as decimal strings of at most the fund's six places ("1000", "0.5"). */
export interface LayerValues {
  readonly l1: string;
  readonly l2: string;
  readonly l3: string;
}

export interface SyntheticRequest {
  /** The redemption id, in decimal. */
  readonly id: string;
  /** Its assets (its shares too), a decimal string of at most the fund's six places. */
  readonly assets: string;
  readonly channel: "instant" | "standard";
}

export interface SyntheticBlock {
  readonly number: number;
  /**
   * Which chain the block is on: a reorganised chain's blocks carry another fork number, hence
   * other hashes, and each block's parent is the block below it on the same fork. @default 0
   */
  readonly fork?: number;
  /**
   * The fork its parent is on: a reorganised chain's first block branches from the common
   * ancestor on the old fork. @default its own fork
   */
  readonly parentFork?: number;
  /** The layers' balances the block reports (a `LayerBalancesUpdated`, after its requests). */
  readonly layers?: LayerValues;
  /** Redemptions requested in the block, in log order. */
  readonly requests?: readonly SyntheticRequest[];
}

const fundAmount = (value: string) => toUnits(value, FUND_DECIMALS);

/** The block's events, as the listener decodes them from the fund's logs of the same values. */
export function syntheticEvents(block: SyntheticBlock): ChainEvent[] {
  const hash = blockHash(block.number, block.fork ?? 0);
  const requests = (block.requests ?? []).map((request) =>
    redemptionRequested.decode([
      BigInt(request.id),
      OWNER,
      fundAmount(request.assets),
      fundAmount(request.assets),
      BigInt(request.channel === "instant" ? Channel.Instant : Channel.Standard),
    ]),
  );
  const layers = block.layers
    ? [layerBalancesUpdated.decode([block.layers.l1, block.layers.l2, block.layers.l3].map(fundAmount))]
    : [];
  return [...requests, ...layers].map((event, logIndex) => ({
    blockNumber: BigInt(block.number),
    blockHash: hash,
    logIndex,
    txHash: hash,
    event,
  }));
}

export interface SyntheticCommitOptions {
  /** Blocks at or below this are final. @default 0n */
  readonly finalized?: bigint;
}

/** The batch the listener would commit for `block` at the tip: its events, its header, the cursor on it. */
export function syntheticBatch(chainId: number, block: SyntheticBlock, options: SyntheticCommitOptions = {}): Batch {
  const number = BigInt(block.number);
  const hash = blockHash(block.number, block.fork ?? 0);
  const timestamp = BLOCK_TIME_BASE_SECONDS + block.number;
  return {
    chainId,
    events: syntheticEvents(block),
    timestamps: new Map([[number, timestamp]]),
    blocks: [{ number, hash, parentHash: blockHash(block.number - 1, block.parentFork ?? block.fork ?? 0), timestamp }],
    cursor: { number, hash },
    finalized: options.finalized ?? 0n,
  };
}

/**
 * Commits `block` as the listener does at the tip: one batch, one transaction, its commit signal
 * on commit. Returns how many of its events were new.
 */
export function commitBlock(
  db: Kysely<Database>,
  chainId: number,
  block: SyntheticBlock,
  options: SyntheticCommitOptions = {},
): Promise<number> {
  return commitBatch(db, syntheticBatch(chainId, block, options));
}
