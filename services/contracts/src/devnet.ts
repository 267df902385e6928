/**
 * A real local EVM for tests, benchmarks and `pnpm devnet`: Hardhat 2's node (EDR engine, HTTP and
 * WebSocket JSON-RPC on one port) in a child process, plus the few Hardhat RPC methods tests need
 * (mining, automine, snapshots).
 *
 * Readiness is the node's own "Started … JSON-RPC server" line confirmed by an `eth_chainId`
 * answer with the expected id, never a fixed wait. The child leads its own process group, so a
 * terminal's Ctrl-C reaches only the parent, which then stops the node in its shutdown order;
 * `stop()` signals the whole group and resolves once the node has exited.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { HDNodeWallet, type JsonRpcApiProvider, JsonRpcProvider, Network, type Provider } from "ethers";
import { PACKAGE_DIR } from "./paths";

export { deployFund, seedDemoFund, type DemoFund, type DemoSigners } from "./demo";

export const DEFAULT_CHAIN_ID = 31337;
export const DEVNET_HOSTNAME = "127.0.0.1";
/** How long the node may take to answer before `startDevnet` gives up (it takes ~2 s). */
export const DEVNET_START_TIMEOUT_MS = 30_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
export const DEVNET_STOP_GRACE_MS = 5_000;

/**
 * The mnemonic of Hardhat's default accounts (10,000 ETH each on the devnet). Every key it derives
 * is public: they sign on local chains only.
 */
export const DEVNET_MNEMONIC = "test test test test test test test test test test test junk";
const DEVNET_ACCOUNT_PATH = "m/44'/60'/0'/0";

const HARDHAT_CONFIG = path.join(PACKAGE_DIR, "hardhat.config.cjs");
const READY_LINE = "Started HTTP and WebSocket JSON-RPC server at";
// With a port the OS chose, another process may take it before the node binds it.
const FREE_PORT_ATTEMPTS = 3;

export interface DevnetOptions {
  /** The interface the node binds: `0.0.0.0` inside a container. @default 127.0.0.1 (clients always use it) */
  readonly host?: string;
  /** TCP port of both the HTTP and the WebSocket endpoint. @default a free port the OS chooses */
  readonly port?: number;
  /** The chain id the node reports and signs for. @default 31337 */
  readonly chainId?: number;
  /** Hardhat logs every RPC call (to `onOutput`). Slow when a benchmark sends thousands. @default false */
  readonly rpcLog?: boolean;
  /** Receives every line the node prints. @default the lines are discarded */
  readonly onOutput?: (line: string) => void;
  /** @default DEVNET_START_TIMEOUT_MS */
  readonly startTimeoutMs?: number;
}

/** How the node's process ended: an exit code, or the signal that ended it. */
export interface DevnetExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Devnet {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly chainId: number;
  readonly port: number;
  /** The node's process id. */
  readonly pid: number;
  /** Settles when the node exits, whether by `stop()` or not. */
  readonly exited: Promise<DevnetExit>;
  /** Stops the node and resolves once it has exited; calling it again returns the same promise. */
  stop(): Promise<void>;
}

/** A port nothing listens on now, chosen by the OS. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, DEVNET_HOSTNAME);
  await once(server, "listening");
  const address = server.address();
  await new Promise<void>((resolve, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  if (address === null || typeof address === "string") throw new Error("freePort: no TCP address");
  return address.port;
}

/** Starts a Hardhat node and resolves once it answers JSON-RPC with the expected chain id. */
export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  if (options.port !== undefined) return launch(options.port, options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort(), options);
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= FREE_PORT_ATTEMPTS) throw error;
    }
  }
}

class PortInUseError extends Error {}

async function launch(port: number, options: DevnetOptions): Promise<Devnet> {
  const chainId = options.chainId ?? DEFAULT_CHAIN_ID;
  const httpUrl = `http://${DEVNET_HOSTNAME}:${port}`;
  const child = spawn(
    process.execPath,
    [
      require.resolve("hardhat/internal/cli/bootstrap"),
      "--config",
      HARDHAT_CONFIG,
      "node",
      "--hostname",
      options.host ?? DEVNET_HOSTNAME,
      "--port",
      String(port),
    ],
    {
      cwd: PACKAGE_DIR,
      env: {
        // The node inherits the environment (HOME for Hardhat's cache) plus the settings its
        // configuration reads; nothing in it configures this module.
        // eslint-disable-next-line no-restricted-properties -- passed through to the child unread
        ...process.env,
        PAIMON_DEVNET_CHAIN_ID: String(chainId),
        PAIMON_DEVNET_RPC_LOG: String(options.rpcLog ?? false),
        HARDHAT_DISABLE_TELEMETRY_PROMPT: "true",
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = new Promise<DevnetExit>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  const recent: string[] = [];
  const pid = child.pid;
  // `spawn` reports a failure to start as an 'error' event and leaves `pid` undefined.
  if (pid === undefined) {
    const [error] = (await once(child, "error")) as [Error];
    throw error;
  }
  // A later 'error' (a signal that could not be sent) is not fatal; without a listener it would be.
  child.on("error", (error) => {
    recent.push(`devnet: ${error.message}`);
    options.onOutput?.(`devnet: ${error.message}`);
  });

  // Both streams are read to the end whatever happens: a full pipe would block the node.
  let ready: (() => void) | undefined;
  const announced = new Promise<void>((resolve) => {
    ready = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      options.onOutput?.(line);
      if (recent.push(line) > 20) recent.shift();
      if (line.includes(READY_LINE)) ready?.();
    });
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= terminate(child, pid, exited));

  const timeoutMs = options.startTimeoutMs ?? DEVNET_START_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      announced,
      exited.then(({ code, signal }) => {
        const output = recent.join("\n");
        const message = `devnet: hardhat node exited before it was ready (${signal ?? `exit ${code}`}):\n${output}`;
        throw output.includes("EADDRINUSE") ? new PortInUseError(message) : new Error(message);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`devnet: no answer on ${httpUrl} within ${timeoutMs} ms:\n${recent.join("\n")}`));
        }, timeoutMs);
      }),
    ]);
    const reported = await rpc(httpUrl, "eth_chainId");
    if (reported !== `0x${chainId.toString(16)}`) {
      throw new Error(`devnet: ${httpUrl} reports chain ${String(reported)}, expected ${chainId}`);
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { httpUrl, wsUrl: `ws://${DEVNET_HOSTNAME}:${port}`, chainId, port, pid, exited, stop };
}

