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
import { Channel, PaimonFund__factory } from "@paimon/contracts";
import { devnetAccounts } from "@paimon/contracts/devnet";
import { sampleValue } from "@paimon/core/testing/metrics";
import { startDev } from "@paimon/scripts/checks/testing";
import { JsonRpcProvider } from "ethers";
import { describe, expect, it, vi } from "vitest";

describe("pnpm dev", () => {
  it("serves the demo fund with its risk, follows a large redemption into a threshold rebalance executed on chain and its settlement, and stops on Ctrl-C", async () => {
    // Ready once it says so (after `GET /v1/fund` answered) and every worker listens.
    const dev = await startDev("dev_test", 120_000);
    let exitCode: number | null | undefined;
    try {
      const fundUrl = `${dev.apiUrl}/v1/fund`;
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

      const provider = new JsonRpcProvider(dev.chainUrl, undefined, { cacheTimeout: -1 });
      const [, holder] = devnetAccounts(2, provider);
      const address = dev.fundAddress;
      if (!holder) throw new Error("no holder account on the devnet");
      const receipt = await (
        await PaimonFund__factory.connect(address, holder).requestRedemption(1_000_000n, Channel.Instant)
      ).wait();
      const mined = performance.now();
      await vi.waitFor(
        async () => {
          const page = (await (await fetch(`${dev.apiUrl}/v1/redemptions?limit=5`)).json()) as {
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
          const page = (await (await fetch(`${dev.apiUrl}/v1/rebalances`)).json()) as {
            data: Execution[];
          };
          threshold = page.data.find((r) => r.trigger === "threshold");
          expect(threshold?.status).toBe("succeeded");
        },
        { timeout: 90_000, interval: 200 },
      );
      expect(threshold?.reason).toMatch(/pending redemption/);
      const detail = (await (await fetch(`${dev.apiUrl}/v1/rebalances/${threshold?.id ?? ""}`)).json()) as {
        plan: unknown[];
        transactions: { status: string; attempts: unknown[] }[];
      };
      expect(detail.transactions.length).toBeGreaterThan(0);
      expect(detail.transactions.length).toBe(detail.plan.length);
      expect(detail.transactions.every((t) => t.status === "confirmed")).toBe(true);
      // L1 can now pay the large redemption: it is settled, once.
      await vi.waitFor(
        async () => {
          const redemption = (await (await fetch(`${dev.apiUrl}/v1/redemptions/${largeId}`)).json()) as {
            status: string;
            settlement: { status: string } | null;
          };
          expect(redemption.status).toBe("settled");
          expect(redemption.settlement?.status).toBe("confirmed");
        },
        { timeout: 90_000, interval: 200 },
      );
      const settled = await fundContract.queryFilter(fundContract.filters.RedemptionSettled(BigInt(largeId)));
      expect(settled).toHaveLength(1);
      const counters = await (await fetch(`${dev.workerUrls.rebalance}/metrics`)).text();
      expect(
        sampleValue(counters, "paimon_rebalance_executions_total", { trigger: "threshold", status: "succeeded" }),
      ).toBeGreaterThanOrEqual(1);
      provider.destroy();
    } finally {
      // Ctrl-C, then its database and queues dropped.
      exitCode = await dev.stop();
    }
    expect(exitCode).toBe(0);
    expect(dev.output()).toContain("stopping the services, then the chain");
  }, 240_000);
});
