/**
 * `pnpm bench:ingest`: how fast the listener turns the chain into committed rows, beside the
 * ceiling of reading the same logs alone, on a devnet and databases of its own.
 *
 * 1. Makes at least `--events` RedemptionRequested events (batched requests, 500 per transaction),
 *    `--spread` empty blocks apart: a history of several MAX_BLOCK_RANGE ranges, as a backfill is
 *    (on BSC, thousands), rather than one range the whole history fits in.
 * 2. Raw: `eth_getLogs` over the whole history in MAX_BLOCK_RANGE ranges, nothing else — the rate
 *    no listener reading this node can beat. Twice (Hardhat's first pass warms it up), the faster
 *    counted.
 * 3. Stages: where the time goes with nothing overlapped — decoding, the headers a commit needs,
 *    and each range committed by the listener's `commitBatch`, every statement timed; the index
 *    entries written per event.
 * 4. Backfill: the real listener process (`bin.ts`) from an empty database; the clock runs from
 *    its "following" line to the commit that leaves its cursor at the head (heard through its
 *    commit signal, not polled), so process start-up is not counted. Its own account of each range (debug lines:
 *    fetching, waiting for the fetch, committing) shows what the overlap hid.
 * 5. Live: with the listener at the head and its outbox relayed, `--live` single redemptions, each in its own block;
 *    for each, the time from the block's receipt to the commit of its events being announced. Work that waits for finality is released FINALITY_DEPTH blocks later on top.
 *
 * Prints the figures and whether the targets hold (printed, never asserted).
 */
import { availableParallelism } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { Channel } from "@paimon/contracts";
import { mine } from "@paimon/contracts/devnet";
import { createTestDatabase } from "@paimon/core/testing";
import { CHAIN_COMMIT_CHANNEL, parseCommitSignal } from "@paimon/core/commit-signal";
import pg from "pg";
import { createRpcClient, type RpcClient } from "../src/rpc";
import { asHolder, listenerEnv, spawnListener, startChain, stopListener, testQueues } from "../src/testing";
import { cpuBetween, databaseCpuSeconds, threadCpuSeconds, treeCpuSeconds } from "./cpu";
import { measureStages, type FetchedRange, type StageBreakdown } from "./stages";
import { parseCommandLine } from "../../../tools/command-line";

const BATCH = 500;
const MAX_BLOCK_RANGE = 2_000;

/** A parser of a whole number no smaller than `least`. */
const wholeNumber = (least: number) => (text: string) => {
  const number = Number(text);
  if (!Number.isInteger(number) || number < least) throw new Error(`must be a whole number ≥ ${String(least)}`);
  return number;
};

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

/**
 * The listener's commits as it announces them (its commit signal, sent by PostgreSQL when each
 * transaction commits): when the cursor reached a block, without polling the database meanwhile
 * — on two cores, a poll every few milliseconds would take the database's time from the commits
 * being measured.
 */
async function watchCommits(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let latest = -1n;
  let latestAt = 0;
  const waiting = new Set<{ readonly block: bigint; readonly resolve: (at: number) => void }>();
  client.on("notification", (message) => {
    const signal = parseCommitSignal(message.channel, message.payload);
    if (signal.channel !== CHAIN_COMMIT_CHANNEL) return;
    const block = BigInt(signal.checkpoint.blockNumber);
    if (block <= latest) return;
    latest = block;
    latestAt = performance.now();
    for (const waiter of waiting) {
      if (waiter.block > latest) continue;
      waiting.delete(waiter);
      waiter.resolve(latestAt);
    }
  });
  await client.query(`listen ${CHAIN_COMMIT_CHANNEL}`);
  return {
    /** Resolves with when (performance.now()) a commit first left the cursor at `block` or past it. */
    reached: (block: bigint) =>
      new Promise<number>((resolve) => {
        if (latest >= block) resolve(latestAt);
        else waiting.add({ block, resolve });
      }),
    close: () => client.end(),
  };
}

/** Every range of the history, fetched one after another; returns them and the time taken. */
async function fetchAll(rpc: RpcClient, address: string, head: bigint) {
  const ranges: FetchedRange[] = [];
  const started = performance.now();
  for (let from = 0n; from <= head; from += BigInt(MAX_BLOCK_RANGE)) {
    const to = from + BigInt(MAX_BLOCK_RANGE) - 1n < head ? from + BigInt(MAX_BLOCK_RANGE) - 1n : head;
    ranges.push({ from, to, logs: await rpc.logs({ address, fromBlock: from, toBlock: to }) });
  }
  return { ranges, seconds: (performance.now() - started) / 1000 };
}

/** The listener's own "committed" lines of its backfill: summed per field. */
function processAccount(lines: readonly Record<string, unknown>[], through: bigint) {
  const committed = lines.filter(
    (line) =>
      line["message"] === "committed" &&
      typeof line["last_block"] === "string" &&
      BigInt(line["last_block"]) <= through,
  );
  const sum = (field: string) => committed.reduce((total, line) => total + Number(line[field] ?? 0), 0) / 1000;
  return { batches: committed.length, fetch: sum("fetch_ms"), waited: sum("waited_ms"), commit: sum("commit_ms") };
}

