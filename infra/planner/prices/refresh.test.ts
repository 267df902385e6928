import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PricingClient } from "@aws-sdk/client-pricing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { answerOf, productPrice } from "./price-list";
import { buildCommand, formatPriceTable, runRefresh, type RefreshIo, type RefreshOptions } from "./refresh";
import { findPrice, loadPriceTable, parsePriceTable, PRICE_TABLE_FILE } from "./table";

interface Exchange {
  readonly request: { readonly ServiceCode: string; readonly Filters: { Field: string; Value: string }[] };
  readonly response: { readonly FormatVersion: string; readonly PriceList: string[] };
}
const recorded = (
  JSON.parse(readFileSync(path.join(__dirname, "fixtures", "get-products.json"), "utf8")) as {
    exchanges: Exchange[];
  }
).exchanges;
const filterKey = (filters: readonly { Field: string; Value: string }[]) =>
  filters
    .map(({ Field, Value }) => `${Field}=${Value}`)
    .sort()
    .join("&");

/**
 * A local server speaking the Price List API's wire protocol (AWS JSON 1.1): it answers
 * GetProducts from the recorded exchanges, a page of MaxResults at a time, and an empty
 * PriceList for any other filter, as the API does.
 */
function priceListServer(): Promise<{
  url: string;
  server: Server;
  seen: { headers: IncomingHttpHeaders; body: unknown }[];
}> {
  const seen: { headers: IncomingHttpHeaders; body: unknown }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        ServiceCode: string;
        Filters: { Field: string; Value: string }[];
        MaxResults?: number;
        NextToken?: string;
      };
      seen.push({ headers: request.headers, body });
      if (request.headers["x-amz-target"] !== "AWSPriceListService.GetProducts") {
        response.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify({ __type: "InvalidParameterException", message: "unknown operation" }));
        return;
      }
      const match = recorded.find(
        (exchange) =>
          exchange.request.ServiceCode === body.ServiceCode &&
          filterKey(exchange.request.Filters) === filterKey(body.Filters),
      );
      const all = match?.response.PriceList ?? [];
      const start = Number(body.NextToken ?? "0");
      const size = body.MaxResults ?? 100;
      const page = all.slice(start, start + size);
      response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      response.end(
        JSON.stringify({
          FormatVersion: "aws_v1",
          PriceList: page,
          ...(start + size < all.length ? { NextToken: String(start + size) } : {}),
        }),
      );
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen });
    });
  });
}

const close = (server: Server) =>
  new Promise<void>((resolve, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolve();
    });
  });

function captureIo(): RefreshIo & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    out: (text) => (out += text),
    err: (text) => (err += text),
    // The real SDK client, pointed at the local server; the SigV4 signature needs some credentials.
    client: (options: RefreshOptions) =>
      new PricingClient({
        region: options.apiRegion,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        credentials: { accessKeyId: "AKIDPRICELISTTEST", secretAccessKey: "price-list-test" },
        maxAttempts: 1,
      }),
    today: () => "2026-12-05",
    stdout: () => out,
    stderr: () => err,
  };
}

describe("pnpm prices:refresh", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "paimon-prices-"));
    file = path.join(dir, "prices.json");
    copyFileSync(PRICE_TABLE_FILE, file);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("when the API answers, then each row it prices gets its SKU, price and offer date, and the rest are kept", async () => {
    const api = await priceListServer();
    try {
      const io = captureIo();
      let code: number | undefined;
      await buildCommand(io, (exit) => (code = exit)).parseAsync(["--file", file, "--endpoint", api.url], {
        from: "user",
      });
      expect(code).toBe(0);

      const committed = loadPriceTable();
      const queried = committed.prices.filter((row) => row.query);
      expect(api.seen).toHaveLength(queried.length);
      // Signed calls of the real operation, with the row's filters.
      expect(api.seen[0]?.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDPRICELISTTEST\//);
      expect(api.seen.map((call) => call.body)).toContainEqual(
        expect.objectContaining({
          ServiceCode: "AmazonEC2",
          FormatVersion: "aws_v1",
          Filters: [{ Type: "TERM_MATCH", Field: "usagetype", Value: "APS1-NatGateway-Hours" }],
        }),
      );

      const table = loadPriceTable(file);
      expect(table.collected).toBe("2026-12-05");
      expect(findPrice(table, "nat.hour", "ap-southeast-1")).toEqual(
        expect.objectContaining({
          price: 0.059,
          source:
            "AWS Price List API (SKU 98TA3WPUP3A4AH4Y; offer version 20260924165117): $0.059 per NAT Gateway Hour",
          refs: ["aws-price-list-api"],
          date: "2026-09-24",
        }),
      );
      expect(findPrice(table, "s3.standard", "ap-southeast-1")).toEqual(
        expect.objectContaining({ price: 0.025, date: "2026-09-18" }),
      );
      expect(table.sources["aws-price-list-api"]?.name).toBe("AWS Price List API, GetProducts, queried 2026-12-05");
      // Nothing recorded for it: still unknown, still the old source.
      expect(findPrice(table, "rds.instance:postgresql:db.r6g.large:multi-az", "ap-southeast-1")).toEqual(
        findPrice(committed, "rds.instance:postgresql:db.r6g.large:multi-az", "ap-southeast-1"),
      );
      expect(io.stdout()).toContain(
        "rds.instance:postgresql:db.r6g.large:multi-az (ap-southeast-1): no product — kept unknown",
      );
      expect(io.stdout()).toMatch(/prices:refresh: 6 of \d+ rows from the Price List API; wrote /);
      // Written as the repository's Prettier writes it.
      expect(readFileSync(file, "utf8")).toBe(await formatPriceTable(table));
    } finally {
      await close(api.server);
    }
  });

  it("when the API cannot be reached, then it fails naming the endpoint and leaves the table untouched", async () => {
    const api = await priceListServer();
    await close(api.server);
    const before = readFileSync(file, "utf8");
    const io = captureIo();
    expect(await runRefresh({ file, apiRegion: "us-east-1", endpoint: api.url }, io)).toBe(1);
    expect(io.stderr()).toMatch(
      new RegExp(
        `^prices:refresh: cannot use the AWS Price List API at ${api.url} \\(GetProducts for .+ failed: .+\\); .+ is unchanged\\n$`,
      ),
    );
    expect(readFileSync(file, "utf8")).toBe(before);
  });
});

