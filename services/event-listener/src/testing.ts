/**
 * What the listener's tests share: a devnet with the fund deployed, a database of their own, a
 * Redis key prefix of their own, the listener as a real process (so it can be SIGKILLed), and
 * the ground truth read back from the chain to compare the database with.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Channel, Layer, PaimonFund__factory, type PaimonFund } from "@paimon/contracts";
import {
  deployFund,
  devnetAccounts,
  devnetProvider,
  mine,
  startDevnet,
  type Devnet,
  type DevnetOptions,
} from "@paimon/contracts/devnet";
import type { Database } from "@paimon/core/db";
import type { MetricName } from "@paimon/core/metrics";
import { scrapedValue } from "@paimon/core/testing/metrics";
import { spawnService, type ServiceProcess } from "@paimon/core/testing/service-process";
import { id, type ContractTransactionResponse, type HDNodeWallet, type JsonRpcProvider } from "ethers";
import type { Kysely } from "kysely";
import { CHECKPOINT } from "./checkpoint";
export { testQueues } from "./test-queues";

/**
 * Retries `probe` until it stops throwing, then returns what it returned; after `timeout` ms the
 * last error is thrown. (vitest's `vi.waitFor`, minus vitest: the benchmark uses this harness too.)
 */
async function poll<T>(probe: () => Promise<T> | T, options: { timeout: number; interval: number }): Promise<T> {
  const deadline = performance.now() + options.timeout;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await delay(options.interval);
    }
  }
}

export const REDIS_URL = "redis://127.0.0.1:6379";
const BIN = path.join(__dirname, "bin.ts");
const GC_PRESSURE = path.join(__dirname, "gc-pressure.ts");
const ROOT = path.resolve(__dirname, "..", "..", "..");

export interface Chain {
  readonly devnet: Devnet;
  readonly provider: JsonRpcProvider;
  /** The fund, connected to the operator (all roles). */
  readonly fund: PaimonFund;
  readonly operator: HDNodeWallet;
  readonly holders: readonly HDNodeWallet[];
  readonly address: string;
  stop(): Promise<void>;
}

/** A devnet with the fund deployed by account #0, and three funded holders that have deposited. */
export async function startChain(options: DevnetOptions = {}): Promise<Chain> {
  const devnet = await startDevnet(options);
  const provider = devnetProvider(devnet);
  const [operator, ...holders] = devnetAccounts(4, provider);
  if (!operator) throw new Error("no operator account");
  const fund = await deployFund(operator);
  for (const holder of holders) {
    await (await PaimonFund__factory.connect(await fund.getAddress(), holder).deposit(1_000_000_000n)).wait();
  }
  return {
    devnet,
    provider,
    fund,
    operator,
    holders,
    address: (await fund.getAddress()).toLowerCase(),
    async stop() {
      provider.destroy();
      await devnet.stop();
    },
  };
}

/** The fund as `holder` sees it. */
export const asHolder = (chain: Chain, holder: HDNodeWallet) => PaimonFund__factory.connect(chain.address, holder);

/**
 * Sends transactions one after another until `signal` aborts: holders request redemptions in
 * small batches and deposit, the operator settles and cancels pending ones, revalues L2 and L3
 * and records rebalances. Resolves with the number of transactions mined. With `paceMs`, waits
 * that long after each one: a load of a known rate (one block each, on the devnet) rather than
 * as many as the machine can mine.
 */
export async function produceFundActivity(
  chain: Chain,
  random: () => number,
  signal: AbortSignal,
  options: { readonly paceMs?: number } = {},
): Promise<number> {
  const holders = chain.holders.map((holder) => asHolder(chain, holder));
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error("nothing to pick from");
    return item;
  };
  const amount = (min: number, max: number) => BigInt(min + Math.floor(random() * (max - min)));
  const mined = async (sent: Promise<ContractTransactionResponse>) => {
    const receipt = await (await sent).wait();
    if (receipt?.status !== 1) throw new Error("the producer's transaction failed");
  };
  const pending: bigint[] = [];
  /** A pending redemption, taken out of the list (the caller checked it is not empty). */
  const takePending = (): bigint => {
    const [taken] = pending.splice(Math.floor(random() * pending.length), 1);
    if (taken === undefined) throw new Error("no pending redemption");
    return taken;
  };
  let nextId = await chain.fund.nextRedemptionId();
  let sent = 0;
  // Rebalance ids unique across producers on one chain (a test file may run several in turn).
  const run = Math.floor(random() * 2 ** 32).toString(16);
  while (!signal.aborted) {
    const roll = random();
    if (roll < 0.4 || pending.length === 0) {
      const shares = Array.from({ length: 1 + Math.floor(random() * 3) }, () => amount(1_000, 10_000));
      await mined(pick(holders).requestRedemptions(shares, random() < 0.5 ? Channel.Instant : Channel.Standard));
      for (let i = 0; i < shares.length; i++) pending.push(nextId++);
    } else if (roll < 0.55) {
      await mined(pick(holders).deposit(amount(1_000_000, 5_000_000)));
    } else if (roll < 0.75) {
      await mined(chain.fund.settleRedemption(takePending()));
    } else if (roll < 0.85) {
      await mined(chain.fund.cancelRedemption(takePending()));
    } else if (roll < 0.95) {
      await mined(chain.fund.reportLayerValues(amount(0, 1_000_000_000), amount(0, 1_000_000_000)));
    } else {
      await mined(
        chain.fund.executeRebalance(id(`activity-${run}-${String(sent)}`), Layer.L1, Layer.L2, amount(1, 10_000)),
      );
    }
    sent += 1;
    if (options.paceMs !== undefined) await delay(options.paceMs, undefined, { signal }).catch(() => undefined);
  }
  return sent;
}

