/**
 * Fees of the operator's transactions. The first attempt pays the market: twice the next block's
 * base fee plus the configured priority fee (EIP-1559), or the node's gas price (legacy), never
 * above the configured cap. A replacement must outbid the attempt it replaces by at least 10 % on
 * both fields (what geth's pool, BSC's and Hardhat's demand) and pays at least the market.
 */
import type { Chain } from "./chain";

export interface FeeSettings {
  /** 2 (EIP-1559) or 0 (legacy, with EIP-155 replay protection). */
  readonly type: 0 | 2;
  /** The priority fee (tip) offered per gas, in wei. */
  readonly priorityFee: bigint;
  /** The highest fee per gas an original or a replacement may offer, in wei. */
  readonly maxFee: bigint;
  /** The highest fee per gas a cancellation may offer, in wei: freeing the lane is worth more. */
  readonly cancelMaxFee: bigint;
}

/** For a legacy transaction both fields hold its gas price. */
export interface Fees {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

/** The smallest increase a node accepts for a replacement at the same nonce, in percent. */
export const REPLACEMENT_BUMP_PERCENT = 10n;

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** `value` raised by at least `REPLACEMENT_BUMP_PERCENT`, rounded up, and by at least 1 wei. */
export const bumped = (value: bigint) => max(value + 1n, (value * (100n + REPLACEMENT_BUMP_PERCENT) + 99n) / 100n);

export async function marketFees(chain: Chain, settings: FeeSettings): Promise<Fees> {
  if (settings.type === 2) {
    const baseFee = await chain.baseFee();
    if (baseFee !== undefined) {
      const maxFeePerGas = min(baseFee * 2n + settings.priorityFee, settings.maxFee);
      return { maxFeePerGas, maxPriorityFeePerGas: min(settings.priorityFee, maxFeePerGas) };
    }
  }
  const gasPrice = min(max(await chain.gasPrice(), settings.priorityFee), settings.maxFee);
  return { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice };
}

/**
 * What replaces `previous`: each field at least 10 % above it and at least the market's (which
 * is already capped; the result may exceed the cap, for the caller to judge).
 */
export function replacementFees(previous: Fees, market: Fees): Fees {
  const maxPriorityFeePerGas = max(bumped(previous.maxPriorityFeePerGas), market.maxPriorityFeePerGas);
  const maxFeePerGas = max(max(bumped(previous.maxFeePerGas), market.maxFeePerGas), maxPriorityFeePerGas);
  return { maxFeePerGas, maxPriorityFeePerGas };
}