const seconds = (value: number) => `${value.toFixed(2).padStart(6)} s`;

function stageLines(stages: StageBreakdown, rawSeconds: number): string[] {
  const perEvent = (value: number) => (value / Math.max(stages.events, 1)).toFixed(2);
  const entries = stages.indexEntries.reduce((sum, table) => sum + table.entries, 0);
  return [
    `where the time goes, stage by stage, nothing overlapped (${String(stages.ranges)} ranges):`,
    `  eth_getLogs            ${seconds(rawSeconds)}`,
    `  headers, timestamps    ${seconds(stages.headersSeconds)}  (${String(stages.headerCalls)} eth_getBlockByNumber)`,
    `  decode                 ${seconds(stages.decodeSeconds)}`,
    `  build the rows         ${seconds(stages.prepareSeconds)}`,
    `  commit                 ${seconds(stages.commitSeconds)}  (${String(stages.statements)} statements: ${(stages.statements / stages.ranges).toFixed(1)} per range, ${perEvent(stages.statements)} per event)`,
    ...stages.byStatement
      .slice(0, 6)
      .map((entry) => `    ${entry.label.padEnd(26)} ${seconds(entry.seconds)}  ×${String(entry.count)}`),
    `  index entries written  ${perEvent(entries)} per event: ${stages.indexEntries
      .filter((table) => table.entries > 0)
      .map((table) => `${table.table} ${perEvent(table.entries)} (${String(table.indexes)} indexes)`)
      .join(", ")}`,
  ];
}