export function listenerEnv(chain: Chain, databaseUrl: string, overrides: Record<string, string> = {}) {
  return {
    ENVIRONMENT: "test",
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    BSC_RPC_URL: chain.devnet.httpUrl,
    BSC_WS_URL: chain.devnet.wsUrl,
    CHAIN_ID: String(chain.devnet.chainId),
    FUND_ADDRESS: chain.address,
    FINALITY_DEPTH: "2",
    POLL_INTERVAL_MS: "500",
    HEALTH_PORT: "0",
    QUEUE_PREFIX: `paimon-test-${randomBytes(6).toString("hex")}`,
    ...overrides,
  };
}

export type ListenerProcess = ServiceProcess;

/**
 * Starts `bin.ts` with exactly `env` (nothing of the test runner's environment leaks in). With
 * `gcPressure`, the process collects its garbage every 250 ms (see gc-pressure.ts): nothing it
 * waits on may depend on an object that nothing holds.
 */
export const spawnListener = (
  env: Record<string, string>,
  options: {
    readonly gcPressure?: boolean;
    /** Node's own options, before the script (`--cpu-prof`, which NODE_OPTIONS may not carry). */
    readonly nodeArgs?: readonly string[];
  } = {},
): ListenerProcess =>
  spawnService(
    [
      ...(options.nodeArgs ?? []),
      ...(options.gcPressure === true
        ? ["--expose-gc", "--import", "tsx", "--import", GC_PRESSURE]
        : ["--import", "tsx"]),
      BIN,
    ],
    { cwd: ROOT, env },
  );

/**
 * Mines `count` empty blocks, one call each. One `mine(provider, n)` with n ≥ 8 makes Hardhat
 * reserve the middle blocks and fill them in lazily, and blocks +3 … +(n-1) then report a zero
 * `parentHash`: a listener following the tip by parent hash takes each for a reorganisation.
 */
export async function mineBlocks(chain: Chain, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await mine(chain.provider, 1);
}

/** Stops a listener with SIGTERM and waits for it. */
export async function stopListener(listener: ListenerProcess) {
  if (listener.child.exitCode === null && listener.child.signalCode === null) listener.child.kill("SIGTERM");
  return listener.exited;
}

/** Resolves once the listener's cursor has reached `block` (polled; fails after `timeout`). */
export async function waitForCursor(db: Kysely<Database>, block: number | bigint, timeout = 30_000): Promise<void> {
  await poll(
    async () => {
      const row = await db
        .selectFrom("sync_checkpoints")
        .select("block_number")
        .where("name", "=", CHECKPOINT)
        .executeTakeFirst();
      if (!row || BigInt(row.block_number) < BigInt(block)) {
        throw new Error(`cursor at ${row?.block_number ?? "none"}, waiting for ${String(block)}`);
      }
    },
    { timeout, interval: 50 },
  );
}

export interface LogOnChain {
  readonly blockHash: string;
  readonly logIndex: number;
  readonly name: string;
  readonly args: readonly unknown[];
}

/** Every fund event on the canonical chain, by (block hash, log index): the ground truth. */
export async function eventsOnChain(chain: Chain): Promise<LogOnChain[]> {
  const logs = await chain.provider.getLogs({ address: chain.address, fromBlock: 0, toBlock: "latest" });
  const fundInterface = PaimonFund__factory.createInterface();
  return logs.flatMap((log) => {
    const parsed = fundInterface.parseLog(log);
    if (!parsed || !KNOWN.has(parsed.name)) return [];
    return [{ blockHash: log.blockHash.toLowerCase(), logIndex: log.index, name: parsed.name, args: [...parsed.args] }];
  });
}

const KNOWN = new Set([
  "Deposited",
  "RedemptionRequested",
  "RedemptionSettled",
  "RedemptionCancelled",
  "LayerBalancesUpdated",
  "RebalanceExecuted",
]);

/** Resolves once the cursor stands on exactly this block (number and hash): after a reorganisation, the new one. */
export async function waitForCursorAt(
  db: Kysely<Database>,
  block: { readonly number: number; readonly hash: string },
  timeout = 30_000,
): Promise<void> {
  await poll(
    async () => {
      const row = await db
        .selectFrom("sync_checkpoints")
        .select(["block_number", "block_hash"])
        .where("name", "=", CHECKPOINT)
        .executeTakeFirst();
      if (row?.block_number !== String(block.number) || row.block_hash !== block.hash.toLowerCase()) {
        throw new Error(
          `cursor at ${row?.block_number ?? "none"} ${row?.block_hash ?? ""}, waiting for ${String(block.number)} ${block.hash}`,
        );
      }
    },
    { timeout, interval: 50 },
  );
}

/** Resolves with the first log line whose `message` is `message` (polled; fails after `timeout`). */
export async function waitForLine(
  listener: ListenerProcess,
  message: string,
  timeout = 30_000,
): Promise<Record<string, unknown>> {
  return poll(
    () => {
      const line = listener.lines().find((l) => l["message"] === message);
      if (!line) throw new Error(`no log line "${message}" yet`);
      return line;
    },
    { timeout, interval: 50 },
  );
}

/** A GET on the listener's health server: the status and the parsed body. */
export async function getHealth(port: number, path: "/health" | "/health/ready") {
  const response = await fetch(`http://127.0.0.1:${String(port)}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Scrapes the listener's `/metrics` and sums the samples of `sample` (a catalog metric, or a
 * histogram's `_count`) whose labels include `labels`; 0 when there are none.
 */
export const metricValue = (
  port: number,
  sample: MetricName | `${MetricName}_count`,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> => scrapedValue(port, sample, labels);

export type { Devnet };
