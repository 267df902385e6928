/**
 * The sender's promise under SIGKILL: the rebalance worker, as a real process (its bundle, so a
 * restart takes a fraction of a second), settles instant redemptions requested in waves through
 * the settlements queue, and executes the rebalances the operator asks for as the oracle moves
 * L3, while it is SIGKILLed 200 times at random points — just after a nonce was allocated, a
 * transaction signed, broadcast, mined or made final, or at a random moment — and restarted each
 * time. Then: every redemption settled exactly once, every rebalance leg one transfer on chain and
 * every execution succeeded, every intent confirmed, the operator's nonce equal to the confirmed
 * transactions, no gap.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Channel, RedemptionStatus } from "@paimon/contracts";
import { queuedJob } from "@paimon/core/queues";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { spawnService, type ServiceProcess } from "@paimon/core/testing/service-process";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { seededRandom } from "@paimon/core/testing/random";
import { testQueues, workerEnv } from "../testing";
import { laneIntents, startSenderChain, type SenderChain } from "./testing";

/** Redemptions requested at a time, whenever fewer than this many are unsettled. */
const WAVE = 12;
const KILLS = 200;
const KILL_POINTS = [
  "transaction nonce allocated",
  "transaction signed",
  "transaction broadcast",
  "transaction mined",
  "transaction final",
] as const;

let chain: SenderChain;
let database: TestDatabase;
let bundleDir: string;