async function main(): Promise<void> {
  const parsed = parseCommandLine(
    {
      name: "pnpm bench:ingest",
      description:
        "How fast the listener turns the chain into committed rows, beside the ceiling of reading the same logs alone, on a devnet and databases of its own",
      options: {
        events: {
          description: `how many RedemptionRequested events to make at least, ${String(BATCH)} per transaction`,
          value: "n",
          default: "20000",
          parse: wholeNumber(BATCH),
        },
        spread: {
          description: "empty blocks between two transactions",
          value: "blocks",
          default: "499",
          parse: wholeNumber(0),
        },
        live: {
          description: "single redemptions timed live, each in its own block",
          value: "n",
          default: "100",
          parse: wholeNumber(1),
        },
        "cpu-prof": {
          description:
            "write the listener's CPU profile of its whole run into this directory, with node --cpu-prof (default: none)",
          value: "dir",
        },
      },
    },
    process.argv.slice(2),
  );
  if ("exit" in parsed) {
    process.exitCode = parsed.exit;
    return;
  }
  const { events: wanted, spread, live: liveRounds, "cpu-prof": profile } = parsed.values;

  const [chain, database] = await Promise.all([startChain(), createTestDatabase()]);
  const env = listenerEnv(chain, database.url, {
    MAX_BLOCK_RANGE: String(MAX_BLOCK_RANGE),
    LOG_LEVEL: "debug",
  });
  const queues = testQueues(env.QUEUE_PREFIX);
  let listener: ReturnType<typeof spawnListener> | undefined;
  let commits: Awaited<ReturnType<typeof watchCommits>> | undefined;
  try {
    const [holder] = chain.holders;
    if (!holder) throw new Error("no holder");
    const fund = asHolder(chain, holder);
    await (await fund.deposit(10n ** 15n)).wait();
    const started = performance.now();
    for (let made = 0; made < wanted; made += BATCH) {
      const shares = Array.from({ length: BATCH }, (_, i) => BigInt(1_000 + ((made + i) % 997)));
      await (await fund.requestRedemptions(shares, Channel.Standard, { gasLimit: 29_000_000n })).wait();
      if (spread > 0) await mine(chain.provider, spread);
    }
    // Fewer than 8 at once: Hardhat fills the middle of a longer hardhat_mine in lazily, with a
    // zero parentHash, which a listener following the tip by parent hash takes for a reorganisation.
    await mine(chain.provider, 3);
    const head = BigInt(await chain.provider.getBlockNumber());
    console.log(
      `made ${String(wanted)} redemption requests in ${String(Math.ceil(wanted / BATCH))} transactions, ${String(spread)} blocks apart (${((performance.now() - started) / 1000).toFixed(1)} s); head ${head.toString()}`,
    );

    // The ceiling: the same logs, fetched and nothing else.
    const rpc = createRpcClient({ url: chain.devnet.httpUrl });
    const first = await fetchAll(rpc, chain.address, head);
    const second = await fetchAll(rpc, chain.address, head);
    const rawPass = second.seconds < first.seconds ? second : first;
    const raw = rawPass.ranges.reduce((sum, range) => sum + range.logs.length, 0);
    const rawSeconds = rawPass.seconds;

    const stages = await measureStages({ rpc, chainId: chain.devnet.chainId, ranges: rawPass.ranges });

    // Backfill: the real process, from an empty database.
    commits = await watchCommits(database.url);
    const watched = commits;
    listener = spawnListener(
      env,
      profile === undefined ? {} : { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profile}`] },
    );
    const active = listener;
    while (!active.lines().some((line) => line["message"] === "following")) {
      if (active.child.exitCode !== null) throw new Error(`the listener exited: ${active.output().stderr}`);
      await delay(2);
    }
    const backfillStarted = performance.now();
    const pid = active.child.pid ?? 0;
    const cpuBefore = {
      listener: treeCpuSeconds(pid),
      threads: threadCpuSeconds(pid),
      hardhat: treeCpuSeconds(chain.devnet.pid),
    };
    const databaseBefore = await databaseCpuSeconds(database.db);
    const backfillSeconds = ((await watched.reached(head)) - backfillStarted) / 1000;
    const threads = threadCpuSeconds(pid);
    const cpu = {
      listener: treeCpuSeconds(pid) - cpuBefore.listener,
      main: threads.main - cpuBefore.threads.main,
      others: threads.others - cpuBefore.threads.others,
      hardhat: treeCpuSeconds(chain.devnet.pid) - cpuBefore.hardhat,
      database: cpuBetween(databaseBefore, await databaseCpuSeconds(database.db)),
    };
    const cpuSum = cpu.listener + cpu.hardhat + cpu.database;
    const stored = await database.db
      .selectFrom("chain_events")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .executeTakeFirstOrThrow();
    const account = processAccount(active.lines(), head);

    // The outbox relayed to the queues (20,000 settlements): live blocks are measured after it,
    // on a listener at rest at the head.
    const unsent = async () => {
      const row = await database.db
        .selectFrom("outbox")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .where("sent_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    };
    while ((await unsent()) > 0) await delay(5);
    const relaySeconds = (performance.now() - backfillStarted) / 1000 - backfillSeconds;

    // Live: one block at a time, receipt to commit.
    const latencies: number[] = [];
    for (let round = 0; round < liveRounds; round += 1) {
      const receipt = await (await fund.requestRedemption(1_000n, Channel.Instant)).wait();
      const mined = performance.now();
      const committed = await watched.reached(BigInt(receipt?.blockNumber ?? 0));
      latencies.push(Math.max(0, committed - mined));
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
        `ingest, v${process.versions.node}, devnet (Hardhat 2), ${String(rawPass.ranges.length)} ranges of ${String(MAX_BLOCK_RANGE)} blocks`,
        `  raw eth_getLogs        ${String(raw).padStart(7)} events in ${rawSeconds.toFixed(2)} s  ${rawRate.toFixed(0).padStart(7)} events/s`,
        `  backfill → PostgreSQL  ${stored.count.padStart(7)} events in ${backfillSeconds.toFixed(2)} s  ${backfillRate.toFixed(0).padStart(7)} events/s  (${((100 * backfillRate) / rawRate).toFixed(0)} % of raw)`,
        `  outbox → queues        relayed ${relaySeconds.toFixed(2)} s after the cursor reached the head`,
        `  live, block → commit   p50 ${p50.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  over ${String(latencies.length)} blocks`,
        `                         (irreversible work is released ${String(depth)} blocks later: FINALITY_DEPTH)`,
        "",
        ...stageLines(stages, rawSeconds),
        "",
        account.batches === 0
          ? 'the listener\'s own account: no per-range lines (LOG_LEVEL=debug, message "committed")'
          : `the listener's own account of its backfill (${String(account.batches)} batches): fetching ${account.fetch.toFixed(2)} s, of which waited for ${account.waited.toFixed(2)} s; committing ${account.commit.toFixed(2)} s; wall ${backfillSeconds.toFixed(2)} s`,
        `CPU during the backfill: listener ${cpu.listener.toFixed(2)} s (main thread ${cpu.main.toFixed(2)} s, its other threads ${cpu.others.toFixed(2)} s), PostgreSQL (the listener's backends) ${cpu.database.toFixed(2)} s, Hardhat ${cpu.hardhat.toFixed(2)} s: ${cpuSum.toFixed(2)} s, over ${String(availableParallelism())} cores at least ${(cpuSum / availableParallelism()).toFixed(2)} s of wall`,
        "",
        "targets (printed, not asserted):",
        `  backfill ≥ 50 % of raw: ${backfillRate >= rawRate / 2 ? "met" : "MISSED"}`,
        `  live p99 < 50 ms: ${p99 < 50 ? "met" : "MISSED"}`,
      ].join("\n"),
    );
  } finally {
    if (listener) await stopListener(listener);
    await commits?.close();
    await queues.clean();
    await Promise.all([chain.stop(), database.drop()]);
  }
}

main().catch((error: unknown) => {
  console.error(`bench:ingest: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
