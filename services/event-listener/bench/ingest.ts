/**
 * `pnpm bench:ingest`: how fast the listener turns the chain into committed rows, beside the
 * ceiling of reading the same logs alone, on a devnet and a database of its own.
 *
 * 1. Makes at least `--events` RedemptionRequested events (batched requests, 500 per transaction).
 * 2. Raw: `eth_getLogs` over the whole history in MAX_BLOCK_RANGE ranges, nothing else — the rate
 *    no listener reading this node can beat.
 * 3. Backfill: the real listener process (`bin.ts`) from an empty database; the clock runs from
 *    its "following" line to the moment its cursor reaches the head (PostgreSQL polled every
 *    few ms), so process start-up is not counted.
 * 4. Live: with the listener at the head, `--live` single redemptions, each in its own block;
 *    for each, the time from the block's receipt to its events being committed (the cursor
 *    passing it). Work that waits for finality is released FINALITY_DEPTH blocks later on top.
 *
 * Prints the figures and whether the targets hold (printed, never asserted).
 */
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Channel } from "@paimon/contracts";
import { mine } from "@paimon/contracts/devnet";
import { createTestDatabase } from "@paimon/core/testing";
import { createRpcClient } from "../src/rpc";
import { CHECKPOINT } from "../src/store";
import { asHolder, listenerEnv, spawnListener, startChain, stopListener, testQueues } from "../src/testing";

const BATCH = 500;
const MAX_BLOCK_RANGE = 2_000;

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { events: { type: "string", default: "20000" }, live: { type: "string", default: "100" } },
    strict: true,
  });
  const wanted = Number(values.events);
  const liveRounds = Number(values.live);
  if (!Number.isInteger(wanted) || wanted < BATCH || !Number.isInteger(liveRounds) || liveRounds < 1) {
    throw new Error(`--events must be an integer ≥ ${String(BATCH)} and --live ≥ 1`);
  }

  const [chain, database] = await Promise.all([startChain(), createTestDatabase()]);
  const env = listenerEnv(chain, database.url, { MAX_BLOCK_RANGE: String(MAX_BLOCK_RANGE), LOG_LEVEL: "info" });
  const queues = testQueues(env.QUEUE_PREFIX);
  let listener: ReturnType<typeof spawnListener> | undefined;
  try {
    const [holder] = chain.holders;
    if (!holder) throw new Error("no holder");
    const fund = asHolder(chain, holder);
    await (await fund.deposit(10n ** 15n)).wait();
    const started = performance.now();
    for (let made = 0; made < wanted; made += BATCH) {
      const shares = Array.from({ length: BATCH }, (_, i) => BigInt(1_000 + ((made + i) % 997)));
      await (await fund.requestRedemptions(shares, Channel.Standard, { gasLimit: 29_000_000n })).wait();
    }
    await mine(chain.provider, 3);
    const head = BigInt(await chain.provider.getBlockNumber());
    console.log(
      `made ${String(wanted)} redemption requests in ${String(Math.ceil(wanted / BATCH))} transactions (${((performance.now() - started) / 1000).toFixed(1)} s); head ${head.toString()}`,
    );

    // The ceiling: the same logs, fetched and nothing else.
    const rpc = createRpcClient({ url: chain.devnet.httpUrl });
    let raw = 0;
    const rawStarted = performance.now();
    for (let from = 0n; from <= head; from += BigInt(MAX_BLOCK_RANGE)) {
      const to = from + BigInt(MAX_BLOCK_RANGE) - 1n < head ? from + BigInt(MAX_BLOCK_RANGE) - 1n : head;
      raw += (await rpc.logs({ address: chain.address, fromBlock: from, toBlock: to })).length;
    }
    const rawSeconds = (performance.now() - rawStarted) / 1000;

    // Backfill: the real process, from an empty database.
    const cursor = async () => {
      const row = await database.db
        .selectFrom("sync_checkpoints")
        .select("block_number")
        .where("name", "=", CHECKPOINT)
        .executeTakeFirst();
      return row ? BigInt(row.block_number) : -1n;
    };
    listener = spawnListener(env);
    const active = listener;
    while (!active.lines().some((line) => line["message"] === "following")) {
      if (active.child.exitCode !== null) throw new Error(`the listener exited: ${active.output().stderr}`);
      await delay(2);
    }
    const backfillStarted = performance.now();
    while ((await cursor()) < head) await delay(2);
    const backfillSeconds = (performance.now() - backfillStarted) / 1000;
    const stored = await database.db
      .selectFrom("chain_events")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .executeTakeFirstOrThrow();

    // Live: one block at a time, receipt to commit.
    const latencies: number[] = [];
    for (let round = 0; round < liveRounds; round += 1) {
      const receipt = await (await fund.requestRedemption(1_000n, Channel.Instant)).wait();
      const mined = performance.now();
      const block = BigInt(receipt?.blockNumber ?? 0);
      while ((await cursor()) < block) await delay(1);
      latencies.push(performance.now() - mined);
    }
    latencies.sort((a, b) => a - b);

    const rawRate = raw / rawSeconds;
    const backfillRate = Number(stored.count) / backfillSeconds;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const depth = Number(env.FINALITY_DEPTH);
    console.log(
      [
        "",
        `ingest, v${process.versions.node}, devnet (Hardhat 2), ranges of ${String(MAX_BLOCK_RANGE)} blocks`,
        `  raw eth_getLogs        ${String(raw).padStart(7)} events in ${rawSeconds.toFixed(2)} s  ${rawRate.toFixed(0).padStart(7)} events/s`,
        `  backfill → PostgreSQL  ${stored.count.padStart(7)} events in ${backfillSeconds.toFixed(2)} s  ${backfillRate.toFixed(0).padStart(7)} events/s  (${((100 * backfillRate) / rawRate).toFixed(0)} % of raw)`,
        `  live, block → commit   p50 ${p50.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  over ${String(latencies.length)} blocks`,
        `                         (irreversible work is released ${String(depth)} blocks later: FINALITY_DEPTH)`,
        "",
        "targets (printed, not asserted):",
        `  backfill ≥ 50 % of raw: ${backfillRate >= rawRate / 2 ? "met" : "MISSED"}`,
        `  live p99 < 250 ms plus the confirmation wait: ${p99 < 250 ? "met" : "MISSED"}`,
      ].join("\n"),
    );
  } finally {
    if (listener) await stopListener(listener);
    await queues.clean();
    await Promise.all([chain.stop(), database.drop()]);
  }
}

main().catch((error: unknown) => {
  console.error(`bench:ingest: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
