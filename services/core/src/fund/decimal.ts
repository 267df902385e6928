/**
 * The fund's decimal arithmetic, in one place: amounts are PostgreSQL NUMERIC(78, 18) values
 * read and written as decimal strings, computed here as bigint counts of 10^-18 units. Nothing
 * on the way is a float, so a sum or a ratio is exact to its last place.
 */

/** Decimal places of an amount (NUMERIC(78, 18)). */
export const AMOUNT_PLACES = 18;
const SCALE = 10n ** BigInt(AMOUNT_PLACES);

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$/;

/** A decimal string ("1.5", "-0.25", "42") as units of 10^-18; more than 18 places is an error. */
export function toUnits(value: string): bigint {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new RangeError(`not a decimal number: ${JSON.stringify(value)}`);
  const [, sign, whole = "0", fraction = ""] = match;
  if (fraction.replace(/0+$/, "").length > AMOUNT_PLACES) {
    throw new RangeError(`more than ${AMOUNT_PLACES} decimal places: ${value}`);
  }
  const units = BigInt(whole) * SCALE + BigInt((fraction + "0".repeat(AMOUNT_PLACES)).slice(0, AMOUNT_PLACES));
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

/** `part / whole` as a decimal string with `places` decimals, rounded down; undefined when `whole` is 0. */
export function ratio(part: string | bigint, whole: string | bigint, places = 6): string | undefined {
  const p = typeof part === "bigint" ? part : toUnits(part);
  const w = typeof whole === "bigint" ? whole : toUnits(whole);
  if (w === 0n) return undefined;
  return formatUnits((p * 10n ** BigInt(places)) / w, places);
}