describe("reading GetProducts answers", () => {
  const [natHours] = recorded[0]!.response.PriceList;
  const entry = natHours!;
  const withPrice = (usd: string, sku: string) =>
    entry.replaceAll("98TA3WPUP3A4AH4Y", sku).replace('"USD":"0.0590000000"', `"USD":"${usd}"`);

  it("when products of one query quote different prices, then the answer is ambiguous", () => {
    const answer = answerOf([entry, withPrice("0.0700000000", "OTHERSKU0000000A")], "Hrs");
    expect(answer.outcome).toBe("ambiguous");
  });

  it("when products agree, then the price is theirs and every SKU is named", () => {
    expect(answerOf([entry, withPrice("0.0590000000", "OTHERSKU0000000A")], "Hrs")).toEqual({
      outcome: "found",
      price: expect.objectContaining({ usd: 0.059, sku: "98TA3WPUP3A4AH4Y" }) as unknown,
      skus: ["98TA3WPUP3A4AH4Y", "OTHERSKU0000000A"],
    });
  });

  it("when a product is tiered, then the first tier's price is read; another unit matches nothing", () => {
    const [s3] = recorded.find((exchange) => exchange.request.ServiceCode === "AmazonS3")!.response.PriceList;
    const tiered = JSON.parse(s3!) as {
      terms: { OnDemand: Record<string, { priceDimensions: Record<string, Record<string, unknown>> }> };
    };
    const term = Object.values(tiered.terms.OnDemand)[0]!;
    // A made-up second tier, listed first, to show the order does not matter.
    term.priceDimensions = {
      next: { ...Object.values(term.priceDimensions)[0], beginRange: "51200", pricePerUnit: { USD: "0.0240000000" } },
      ...term.priceDimensions,
    };
    expect(productPrice(JSON.stringify(tiered), "GB-Mo")?.usd).toBe(0.025);
    expect(productPrice(JSON.stringify(tiered), "Hrs")).toBeUndefined();
  });
});

describe("the price table", () => {
  it("when the committed table is loaded, then it validates and every known price names its source and date", async () => {
    const table = loadPriceTable();
    for (const row of table.prices.filter((entry) => entry.price !== null)) {
      expect(row.source, `${row.id}@${row.region}`).not.toMatch(/not found/);
      expect(row.refs.length, `${row.id}@${row.region}`).toBeGreaterThan(0);
    }
    expect(table.prices.filter((row) => row.price === null).every((row) => row.date === null)).toBe(true);
    // In the form a refresh writes it, so that a refresh's diff shows only what the API changed.
    expect(await formatPriceTable(table)).toBe(readFileSync(PRICE_TABLE_FILE, "utf8"));
  });

  it("when a row is malformed, then loading names each bad key", () => {
    const committed = () => JSON.parse(readFileSync(PRICE_TABLE_FILE, "utf8")) as { prices: Record<string, unknown>[] };
    const mistyped = committed();
    mistyped.prices[0]!["price"] = "0.12";
    mistyped.prices[2]!["unit"] = "fortnight";
    mistyped.prices[3]!["colour"] = "blue";
    expect(() => parsePriceTable(mistyped, "prices.json")).toThrow(
      /^prices\.json: prices\[0\]\.price: .*expected number.*; prices\[2\]\.unit: .*; prices\[3\]\.colour: unknown key$/,
    );
    const unsourced = committed();
    unsourced.prices[1]!["refs"] = ["no-such-source"];
    unsourced.prices.push({ ...unsourced.prices[0] });
    expect(() => parsePriceTable(unsourced, "prices.json")).toThrow(
      /prices\[1\]\.refs\[0\]: no source "no-such-source"; prices\[\d+\]\.id: ec2\.instance:m6i\.large@ap-southeast-1 twice/,
    );
  });
});
