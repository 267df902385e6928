/**
 * `pnpm devnet`: a local chain with a demo fund on it, for running the services against. Starts
 * the Hardhat node (127.0.0.1:8545 unless `--port` / `DEVNET_PORT` say otherwise), deploys the
 * fund from account #0 — so on a fresh node it always lands at the same address — seeds its demo
 * history, prints what a service needs to connect, and runs until SIGINT or SIGTERM, which stop
 * the node before the process exits.
 */
import { formatUnits } from "ethers";
import { loadDevnetConfig } from "./config";
import {
  DEVNET_BLOCK_INTERVAL_MS,
  deployFund,
  devnetAccounts,
  devnetProvider,
  seedDemoFund,
  setIntervalMining,
  startDevnet,
} from "./devnet";

const HOLDERS = 3;

async function main(): Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- the composition root reads the environment once
  const config = loadDevnetConfig(process.argv.slice(2), process.env);
  const devnet = await startDevnet({
    host: config.host,
    port: config.port,
    chainId: config.chainId,
    rpcLog: config.rpcLog,
    ...(config.rpcLog ? { onOutput: (line: string) => process.stdout.write(`node | ${line}\n`) } : {}),
  });
  let stopping = false;
  const provider = devnetProvider(devnet);
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`devnet: ${reason}, stopping the node\n`);
    provider.destroy();
    await devnet.stop();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop(signal).catch((error: unknown) => {
        process.stderr.write(`devnet: stopping failed: ${String(error)}\n`);
        process.exitCode = 1;
      });
    });
  }
  void devnet.exited.then(({ code, signal }) => {
    if (stopping) return;
    process.stderr.write(`devnet: the node exited unexpectedly (${signal ?? `exit ${code}`})\n`);
    provider.destroy();
    process.exitCode = 1;
  });

  try {
    const [operator, ...holders] = devnetAccounts(1 + HOLDERS, provider);
    if (operator === undefined) throw new Error("devnet: no operator account");
    const fund = await deployFund(operator);
    const demo = await seedDemoFund(fund, { operator, holders });
    await setIntervalMining(provider, DEVNET_BLOCK_INTERVAL_MS);
    const { l1, l2, l3 } = demo.layers;
    const nav = l1 + l2 + l3;
    const layer = (value: bigint) => `${formatUnits(value, 6)} (${(Number((value * 1000n) / nav) / 10).toFixed(1)} %)`;
    const lines = [
      "Paimon devnet",
      `  HTTP RPC    ${devnet.httpUrl}`,
      `  WebSocket   ${devnet.wsUrl}`,
      `  chain id    ${devnet.chainId}`,
      `  PaimonFund  ${await fund.getAddress()} (block ${await provider.getBlockNumber()})`,
      `  layers      L1 ${layer(l1)}  L2 ${layer(l2)}  L3 ${layer(l3)}`,
      `  redemptions #${demo.settledId} settled, #${demo.pendingId} pending, #${demo.cancelledId} cancelled`,
      "",
      "Accounts (Hardhat's defaults; their keys are public, for local chains only)",
      `  operator #0 ${operator.address} ${operator.privateKey}  admin, settler, oracle, rebalancer`,
      ...holders.map((holder, index) => `  holder #${index + 1}  ${holder.address} ${holder.privateKey}`),
      "",
      "Ctrl-C stops the node.",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } catch (error) {
    await stop("setup failed");
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`devnet: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
