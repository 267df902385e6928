import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { type HDNodeWallet, type JsonRpcProvider, WebSocketProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Devnet,
  deployFund,
  devnetAccounts,
  devnetProvider,
  freePort,
  mine,
  revert,
  seedDemoFund,
  setAutomine,
  snapshot,
  startDevnet,
} from "./devnet";
import type { PaimonFund } from "./index";

const CHAIN_ID = 1337;
// Account #0's first contract: the same on every fresh devnet.
const FUND_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

let port: number;
let devnet: Devnet;
let provider: JsonRpcProvider;
let operator: HDNodeWallet;
let holders: [HDNodeWallet, HDNodeWallet, HDNodeWallet];
let fund: PaimonFund;

beforeAll(async () => {
  port = await freePort();
  devnet = await startDevnet({ port, chainId: CHAIN_ID });
  provider = devnetProvider(devnet);
  const [first, second, third, fourth] = devnetAccounts(4, provider);
  [operator, holders] = [first!, [second!, third!, fourth!]];
  fund = await deployFund(operator);
});

afterAll(async () => {
  provider.destroy();
  await devnet.stop();
});

/** Process ids whose parent is `pid` (Linux: /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("startDevnet", () => {
  it("when given a port and a chain id, then it serves that chain over HTTP and WebSocket on that port", async () => {
    expect(devnet).toMatchObject({
      httpUrl: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}`,
      chainId: CHAIN_ID,
      port,
    });
    expect((await provider.getNetwork()).chainId).toBe(BigInt(CHAIN_ID));
    const ws = new WebSocketProvider(devnet.wsUrl);
    try {
      expect((await ws.getNetwork()).chainId).toBe(BigInt(CHAIN_ID));
      let onBlock: (block: number) => void = () => undefined;
      const next = new Promise<number>((resolve) => {
        onBlock = resolve;
      });
      // `once` resolves after it has sent eth_subscribe, and the socket answers in order: once the
      // call after it is answered, the subscription exists and the block below cannot be missed.
      await ws.once("block", (block: number) => {
        onBlock(block);
      });
      await ws.send("eth_blockNumber", []);
      await mine(provider);
      expect(await next).toBe(await provider.getBlockNumber());
    } finally {
      await ws.destroy();
    }
  });

  it("when the port is taken, then it rejects naming the cause and leaves no process behind", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await expect(startDevnet({ port: taken })).rejects.toThrow(/EADDRINUSE/);
      expect(childrenOf(process.pid).filter((pid) => pid !== devnet.pid)).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});

describe("deployFund and seedDemoFund", () => {
  it("when account #0 deploys first on a fresh devnet, then the fund has the well-known address", async () => {
    expect(await fund.getAddress()).toBe(FUND_ADDRESS);
  });

  it("when the demo is seeded, then every event type is in its history and the layers sit near 10/30/60 %", async () => {
    const start = await provider.getBlockNumber();
    const demo = await seedDemoFund(fund, { operator, holders });
    const logs = await provider.getLogs({ address: await fund.getAddress(), fromBlock: start + 1 });
    const names = new Set(logs.map((log) => fund.interface.parseLog(log)?.name ?? "unknown"));
    expect([...names].sort()).toEqual([
      "Deposited",
      "LayerBalancesUpdated",
      "RebalanceExecuted",
      "RedemptionCancelled",
      "RedemptionRequested",
      "RedemptionSettled",
    ]);
    expect(demo).toMatchObject({ settledId: 1n, pendingId: 2n, cancelledId: 3n });
    const { l1, l2, l3 } = demo.layers;
    const nav = Number(l1 + l2 + l3);
    expect(Number(l1) / nav).toBeCloseTo(0.1, 1);
    expect(Number(l2) / nav).toBeCloseTo(0.3, 1);
    expect(Number(l3) / nav).toBeCloseTo(0.6, 1);
    expect([await fund.l1(), await fund.l2(), await fund.l3()]).toEqual([l1, l2, l3]);
  });
});

describe("mining helpers", () => {
  it("when automine is off, then transactions wait for mine() and share its block", async () => {
    const holder = fund.connect(holders[0]);
    const before = await provider.getBlockNumber();
    await setAutomine(provider, false);
    try {
      // Nonces set here: the node's pending count would do too, but an explicit one cannot race.
      const nonce = await holders[0].getNonce("pending");
      const sent = await Promise.all(
        [0, 1, 2].map((offset) => holder.deposit(1_000n, { nonce: nonce + offset, gasLimit: 200_000n })),
      );
      expect(await provider.getBlockNumber()).toBe(before);
      await mine(provider);
      const receipts = await Promise.all(sent.map((tx) => tx.wait()));
      expect(receipts.map((receipt) => receipt?.blockNumber)).toEqual([before + 1, before + 1, before + 1]);
      await mine(provider, 5);
      expect(await provider.getBlockNumber()).toBe(before + 6);
    } finally {
      await setAutomine(provider, true);
    }
  });

  it("when reverted to a snapshot, then the state and the block number are back", async () => {
    const id = await snapshot(provider);
    const block = await provider.getBlockNumber();
    const shares = await fund.sharesOf(holders[1].address);
    await (await fund.connect(holders[1]).deposit(5_000n)).wait();
    expect(await fund.sharesOf(holders[1].address)).not.toBe(shares);
    await revert(provider, id);
    expect(await provider.getBlockNumber()).toBe(block);
    expect(await fund.sharesOf(holders[1].address)).toBe(shares);
    // A snapshot serves once.
    await expect(revert(provider, id)).rejects.toThrow(/no snapshot/);
  });
});

describe("Devnet.stop", () => {
  it("when stopped, then the node has exited and no child process is left", async () => {
    const { pid } = devnet;
    expect(childrenOf(process.pid)).toContain(pid);
    provider.destroy();
    await devnet.stop();
    expect(await devnet.exited).toMatchObject({ signal: "SIGTERM" });
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }) as Error);
    expect(childrenOf(process.pid)).toEqual([]);
    // Idempotent: afterAll stops it again.
    await devnet.stop();
  });
});
