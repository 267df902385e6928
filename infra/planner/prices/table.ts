import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * The committed price table the plan diff's cost estimate reads: on-demand list prices for the
 * stacks' regions, each with the source it was read from and the date of that data. A price no
 * source gave is `null` and stays unknown: the estimate names what it could not price rather
 * than guess. `pnpm prices:refresh` rewrites it from the AWS Price List API.
 */

/** The committed table, beside this module. */
export const PRICE_TABLE_FILE = path.join(__dirname, "prices.json");

/** The units a price is quoted in; `month` is per resource-month (a key, a secret, a web ACL). */
export const PRICE_UNITS = ["hour", "month", "GB-month", "GB", "request"] as const;
export type PriceUnit = (typeof PRICE_UNITS)[number];

const isoDate = z.iso.date({ message: "must be a date such as 2026-12-01" });
const region = z
  .string()
  .regex(/^([a-z]{2}(-gov)?-[a-z]+-\d|global)$/, "must be an AWS region such as ap-southeast-1, or global");

const sourceSchema = z.strictObject({
  /** What the source is, in words. */
  name: z.string().min(1),
  url: z.url().optional(),
  /** False for a document without a public copy: weaker than one anybody can read. */
  public: z.boolean(),
});

/** What to ask the Price List API's GetProducts for, to refresh one row. */
const querySchema = z.strictObject({
  serviceCode: z.string().min(1),
  /** TERM_MATCH filters, attribute name → value. */
  filters: z.record(z.string().min(1), z.string().min(1)),
  /** The Price List's own name for the unit of the price dimension wanted (`Hrs`, `GB-Mo`…). */
  unit: z.string().min(1),
});

const priceSchema = z
  .strictObject({
    /** What is priced, e.g. `ec2.instance:m6i.large`; with `region`, unique in the table. */
    id: z.string().regex(/^[a-z0-9]+(\.[a-z0-9-]+)+(:[a-z0-9.-]+)*$/, "must look like service.thing[:variant]"),
    region,
    description: z.string().min(1),
    unit: z.enum(PRICE_UNITS),
    /** USD per unit; null when no source gave it. */
    price: z.number().nonnegative().nullable(),
    /** Where the price comes from, in words (SKU, usage type, offer version when known). */
    source: z.string().min(1),
    /** Keys of `sources`. */
    refs: z.array(z.string()),
    /** The date of the data (not of copying it); null when unknown or undated. */
    date: isoDate.nullable(),
    note: z.string().min(1).optional(),
    query: querySchema.optional(),
  })
  .refine((row) => row.price !== null || row.date === null, {
    message: "an unknown price has no date",
    path: ["date"],
  });

const tableSchema = z
  .strictObject({
    currency: z.literal("USD"),
    /** When the table was put together or last refreshed. */
    collected: isoDate,
    /** AWS's own convention for a month of hourly charges. */
    hoursPerMonth: z.literal(730),
    sources: z.record(z.string().regex(/^[a-z0-9-]+$/), sourceSchema),
    prices: z.array(priceSchema).min(1),
  })
  .superRefine((table, context) => {
    const seen = new Set<string>();
    table.prices.forEach((row, index) => {
      const key = `${row.id}@${row.region}`;
      if (seen.has(key)) context.addIssue({ code: "custom", path: ["prices", index, "id"], message: `${key} twice` });
      seen.add(key);
      row.refs.forEach((ref, at) => {
        if (!(ref in table.sources))
          context.addIssue({ code: "custom", path: ["prices", index, "refs", at], message: `no source "${ref}"` });
      });
    });
  });

export type PriceTable = z.infer<typeof tableSchema>;
export type PriceRow = PriceTable["prices"][number];
export type PriceQuery = NonNullable<PriceRow["query"]>;

export class PriceTableError extends Error {
  constructor(
    readonly origin: string,
    readonly problems: readonly string[],
  ) {
    super(`${origin}: ${problems.join("; ")}`);
    this.name = "PriceTableError";
  }
}

function keyName(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (name, key) => (typeof key === "number" ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)),
    "",
  );
}

/** Checks a parsed table, naming every bad key at once. */
export function parsePriceTable(value: unknown, origin: string): PriceTable {
  const result = tableSchema.safeParse(value);
  if (result.success) return result.data;
  throw new PriceTableError(
    origin,
    result.error.issues.map((issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => `${keyName([...issue.path, key])}: unknown key`).join("; ")
        : `${keyName(issue.path) || "(table)"}: ${issue.message}`,
    ),
  );
}

/** Reads and checks a price table file (the committed one by default). */
export function loadPriceTable(file = PRICE_TABLE_FILE): PriceTable {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new PriceTableError(file, [`cannot read it (${(error as Error).message})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PriceTableError(file, [`not JSON (${(error as Error).message})`]);
  }
  return parsePriceTable(parsed, file);
}

/** The row for an item in a region, if the table has one. */
export function findPrice(table: PriceTable, id: string, region: string): PriceRow | undefined {
  return table.prices.find((row) => row.id === id && row.region === region);
}