async function terminate(child: ChildProcess, pid: number, exited: Promise<DevnetExit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // The negative pid names the process group the node leads (it was spawned detached).
  signalGroup(pid, "SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      resolve("timeout");
    }, DEVNET_STOP_GRACE_MS);
  });
  const outcome = await Promise.race([exited, forced]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    signalGroup(pid, "SIGKILL");
    await exited;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is gone already, which is what stopping wants.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function rpc(url: string, method: string, params: readonly unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** How often a devnet provider polls for new blocks (and so for receipts): blocks come fast here. */
export const DEVNET_POLLING_INTERVAL_MS = 100;

/**
 * An HTTP provider for `devnet`. It never reuses an answer: by default ethers answers an identical
 * call from the last 250 ms from its cache, which hands a wallet that sends transactions back to
 * back a stale nonce ("nonce too low"). It sends each call at once instead of holding it 10 ms
 * for a batch: a local node answers in less, and a transaction takes half a dozen calls.
 */
export function devnetProvider(devnet: Pick<Devnet, "httpUrl" | "chainId">): JsonRpcProvider {
  const provider = new JsonRpcProvider(devnet.httpUrl, Network.from(devnet.chainId), {
    staticNetwork: true,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
  provider.pollingInterval = DEVNET_POLLING_INTERVAL_MS;
  return provider;
}

/**
 * Hardhat's default accounts #0 … #count-1 as wallets, connected to `provider` when given; #0
 * deploys, so the fund's address on a fresh devnet is always the same.
 */
export function devnetAccounts(count: number, provider?: Provider): HDNodeWallet[] {
  const root = HDNodeWallet.fromPhrase(DEVNET_MNEMONIC, undefined, DEVNET_ACCOUNT_PATH);
  return Array.from({ length: count }, (_, index) => root.deriveChild(index).connect(provider ?? null));
}

/** Mines `blocks` blocks at once (`hardhat_mine`); the first one takes the pending transactions. */
export async function mine(provider: JsonRpcApiProvider, blocks = 1): Promise<void> {
  if (!Number.isInteger(blocks) || blocks < 1)
    throw new RangeError(`mine: blocks must be a positive integer, got ${blocks}`);
  await provider.send("hardhat_mine", [`0x${blocks.toString(16)}`]);
}

/**
 * Automine on: every transaction is mined at once in its own block. Off: transactions wait in the
 * mempool until `mine()`, so thousands of them can share a few blocks.
 */
export async function setAutomine(provider: JsonRpcApiProvider, on: boolean): Promise<void> {
  await provider.send("evm_setAutomine", [on]);
}

/** Takes a snapshot of the chain; `revert` goes back to it (once: reverting consumes it). */
export async function snapshot(provider: JsonRpcApiProvider): Promise<string> {
  return (await provider.send("evm_snapshot", [])) as string;
}

/**
 * Reverts to `snapshotId` and discards it and every later snapshot. Emits no `removed` logs: a
 * listener sees the chain go back only by its block numbers.
 */
export async function revert(provider: JsonRpcApiProvider, snapshotId: string): Promise<void> {
  const reverted = (await provider.send("evm_revert", [snapshotId])) as boolean;
  if (!reverted) throw new Error(`evm_revert: no snapshot ${snapshotId}`);
}

/**
 * How often `pnpm dev` and `pnpm devnet` have the node mine a block on its own, beside automine's
 * block per transaction: what waits for a depth of blocks (the listener's finality, the sender's)
 * gets there on a quiet chain too, as on a real one.
 */
export const DEVNET_BLOCK_INTERVAL_MS = 1_000;

/** Mines a block every `ms` milliseconds (0: only automine's blocks). */
export async function setIntervalMining(provider: JsonRpcApiProvider, ms: number): Promise<void> {
  await provider.send("evm_setIntervalMining", [ms]);
}
