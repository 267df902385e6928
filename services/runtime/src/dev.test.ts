/**
 * `pnpm dev` end to end, on ports of its own: it recreates a database, starts the devnet with the
 * demo fund, the listener and the API, and announces it is ready only once `GET /v1/fund`
 * answers. The risk monitor's assessment shows in `GET /v1/fund` with its reasons. A redemption
 * then requested on chain shows up in `GET /v1/redemptions` (the test prints how long that took;
 * speed is measured by `pnpm bench:ingest`, not asserted here); a large instant one raises the
 * risk, a `threshold` rebalance executes on chain (succeeded, every leg's transaction confirmed,
 * counted in the rebalance worker's metrics), the redemption is then settled exactly once; and
 * Ctrl-C stops everything with exit 0.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { Channel, PaimonFund__factory } from "@paimon/contracts";
import { devnetAccounts, freePort } from "@paimon/contracts/devnet";
import { deleteKeys } from "@paimon/core/redis";
import { ADMIN_DATABASE_URL } from "@paimon/core/testing";
import { sampleValue } from "@paimon/core/testing/metrics";
import { Redis } from "ioredis";
import { JsonRpcProvider } from "ethers";
import pg from "pg";
import { afterAll, describe, expect, it, vi } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const DATABASE = `paimon_dev_test_${String(process.pid)}`;
const QUEUE_PREFIX = `paimon-dev-test-${String(process.pid)}`;

afterAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${DATABASE} with (force)`);
  await admin.end();
  const redis = new Redis("redis://127.0.0.1:6379");
  await deleteKeys(redis, `${QUEUE_PREFIX}:*`);
  redis.disconnect();
});

describe("pnpm dev", () => {
  it("serves the demo fund with its risk, follows a large redemption into a threshold rebalance executed on chain and its settlement, and stops on Ctrl-C", async () => {
    const [api, listener, chain] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(__dirname, "dev.ts"),
        `--database=${DATABASE}`,
        `--queue-prefix=${QUEUE_PREFIX}`,
        `--api-port=${String(api)}`,
        `--listener-port=${String(listener)}`,
        "--worker-ports=0",
        `--chain-port=${String(chain)}`,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await vi.waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`pnpm dev exited: ${output}`);
          expect(output).toContain("dev: ready");
        },
        { timeout: 90_000, interval: 100 },
      );
      const fundUrl = `http://127.0.0.1:${String(api)}/v1/fund`;
      interface Fund {
        layers: unknown[];
        risk: { level: number; reasons: { rule: string; message: string }[]; block_number: string } | null;
      }
      const fund = async () => (await (await fetch(fundUrl)).json()) as Fund;
      expect((await fund()).layers).toHaveLength(3);
      // The demo fund is healthy: the risk monitor says so, and why.
      await vi.waitFor(
        async () => {
          expect((await fund()).risk).toMatchObject({ level: 1, reasons: [{ rule: "within_limits" }] });
        },
        { timeout: 30_000, interval: 100 },
      );

      const provider = new JsonRpcProvider(`http://127.0.0.1:${String(chain)}`, undefined, { cacheTimeout: -1 });
      const [, holder] = devnetAccounts(2, provider);
      const address = /fund (0x[0-9a-fA-F]{40})/.exec(output)?.[1];
      if (!holder || !address) throw new Error(`no holder or fund address in: ${output}`);
      const receipt = await (
        await PaimonFund__factory.connect(address, holder).requestRedemption(1_000_000n, Channel.Instant)
      ).wait();
      const mined = performance.now();
      await vi.waitFor(
        async () => {
          const page = (await (await fetch(`http://127.0.0.1:${String(api)}/v1/redemptions?limit=5`)).json()) as {
            data: { requested_tx: string }[];
          };
          expect(page.data.map((r) => r.requested_tx)).toContain(receipt?.hash.toLowerCase());
        },
        { timeout: 10_000, interval: 20 },
      );
      console.log(
        `a redemption requested on chain was served by the API ${(performance.now() - mined).toFixed(0)} ms after its receipt`,
      );

      // A large instant redemption: L1 no longer covers what waits on it.
      const large = await (
        await PaimonFund__factory.connect(address, holder).requestRedemption(80_000_000_000n, Channel.Instant)
      ).wait();
      const fundContract = PaimonFund__factory.connect(address, holder);
      const requested = large?.logs
        .map((log) => fundContract.interface.parseLog(log))
        .find((event) => event?.name === "RedemptionRequested");
      const largeId = String(requested?.args[0]);
      // The risk rises, the risk monitor raises a threshold rebalance, the rebalance worker plans
      // it from the contract's balances and sends its legs; once final the execution succeeded.
      type Execution = { id: string; trigger: string; status: string; reason: string };
      let threshold: Execution | undefined;
      await vi.waitFor(
        async () => {
          const page = (await (await fetch(`http://127.0.0.1:${String(api)}/v1/rebalances`)).json()) as {
            data: Execution[];
          };
          threshold = page.data.find((r) => r.trigger === "threshold");
          expect(threshold?.status).toBe("succeeded");
        },
        { timeout: 90_000, interval: 200 },
      );
      expect(threshold?.reason).toMatch(/pending redemption/);
      const detail = (await (
        await fetch(`http://127.0.0.1:${String(api)}/v1/rebalances/${threshold?.id ?? ""}`)
      ).json()) as { plan: unknown[]; transactions: { status: string; attempts: unknown[] }[] };
      expect(detail.transactions.length).toBeGreaterThan(0);
      expect(detail.transactions.length).toBe(detail.plan.length);
      expect(detail.transactions.every((t) => t.status === "confirmed")).toBe(true);
      // L1 can now pay the large redemption: it is settled, once.
      await vi.waitFor(
        async () => {
          const redemption = (await (
            await fetch(`http://127.0.0.1:${String(api)}/v1/redemptions/${largeId}`)
          ).json()) as { status: string; settlement: { status: string } | null };
          expect(redemption.status).toBe("settled");
          expect(redemption.settlement?.status).toBe("confirmed");
        },
        { timeout: 90_000, interval: 200 },
      );
      const settled = await fundContract.queryFilter(fundContract.filters.RedemptionSettled(BigInt(largeId)));
      expect(settled).toHaveLength(1);
      const rebalancePort = (/rebalance-worker \| \{.*"message":"listening","port":(\d+)/.exec(output) ?? [])[1];
      const counters = await (await fetch(`http://127.0.0.1:${String(rebalancePort)}/metrics`)).text();
      expect(
        sampleValue(counters, "paimon_rebalance_executions_total", { trigger: "threshold", status: "succeeded" }),
      ).toBeGreaterThanOrEqual(1);
      provider.destroy();
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(output).toContain("stopping the services, then the chain");
  }, 240_000);
});
