/**
 * `pnpm prices:refresh`: asks the AWS Price List API (GetProducts) for every row of the price
 * table that names a query, and rewrites the table with what it answers, each refreshed row's
 * source "AWS Price List API (SKU …)" and date that of the offer. Needs AWS credentials (any IAM
 * identity allowed `pricing:GetProducts`) and the network; when the API cannot be reached, it
 * says so and leaves the table as it was. See README.md, "Reading a plan diff".
 */
import { writeFileSync, renameSync } from "node:fs";
import { PricingClient } from "@aws-sdk/client-pricing";
import { Command, Option } from "commander";
import { format, resolveConfig } from "prettier";
import { answerOf, getProducts, type PriceListAnswer } from "./price-list";
import {
  loadPriceTable,
  parsePriceTable,
  PRICE_TABLE_FILE,
  type PriceQuery,
  type PriceRow,
  type PriceTable,
} from "./table";

/** The regions that serve the Price List API. */
export const PRICE_LIST_REGIONS = ["us-east-1", "ap-south-1", "eu-central-1"] as const;

const API_SOURCE = "aws-price-list-api";
const API_DOCS = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html";

/** What happened to one row. */
export interface RowOutcome {
  readonly id: string;
  readonly region: string;
  readonly outcome: "updated" | "unchanged" | "no product" | "ambiguous" | "no query";
  readonly detail: string;
}

/** The API could not be asked: nothing is written. */
export class PriceListUnreachableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PriceListUnreachableError";
  }
}

export interface RefreshDeps {
  /** GetProducts for one query, every page. */
  readonly getProducts: (query: PriceQuery) => Promise<readonly string[]>;
  /** Today, as `YYYY-MM-DD`: the table's new `collected`. */
  readonly today: string;
}

function refreshed(row: PriceRow, answer: Extract<PriceListAnswer, { outcome: "found" }>): PriceRow {
  const { price, skus } = answer;
  const rest = { ...row };
  delete rest.note;
  return {
    ...rest,
    price: price.usd,
    source: `AWS Price List API (SKU ${skus.join(", ")}; offer version ${price.version}): ${price.description}`,
    refs: [API_SOURCE],
    date: price.publicationDate.slice(0, 10),
  };
}

