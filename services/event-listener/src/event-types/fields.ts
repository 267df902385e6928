/**
 * How the fund's log arguments become the books' values: amounts as decimal strings in the fund's
 * unit (never floats), ids in decimal, addresses and hashes lower-case — the way the database
 * stores them.
 */
import { FUND_DECIMALS } from "@paimon/contracts";
import { formatShortest } from "@paimon/core/fund";

/** An integer of the fund's unit as a decimal string (`1500000` → `"1.5"`), as ethers' formatUnits writes it. */
export const fundUnits = (value: bigint): string => formatShortest(value, FUND_DECIMALS);

/** An amount or a number of shares (a uint of the fund's unit). */
export const units = (value: unknown): string => fundUnits(value as bigint);
/** An id (a uint) in decimal. */
export const decimal = (value: unknown): string => (value as bigint).toString();
/** An address or a bytes32, lower-case. */
export const lowerHex = (value: unknown): string => (value as string).toLowerCase();
/** A small uint (a layer, a channel) as a number. */
export const small = (value: unknown): number => Number(value);
