/**
 * The listener's backfill through a JSON-RPC node that misbehaves the way public endpoints do: it
 * refuses `eth_getLogs` ranges wider than a few blocks (the two messages nodes use for it) and
 * answers every few requests with HTTP 429. The listener narrows its ranges, retries the rate
 * limits with backoff, and still stores every event exactly once.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Channel, PaimonFund__factory } from "@paimon/contracts";
import { describe, expect, vi } from "vitest";
import { test as base } from "./fixture";
import {
  eventsOnChain,
  listenerEnv,
  metricValue,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursor,
  waitForLine,
  type Chain,
} from "./testing";

/** The widest `eth_getLogs` range the faulty node answers. */
const NODE_MAX_RANGE = 16;
/** Every this many requests is answered 429. */
const RATE_LIMIT_EVERY = 6;
/** Blocks of events mined before the listener starts: several of the listener's widest ranges. */
const BACKFILL_BLOCKS = 120;
const MAX_BLOCK_RANGE = 64;
const FINALITY_DEPTH = 2;

type Answer = "forwarded" | "refused" | "rate_limited";

interface RecordedRequest {
  readonly method: string;
  /** The params as sent, to recognise a retry. */
  readonly params: string;
  /** For `eth_getLogs` by block range. */
  readonly range: { readonly from: number; readonly to: number } | undefined;
  readonly answer: Answer;
}

interface FaultyRpc {
  readonly url: string;
  /** Every request, in the order it came, with how it was answered. */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/** A JSON-RPC proxy to `target` that refuses wide log ranges and rate-limits every k-th request. */
async function startFaultyRpc(target: string): Promise<FaultyRpc> {
  const requests: RecordedRequest[] = [];
  let refusals = 0;
  const answer = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const call = JSON.parse(body) as {
      id: number;
      method: string;
      params: unknown[];
    };
    const filter = call.method === "eth_getLogs" ? (call.params[0] as { fromBlock?: string; toBlock?: string }) : {};
    const range =
      filter.fromBlock !== undefined && filter.toBlock !== undefined
        ? {
            from: Number(BigInt(filter.fromBlock)),
            to: Number(BigInt(filter.toBlock)),
          }
        : undefined;
    const record = (outcome: Answer) =>
      requests.push({
        method: call.method,
        params: JSON.stringify(call.params),
        range,
        answer: outcome,
      });

    if ((requests.length + 1) % RATE_LIMIT_EVERY === 0) {
      record("rate_limited");
      response.writeHead(429, { "content-type": "text/plain" }).end("Too Many Requests");
      return;
    }
    if (range && range.to - range.from + 1 > NODE_MAX_RANGE) {
      record("refused");
      // The two ways nodes say it: a result limit (-32005, as Infura) and a range limit.
      const error =
        refusals++ % 2 === 0
          ? { code: -32005, message: "query returned more than 10000 results" }
          : { code: -32000, message: "block range is too wide" };
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id: call.id, error }));
      return;
    }
    record("forwarded");
    const upstream = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    response.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
  };
  const server = http.createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** The faulty node in front of the devnet. */
const test = base.extend("rpc", { scope: "file" }, async ({ chain }, { onCleanup }) => {
  const rpc = await startFaultyRpc(chain.devnet.httpUrl);
  onCleanup(() => rpc.close());
  return rpc;
});

/**
 * One transaction per block (the node's unlocked accounts sign, so nothing is estimated or signed
 * here): layer reports, batches of redemption requests and single ones in turn.
 */
async function mineBlocksOfEvents(chain: Chain, blocks: number): Promise<void> {
  const fund = PaimonFund__factory.createInterface();
  const [first, second, third] = chain.holders;
  if (!first || !second || !third) throw new Error("no holders");
  const holders = [first, second, third];
  for (let i = 0; i < blocks; i++) {
    const holder = holders[i % holders.length] ?? first;
    const [from, data] =
      i % 3 === 0
        ? [chain.operator.address, fund.encodeFunctionData("reportLayerValues", [BigInt(i) * 1_000n, 1_000n])]
        : i % 3 === 1
          ? [holder.address, fund.encodeFunctionData("requestRedemptions", [[1_000n, 2_000n], Channel.Standard])]
          : [holder.address, fund.encodeFunctionData("requestRedemption", [3_000n, Channel.Instant])];
    await chain.provider.send("eth_sendTransaction", [{ from, to: chain.address, data }]);
  }
}