beforeAll(async () => {
  bundleDir = mkdtempSync(path.join(tmpdir(), "paimon-workers-bundle-"));
  [chain, database] = await Promise.all([startSenderChain(), createTestDatabase()]);
  await build({
    entryPoints: [path.join(__dirname, "..", "bin.ts")],
    outfile: path.join(bundleDir, "workers.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "warning",
    external: ["pg-native", "bufferutil", "utf-8-validate"],
  });
}, 120_000);
afterAll(async () => {
  await chain.stop();
  await database.drop();
  rmSync(bundleDir, { recursive: true, force: true });
});

describe("the rebalance worker's sender, SIGKILLed 200 times", () => {
  it("settles every redemption and moves every rebalance leg exactly once, one transaction per intent, no nonce skipped", async () => {
    const seed = Date.now() % 2 ** 31;
    const next = seededRandom(seed);
    // Blocks keep coming, so receipts get to the finality depth while nothing else is sent.
    await chain.provider.send("evm_setIntervalMining", [100]);
    const holder = chain.admin;
    const startNonce = await chain.provider.getTransactionCount(chain.operator.address, "latest");
    const env = workerEnv(database, {
      BSC_RPC_URL: chain.devnet.httpUrl,
      CHAIN_ID: String(chain.devnet.chainId),
      FUND_ADDRESS: chain.fundAddress,
      FINALITY_DEPTH: "2",
      SIGNER: "local",
      OPERATOR_PRIVATE_KEY: chain.operator.privateKey,
      SENDER_POLL_MS: "50",
      SETTLEMENT_CONCURRENCY: "64",
      WORKER_LOCK_DURATION_MS: "1000",
      WORKER_MAX_STALLED_COUNT: "1000",
      LOG_LEVEL: "info",
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const settlements = queues.get("settlements");
    const rebalanceQueue = queues.get("rebalance");
    const ids: string[] = [];
    const executions: string[] = [];
    /**
     * Every third wave, the oracle revalues L3 up by half (L1's share falls out of its band) and
     * the operator asks for a rebalance: the worker plans legs from the contract's balances.
     */
    const addRebalance = async () => {
      const [l2, l3] = [await chain.fund.l2(), await chain.fund.l3()];
      await (await chain.fund.reportLayerValues(l2, l3 === 0n ? 0n : (l3 * 3n) / 2n)).wait();
      const executionId = randomUUID();
      executions.push(executionId);
      await database.db
        .insertInto("rebalance_executions")
        .values({ id: executionId, trigger: "manual", status: "pending", reason: "crash test", plan: "[]" })
        .execute();
      await queues.add(queuedJob("rebalance", { executionId, trigger: "manual", reason: "crash test" }), {
        attempts: 1000,
        // Planning waits while another execution's legs are open: retried soon, not exponentially.
        backoff: { type: "fixed", delay: 300 },
      });
    };
    let waves = 0;
    // Work arrives in waves while the worker is killed: there is always something in flight.
    const addWave = async () => {
      if (waves++ % 3 === 0) await addRebalance();
      const firstId = await chain.fund.nextRedemptionId();
      await (await chain.fund.connect(holder).requestRedemptions(Array(WAVE).fill(1_000_000n), Channel.Instant)).wait();
      for (let i = 0; i < WAVE; i++) {
        const id = (firstId + BigInt(i)).toString();
        ids.push(id);
        const job = queuedJob("settlements", {
          kind: "redemption",
          chainId: chain.devnet.chainId,
          redemptionId: id,
          channel: "instant",
          owner: holder.address.toLowerCase(),
          assets: "1",
        });
        await queues.add(job, { attempts: 1000 });
      }
    };

    const spawn = (): ServiceProcess =>
      spawnService(["--enable-source-maps", path.join(bundleDir, "workers.js"), "--worker=rebalance"], {
        cwd: bundleDir,
        env: { ...env, PATH: path.dirname(process.execPath) },
      });
    const killedAt: Record<string, number> = {};
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const counts = await settlements.getJobCounts("completed");
        if (ids.length - (counts["completed"] ?? 0) < WAVE) await addWave();
        const worker = spawn();
        const point = next() < 0.15 ? "moment" : KILL_POINTS[Math.floor(next() * KILL_POINTS.length)]!;
        const nth = 1 + Math.floor(next() * 3);
        await new Promise<void>((resolve) => {
          let seen = 0;
          const killNow = () => {
            worker.child.kill("SIGKILL");
            resolve();
          };
          worker.child.once("exit", () => {
            resolve();
          });
          if (point === "moment") {
            void worker.port.then(() => setTimeout(killNow, Math.floor(next() * 400)));
            return;
          }
          const marker = `"message":"${point}"`;
          worker.child.stdout?.on("data", (chunk: Buffer) => {
            seen += chunk.toString().split(marker).length - 1;
            if (seen >= nth) killNow();
          });
          // Nothing left to do at this point: kill it anyway once it is idle at the lane.
          void worker.port.then(() => setTimeout(killNow, 600 + Math.floor(next() * 400)));
        });
        await worker.exited;
        killedAt[point] = (killedAt[point] ?? 0) + 1;
      }

      // One last run, left alone until every job is done.
      const last = spawn();
      try {
        await vi.waitFor(
          async () => {
            const counts = await settlements.getJobCounts("completed", "failed");
            expect(counts, `seed ${seed}`).toMatchObject({ completed: ids.length, failed: 0 });
            const rebalances = await rebalanceQueue.getJobCounts("completed", "failed");
            expect(rebalances, `seed ${seed}`).toMatchObject({ completed: executions.length, failed: 0 });
          },
          { timeout: 180_000, interval: 250 },
        );
      } finally {
        last.child.kill("SIGTERM");
        await last.exited;
      }
    } finally {
      await queues.clean();
    }

    const intents = await laneIntents(database.db);
    const settlementsMade = intents.filter((i) => i.purpose === "settlement");
    expect(new Set(settlementsMade.map((i) => i.redemption_id)).size, `seed ${seed}`).toBe(ids.length);
    expect(
      intents.every((i) => i.status === "confirmed"),
      `seed ${seed}: ${JSON.stringify(killedAt)}`,
    ).toBe(true);
    // One transaction on chain per intent: the operator's nonce moved by exactly the intents, the
    // intents' nonces are exactly those, and each redemption was settled once.
    const endNonce = await chain.provider.getTransactionCount(chain.operator.address, "latest");
    expect(endNonce - startNonce).toBe(intents.length);
    expect(intents.map((i) => Number(i.nonce)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: intents.length }, (_, i) => startNonce + i),
    );
    // Every rebalance leg is one transfer on chain: as many RebalanceExecuted events as legs, each
    // leg's id once, and every execution succeeded (or found nothing to move).
    const legs = intents.filter((i) => i.purpose === "rebalance");
    const moved = await chain.fund.queryFilter(chain.fund.filters.RebalanceExecuted(), 0, "latest");
    expect(moved).toHaveLength(legs.length);
    expect(new Set(moved.map((event) => event.args.executionId)).size).toBe(legs.length);
    expect(legs.length).toBeGreaterThan(0);
    const outcomes = await database.db
      .selectFrom("rebalance_executions")
      .select(["status"])
      .where("id", "in", executions)
      .execute();
    expect(outcomes.map((o) => o.status)).toEqual(Array(executions.length).fill("succeeded"));
    const settled = await chain.fund.queryFilter(chain.fund.filters.RedemptionSettled(), 0, "latest");
    expect(settled.map((event) => event.args.id.toString()).sort()).toEqual([...ids].sort());
    for (const id of [ids[0], ids.at(-1)]) {
      expect(Number((await chain.fund.redemption(id!)).status)).toBe(RedemptionStatus.Settled);
    }
    expect(Object.values(killedAt).reduce((a, b) => a + b, 0)).toBe(KILLS);
    console.log(
      `seed ${seed}: ${ids.length} settlements, ${executions.length} rebalances (${legs.length} legs); kills by point ${JSON.stringify(killedAt)}`,
    );
  }, 900_000);
});