/** The table with every row the API prices rewritten; rows it cannot price keep what they had. */
export async function refreshPriceTable(
  table: PriceTable,
  deps: RefreshDeps,
): Promise<{ table: PriceTable; outcomes: RowOutcome[] }> {
  const outcomes: RowOutcome[] = [];
  const rows: PriceRow[] = [];
  for (const row of table.prices) {
    const note = (outcome: RowOutcome["outcome"], detail: string) =>
      outcomes.push({ id: row.id, region: row.region, outcome, detail });
    if (!row.query) {
      note("no query", "kept: the row names no Price List query");
      rows.push(row);
      continue;
    }
    let entries: readonly string[];
    try {
      entries = await deps.getProducts(row.query);
    } catch (error) {
      throw new PriceListUnreachableError(
        `GetProducts for ${row.id} (${row.region}) failed: ${(error as Error).name}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const answer = answerOf(entries, row.query.unit);
    if (answer.outcome === "none") {
      note("no product", `kept ${row.price ?? "unknown"}: no product in ${row.query.unit} matched`);
      rows.push(row);
    } else if (answer.outcome === "ambiguous") {
      note(
        "ambiguous",
        `kept ${row.price ?? "unknown"}: products disagree (${answer.prices.map((p) => `${p.sku} ${p.usd}`).join(", ")}); narrow the query`,
      );
      rows.push(row);
    } else {
      const next = refreshed(row, answer);
      note(
        next.price === row.price ? "unchanged" : "updated",
        `${row.price ?? "unknown"} → ${next.price ?? "unknown"}`,
      );
      rows.push(next);
    }
  }
  const used = new Set(rows.flatMap((row) => row.refs));
  const sources = Object.fromEntries(
    Object.entries({
      ...table.sources,
      ...(used.has(API_SOURCE)
        ? {
            [API_SOURCE]: {
              name: `AWS Price List API, GetProducts, queried ${deps.today}`,
              url: API_DOCS,
              public: true,
            },
          }
        : {}),
    }).filter(([id]) => used.has(id)),
  );
  const next = parsePriceTable({ ...table, collected: deps.today, sources, prices: rows }, "the refreshed table");
  return { table: next, outcomes };
}

/** The table's text as committed: JSON the way the repository's Prettier writes it, wherever it goes. */
export async function formatPriceTable(table: PriceTable): Promise<string> {
  const options = (await resolveConfig(PRICE_TABLE_FILE)) ?? {};
  return format(JSON.stringify(table), { ...options, parser: "json" });
}

export interface RefreshOptions {
  readonly file: string;
  readonly apiRegion: (typeof PRICE_LIST_REGIONS)[number];
  /** Another GetProducts endpoint (a test server, a VPC endpoint). */
  readonly endpoint?: string;
}

export interface RefreshIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly client: (options: RefreshOptions) => PricingClient;
  readonly today: () => string;
}

/** Runs a refresh; resolves to the exit code. The table is written only when every query was answered. */
export async function runRefresh(options: RefreshOptions, io: RefreshIo): Promise<number> {
  const table = loadPriceTable(options.file);
  const client = io.client(options);
  const where = options.endpoint ?? `the ${options.apiRegion} endpoint`;
  try {
    const result = await refreshPriceTable(table, {
      getProducts: (query) => getProducts(client, query),
      today: io.today(),
    });
    for (const outcome of result.outcomes)
      io.out(`${outcome.id} (${outcome.region}): ${outcome.outcome} — ${outcome.detail}\n`);
    const temporary = `${options.file}.${process.pid}.tmp`;
    writeFileSync(temporary, await formatPriceTable(result.table));
    renameSync(temporary, options.file);
    const updated = result.outcomes.filter(
      (outcome) => outcome.outcome === "updated" || outcome.outcome === "unchanged",
    );
    io.out(
      `prices:refresh: ${updated.length} of ${result.outcomes.length} rows from the Price List API; wrote ${options.file}\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof PriceListUnreachableError)) throw error;
    io.err(
      `prices:refresh: cannot use the AWS Price List API at ${where} (${error.message}); ${options.file} is unchanged\n`,
    );
    return 1;
  } finally {
    client.destroy();
  }
}

export function buildCommand(io: RefreshIo, done: (code: number) => void): Command {
  return new Command("prices:refresh")
    .description("Refresh the plan diff's price table from the AWS Price List API (GetProducts)")
    .option("--file <path>", "the price table to rewrite", PRICE_TABLE_FILE)
    .addOption(
      new Option("--api-region <region>", "the Price List API's region")
        .choices(PRICE_LIST_REGIONS)
        .default("us-east-1"),
    )
    .option("--endpoint <url>", "a GetProducts endpoint other than the region's")
    .showHelpAfterError(false)
    .configureOutput({ writeErr: io.err, writeOut: io.out })
    .action(async (options: RefreshOptions) => {
      done(await runRefresh(options, io));
    });
}

/** A client that gives up quickly when nothing answers, rather than hanging on an offline machine. */
export function pricingClient(options: RefreshOptions): PricingClient {
  return new PricingClient({
    region: options.apiRegion,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

async function main(): Promise<void> {
  const io: RefreshIo = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    client: pricingClient,
    today: () => new Date().toISOString().slice(0, 10),
  };
  let code = 0;
  try {
    const argv = process.argv.filter((arg, index) => !(arg === "--" && index >= 2));
    await buildCommand(io, (exit) => (code = exit)).parseAsync(argv);
  } catch (error) {
    io.err(`prices:refresh: ${error instanceof Error ? error.message : String(error)}\n`);
    code = 1;
  }
  process.exitCode = code;
}

if (require.main === module) void main();
