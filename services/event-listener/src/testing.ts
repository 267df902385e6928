/**
 * What the listener's tests share: a devnet with the fund deployed, a database of their own, a
 * Redis key prefix of their own, the listener as a real process (so it can be SIGKILLed), and
 * the ground truth read back from the chain to compare the database with.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { PaimonFund__factory, type PaimonFund } from "@paimon/contracts";
import {
  deployFund,
  devnetAccounts,
  devnetProvider,
  startDevnet,
  type Devnet,
  type DevnetOptions,
} from "@paimon/contracts/devnet";
import type { Database } from "@paimon/core/db";
import { Queue } from "bullmq";
import type { HDNodeWallet, JsonRpcProvider } from "ethers";
import type { Kysely } from "kysely";
import { vi } from "vitest";
import { CHECKPOINT, QUEUES } from "./store";

export const REDIS_URL = "redis://127.0.0.1:6379";
const BIN = path.join(__dirname, "bin.ts");
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

export interface ListenerProcess {
  readonly child: ChildProcess;
  /** The health server's port, once it listens. */
  readonly port: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
  /** Log lines (parsed JSON) the process has written so far. */
  lines(): Record<string, unknown>[];
}

/** Starts `bin.ts` with exactly `env` (nothing of the test runner's environment leaks in). */
export function spawnListener(env: Record<string, string>): ListenerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", BIN], {
    cwd: ROOT,
    env: { PATH: path.dirname(process.execPath), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    }),
  );
  const lines = () =>
    stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const port = new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", () => {
      const listening = lines().find((line) => line["message"] === "listening");
      if (listening) resolve(listening["port"] as number);
    });
    void exited.then(() => {
      reject(new Error(`the listener exited before listening: ${stderr}`));
    });
  });
  port.catch(() => undefined);
  return { child, port, exited, output: () => ({ stdout, stderr }), lines };
}

/** Stops a listener with SIGTERM and waits for it. */
export async function stopListener(listener: ListenerProcess) {
  if (listener.child.exitCode === null && listener.child.signalCode === null) listener.child.kill("SIGTERM");
  return listener.exited;
}

/** Resolves once the listener's cursor has reached `block` (polled; fails after `timeout`). */
export async function waitForCursor(db: Kysely<Database>, block: number | bigint, timeout = 30_000): Promise<void> {
  await vi.waitFor(
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

/** The BullMQ queues the listener feeds, under a test's prefix (close them after use). */
export function testQueues(prefix: string) {
  const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
  const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection, prefix }));
  return {
    queues,
    /** Removes every key the test made, then closes. */
    async clean() {
      for (const queue of queues) await queue.obliterate({ force: true });
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}

export type { Devnet };
