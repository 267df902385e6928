/**
 * The fund's decimal arithmetic, in one place: amounts are PostgreSQL NUMERIC(78, 18) values
 * read and written as decimal strings, computed here as bigint counts of 10^-18 units. Nothing
 * on the way is a float, so a sum or a ratio is exact to its last place.
 */

/** Decimal places of an amount (NUMERIC(78, 18)). */
export const AMOUNT_PLACES = 18;
const SCALE = 10n ** BigInt(AMOUNT_PLACES);

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$/;

/**
 * A decimal string ("1.5", "-0.25", "42") as units of 10^-`places` (10^-18 unless told: the
 * contract's own unit is 10^-6); a non-zero digit past `places` is an error, never rounded away.
 */
export function toUnits(value: string, places = AMOUNT_PLACES): bigint {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new RangeError(`not a decimal number: ${JSON.stringify(value)}`);
  const [, sign, whole = "0", fraction = ""] = match;
  if (fraction.replace(/0+$/, "").length > places) {
    throw new RangeError(`more than ${places} decimal places: ${value}`);
  }
  const scale = places === AMOUNT_PLACES ? SCALE : 10n ** BigInt(places);
  const units = BigInt(whole) * scale + BigInt((fraction + "0".repeat(places)).slice(0, places) || "0");
  return sign ? -units : units;
}

/** Units of 10^-`places` as a decimal string with exactly `places` decimals ("12.500000"). */
export function formatUnits(units: bigint, places = AMOUNT_PLACES): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const scale = 10n ** BigInt(places);
  const whole = (magnitude / scale).toString();
  const text = places === 0 ? whole : `${whole}.${(magnitude % scale).toString().padStart(places, "0")}`;
  return negative ? `-${text}` : text;
}

/**
 * Units of 10^-`places` as the shortest decimal string that is exact, with at least one decimal
 * ("1.5", "2.0", "-0.000001"): how ethers' `formatUnits` writes a chain amount, and how the
 * listener's outbox payloads carry one.
 */
export function formatShortest(units: bigint, places: number): string {
  const fixed = formatUnits(units, places);
  if (places === 0) return `${fixed}.0`;
  return fixed.replace(/0+$/, "").replace(/\.$/, ".0");
}

/** `part / whole` as a decimal string with `places` decimals, rounded down; undefined when `whole` is 0. */
export function ratio(part: string | bigint, whole: string | bigint, places = 6): string | undefined {
  const p = typeof part === "bigint" ? part : toUnits(part);
  const w = typeof whole === "bigint" ? whole : toUnits(whole);
  if (w === 0n) return undefined;
  return formatUnits((p * 10n ** BigInt(places)) / w, places);
}
