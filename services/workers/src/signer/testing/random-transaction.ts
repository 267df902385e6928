/**
 * Random transactions of both types the operator sends, over the whole range of every field
 * (nonces up to 2^53 − 1, values up to 2^256 − 1, chain ids from 1 to beyond 2^32, calldata from
 * empty to a few hundred bytes), for checking signatures against ethers' own recovery.
 */
import { randomBytes, randomInt } from "node:crypto";
import { getAddress, hexlify } from "ethers";
import type { UnsignedTransaction } from "../signer";

const randomBigInt = (maxBits: number): bigint => {
  const bits = randomInt(0, maxBits + 1);
  if (bits === 0) return 0n;
  const value = BigInt(hexlify(randomBytes(Math.ceil(bits / 8))));
  return value & ((1n << BigInt(bits)) - 1n);
};

export function randomTransaction(): UnsignedTransaction {
  const common = {
    chainId: 1n + randomBigInt(randomInt(0, 2) === 0 ? 16 : 48),
    nonce: Number(randomBigInt(53)),
    gasLimit: 21_000n + randomBigInt(25),
    to: getAddress(hexlify(randomBytes(20))),
    data: hexlify(randomBytes(randomInt(0, 4) === 0 ? 0 : randomInt(1, 400))),
    value: randomBigInt(256),
  };
  if (randomInt(0, 2) === 0) return { ...common, type: 0, gasPrice: randomBigInt(64) };
  const maxFeePerGas = randomBigInt(64);
  return {
    ...common,
    type: 2,
    maxFeePerGas,
    maxPriorityFeePerGas: maxFeePerGas === 0n ? 0n : randomBigInt(64) % (maxFeePerGas + 1n),
  };
}