describe("the event listener against a node that refuses wide ranges and rate-limits", () => {
  test("when it backfills through range errors and 429s, then every event lands exactly once", async ({
    chain,
    database,
    rpc,
  }) => {
    await mineBlocksOfEvents(chain, BACKFILL_BLOCKS);
    const head = await chain.provider.getBlockNumber();

    const env = listenerEnv(chain, database.url, {
      BSC_RPC_URL: rpc.url,
      MAX_BLOCK_RANGE: String(MAX_BLOCK_RANGE),
      FINALITY_DEPTH: String(FINALITY_DEPTH),
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const listener = spawnListener(env);
    try {
      const port = await listener.port;
      await waitForCursor(database.db, head);

      const stored = await database.db
        .selectFrom("chain_events")
        .select(["block_hash", "log_index", "event_type"])
        .orderBy("block_number")
        .orderBy("log_index")
        .execute();
      const truth = await eventsOnChain(chain);
      expect(truth.length).toBeGreaterThan(BACKFILL_BLOCKS);
      expect(stored.map((e) => [e.block_hash, e.log_index, e.event_type])).toEqual(
        truth.map((e) => [e.blockHash, e.logIndex, e.name]),
      );

      const ranges = rpc.requests.flatMap(({ range, answer }) => (range ? [{ ...range, answer }] : []));
      const width = (r: { from: number; to: number }) => r.to - r.from + 1;
      // It starts as wide as allowed, is refused, and asks again for less from the same block.
      expect(ranges[0]).toMatchObject({ from: 0, to: MAX_BLOCK_RANGE - 1 });
      const refused = ranges.filter((r) => r.answer === "refused");
      expect(refused.length).toBeGreaterThan(0);
      for (const [index, r] of ranges.entries()) {
        if (r.answer !== "refused") continue;
        const next = ranges.slice(index + 1).find((later) => later.from === r.from);
        expect(next && width(next)).toBeLessThan(width(r));
      }
      // The ranges it was answered are at most the node's limit and tile the final blocks once each.
      const answered = ranges.filter((r) => r.answer === "forwarded");
      for (const r of answered) expect(width(r)).toBeLessThanOrEqual(NODE_MAX_RANGE);
      expect(answered.map((r) => r.from)).toEqual([0, ...answered.slice(0, -1).map((r) => r.to + 1)]);
      expect(answered.at(-1)?.to).toBe(head - FINALITY_DEPTH);
      await waitForLine(listener, "narrowing the block range");

      // Every request answered 429 is asked again (the last ones may be waiting out their backoff).
      const limited = rpc.requests.flatMap((r, index) => (r.answer === "rate_limited" ? [index] : []));
      expect(limited.length).toBeGreaterThan(0);
      await vi.waitFor(
        () => {
          for (const index of limited) {
            const { method, params } = rpc.requests[index]!;
            expect(
              rpc.requests.slice(index + 1).some((r) => r.method === method && r.params === params),
              `${method} ${params} retried`,
            ).toBe(true);
          }
        },
        { timeout: 30_000, interval: 50 },
      );

      const sample = "paimon_chain_rpc_request_duration_seconds_count";
      expect(
        await metricValue(port, sample, {
          method: "eth_getLogs",
          outcome: "range_error",
        }),
      ).toBe(refused.length);
      const rateLimited = await metricValue(port, sample, {
        outcome: "rate_limited",
      });
      expect(rateLimited).toBeGreaterThan(0);
      expect(rateLimited).toBeLessThanOrEqual(rpc.requests.filter((r) => r.answer === "rate_limited").length);
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
    expect((await listener.exited).code).toBe(0);
  });
});
