/**
 * `pnpm dev` end to end, on ports of its own: it recreates a database, starts the devnet with the
 * demo fund, the listener and the API, and announces it is ready only once `GET /v1/fund`
 * answers. A redemption then requested on chain shows up in `GET /v1/redemptions` (the test
 * prints how long that took; speed is measured by `pnpm bench:ingest`, not asserted here), and
 * Ctrl-C stops everything with exit 0.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { Channel, PaimonFund__factory } from "@paimon/contracts";
import { devnetAccounts, freePort } from "@paimon/contracts/devnet";
import { deleteKeys } from "@paimon/core/redis";
import { ADMIN_DATABASE_URL } from "@paimon/core/testing";
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
  it("serves the demo fund, shows a redemption requested on chain, and stops on Ctrl-C", async () => {
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
      const fund = await fetch(`http://127.0.0.1:${String(api)}/v1/fund`);
      expect(fund.status).toBe(200);
      expect(((await fund.json()) as { layers: unknown[] }).layers).toHaveLength(3);

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
      provider.destroy();
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(output).toContain("stopping the services, then the chain");
  }, 120_000);
});
