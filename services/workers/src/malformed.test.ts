/**
 * A job whose payload breaks the queue contract fails at once with the field it got wrong, is not
 * retried, and the worker goes on with the next job; bad configuration stops the worker before it
 * starts, naming every key.
 */
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { WORKERS } from "@paimon/core/workloads";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { riskHistory } from "./risk/history";
import { blockHash, commitHistory, spawnWorker, stopWorker, testQueues, TEST_CHAIN_ID, workerEnv } from "./testing";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe("a malformed job", () => {
  it("when a risk notice's payload is wrong, then it fails with the field named, unretried, and the next job is done", async () => {
    const env = workerEnv(database, { RISK_IDLE_ASSESS_MS: "3600000" });
    const queues = testQueues(env.QUEUE_PREFIX);
    const worker = spawnWorker("risk", env);
    try {
      const risk = queues.get("risk");
      await risk.add(
        "risk",
        { chainId: TEST_CHAIN_ID, blockNumber: "12", blockHash: "not-a-hash" },
        {
          jobId: "malformed-1",
          attempts: 5,
        },
      );
      await risk.add("risk", { chainId: "56", blockNumber: 12 }, { jobId: "malformed-2", attempts: 5 });
      await commitHistory(database.db, env.QUEUE_PREFIX, riskHistory(1, 7));
      await vi.waitFor(
        async () => {
          expect(await risk.getJobCounts("completed", "failed")).toEqual({ completed: 1, failed: 2 });
        },
        { timeout: 30_000, interval: 50 },
      );
      const first = await risk.getJob("malformed-1");
      expect(first?.failedReason).toMatch(/invalid risk job: blockHash: must be a lower-case 0x-prefixed 32-byte hex/);
      expect(first?.attemptsMade).toBe(1);
      const second = await risk.getJob("malformed-2");
      expect(second?.failedReason).toMatch(/chainId: .*number/);
      expect(second?.failedReason).toMatch(/blockNumber: /);
      expect(second?.failedReason).toMatch(/blockHash: /);
      expect(await database.metricsDb.selectFrom("risk_assessments").select("block_hash").execute()).toEqual([
        { block_hash: blockHash(7) },
      ]);
      const port = await worker.port;
      expect((await fetch(`http://127.0.0.1:${String(port)}/health/ready`)).status).toBe(200);
      expect(worker.lines().filter((line) => line["message"] === "job failed")).toHaveLength(2);
    } finally {
      expect((await stopWorker(worker)).code).toBe(0);
      await queues.clean();
    }
  });
});

describe("the workers' configuration", () => {
  it("when it is wrong, then the worker exits 1 before starting, naming every bad key", async () => {
    const worker = spawnWorker("scheduler", {
      ...workerEnv(database),
      SETTLEMENT_CUTOFF_CRON: "every day at four",
      SCHEDULE_TIME_ZONE: "Mars/Olympus",
      L1_TARGET_RATIO: "0.5",
      RISK_COVERAGE_HIGH: "5",
    });
    const { code } = await worker.exited;
    expect(code).toBe(1);
    const stderr = worker.output().stderr;
    expect(stderr).toContain("SETTLEMENT_CUTOFF_CRON: must be a cron pattern");
    expect(stderr).toContain("SCHEDULE_TIME_ZONE: must be an IANA time zone");
    expect(worker.lines()).toEqual([]);
  });

  it("when the risk policy does not hold together, then the worker names the variables to fix", async () => {
    const worker = spawnWorker("risk", { ...workerEnv(database), L1_TARGET_RATIO: "0.5", RISK_COVERAGE_HIGH: "5" });
    expect((await worker.exited).code).toBe(1);
    const stderr = worker.output().stderr;
    expect(stderr).toContain("L1_TARGET_RATIO: the layers' targets must sum to 1, not 1.400000");
    expect(stderr).toContain("L1_TARGET_RATIO: must lie in its band");
    expect(stderr).toContain(
      "RISK_COVERAGE_HIGH: RISK_COVERAGE_ELEVATED > RISK_COVERAGE_HIGH > RISK_COVERAGE_CRITICAL",
    );
  });

  it("when --worker names no worker, then it exits 1 naming the choices", async () => {
    const worker = spawnWorker("payroll" as "risk", workerEnv(database));
    expect((await worker.exited).code).toBe(1);
    // Every worker named, once, whatever the order.
    const choices = /--worker must be one of (.+), got "payroll"/.exec(worker.output().stderr)?.[1];
    expect(choices?.split(", ").sort()).toEqual([...WORKERS].sort());
  });
});
