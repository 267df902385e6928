import { paginateGetProducts, type PricingClient } from "@aws-sdk/client-pricing";
import { z } from "zod";
import type { PriceQuery } from "./table";

/**
 * Reading the AWS Price List API's GetProducts answers: each `PriceList` entry is a JSON string
 * holding one product (SKU, attributes) and its terms; the on-demand term's price dimensions
 * carry the unit, the tier (`beginRange`) and the USD price.
 */

const dimensionSchema = z.object({
  unit: z.string(),
  beginRange: z.string(),
  endRange: z.string(),
  description: z.string(),
  pricePerUnit: z.record(z.string(), z.string()),
});

const productSchema = z.object({
  product: z.object({
    sku: z.string(),
    productFamily: z.string().optional(),
    attributes: z.record(z.string(), z.string()),
  }),
  serviceCode: z.string(),
  terms: z.object({
    OnDemand: z
      .record(z.string(), z.object({ sku: z.string(), priceDimensions: z.record(z.string(), dimensionSchema) }))
      .optional(),
  }),
  version: z.string(),
  publicationDate: z.string(),
});

/** One product's on-demand price in the unit asked for, at the first tier. */
export interface ProductPrice {
  readonly sku: string;
  readonly usd: number;
  readonly description: string;
  readonly version: string;
  readonly publicationDate: string;
}

export type PriceListAnswer =
  | { readonly outcome: "found"; readonly price: ProductPrice; readonly skus: readonly string[] }
  | { readonly outcome: "none" }
  | { readonly outcome: "ambiguous"; readonly prices: readonly ProductPrice[] };

/** The price a product quotes in `unit`, from its first tier (`beginRange` 0); undefined if it quotes none. */
export function productPrice(entry: string, unit: string): ProductPrice | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry);
  } catch (error) {
    throw new Error(`a PriceList entry is not JSON (${(error as Error).message})`, { cause: error });
  }
  const result = productSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`a PriceList entry is not a product: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""}`);
  }
  const product = result.data;
  for (const term of Object.values(product.terms.OnDemand ?? {})) {
    for (const dimension of Object.values(term.priceDimensions)) {
      const usd = dimension.pricePerUnit["USD"];
      if (dimension.unit !== unit || dimension.beginRange !== "0" || usd === undefined) continue;
      const value = Number(usd);
      if (!Number.isFinite(value)) continue;
      return {
        sku: product.product.sku,
        usd: value,
        description: dimension.description,
        version: product.version,
        publicationDate: product.publicationDate,
      };
    }
  }
  return undefined;
}

/**
 * What a GetProducts answer says a row costs: one price when every matching product agrees on
 * it (engines and operating systems may share a usage type), ambiguous when they differ.
 */
export function answerOf(entries: readonly string[], unit: string): PriceListAnswer {
  const prices = entries.map((entry) => productPrice(entry, unit)).filter((price) => price !== undefined);
  const [first] = prices;
  if (!first) return { outcome: "none" };
  if (prices.some((price) => price.usd !== first.usd)) return { outcome: "ambiguous", prices };
  return { outcome: "found", price: first, skus: [...new Set(prices.map((price) => price.sku))].sort() };
}

/** Every product GetProducts returns for a query, page by page. */
export async function getProducts(client: PricingClient, query: PriceQuery): Promise<string[]> {
  const entries: string[] = [];
  const pages = paginateGetProducts(
    { client, pageSize: 100 },
    {
      ServiceCode: query.serviceCode,
      FormatVersion: "aws_v1",
      Filters: Object.entries(query.filters).map(([Field, Value]) => ({ Type: "TERM_MATCH", Field, Value })),
    },
  );
  for await (const page of pages) {
    const list: unknown = page.PriceList;
    if (!Array.isArray(list)) continue;
    // The SDK hands each entry over as a String object holding the JSON (its LazyJsonString).
    for (const entry of list)
      entries.push(typeof entry === "string" || entry instanceof String ? String(entry) : JSON.stringify(entry));
  }
  return entries;
}
