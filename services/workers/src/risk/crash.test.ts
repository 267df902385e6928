/**
 * 1,000 block notices with the risk monitor SIGKILLed again and again mid-run: every block is
 * assessed exactly once, each as its block's state says, no job fails, and no second threshold
 * intent is raised while the first is open.
 */
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import type { ServiceProcess } from "@paimon/core/testing/service-process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { commitHistory, countAssessments, spawnWorker, stopWorker, testQueues, workerEnv } from "../testing";
import { expectedLevel, expectedStates, riskHistory } from "./history";

const NOTICES = 1_000;
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const takingJobs = (worker: ServiceProcess) =>
  vi.waitFor(
    () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited: ${worker.output().stderr}`);
      expect(worker.lines().some((line) => line["message"] === "taking jobs")).toBe(true);
    },
    { timeout: 60_000, interval: 20 },
  );

/** A seeded generator, so a failing run can be repeated. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("the risk monitor, killed again and again", () => {
  it(`when ${String(NOTICES)} block notices are handled by a worker SIGKILLed mid-run again and again, then each block is assessed exactly once`, async () => {
    const env = workerEnv(database, { RISK_IDLE_ASSESS_MS: "3600000" });
    const queues = testQueues(env.QUEUE_PREFIX);
    const history = riskHistory(NOTICES);
    const states = expectedStates(history);
    const seed = Date.now() % 100_000;
    const next = random(seed);
    const count = () => countAssessments(database);
    let kills = 0;
    try {
      await commitHistory(database.db, env.QUEUE_PREFIX, history);
      expect(await queues.get("risk").getJobCounts("prioritized", "waiting")).toMatchObject({
        prioritized: NOTICES,
      });
      // Some 11–14 tsx starts, each up to 10–20 s on a loaded 2-core machine, besides the work;
      // the deadline comes well before the test's limit, so a stall reports how far it got.
      const deadline = performance.now() + 600_000;
      while ((await count()) < NOTICES) {
        if (performance.now() > deadline)
          throw new Error(`only ${String(await count())} assessments after ${String(kills)} kills`);
        const worker = spawnWorker("risk", env);
        await takingJobs(worker);
        // The fault: a kill at a random moment of the worker's work — after a random number of
        // new assessments (so it lands mid-run on a fast machine as on a slow one), or when the
        // work is done.
        const target = (await count()) + 20 + Math.floor(next() * 150);
        await vi.waitFor(
          async () => {
            expect((await count()) >= Math.min(target, NOTICES)).toBe(true);
          },
          { timeout: 120_000, interval: 5 + Math.floor(next() * 20) },
        );
        worker.child.kill("SIGKILL");
        await worker.exited;
        kills += 1;
      }
      // A last, unkilled worker finishes what the last kill left in hand.
      const last = spawnWorker("risk", env);
      await takingJobs(last);
      try {
        await vi.waitFor(
          async () => {
            expect(await queues.get("risk").getJobCounts("completed", "failed", "active")).toEqual({
              completed: NOTICES,
              failed: 0,
              active: 0,
            });
          },
          { timeout: 60_000, interval: 100 },
        );
      } finally {
        const exit = await stopWorker(last);
        // What the process said last, should it not stop cleanly (seen once on a loaded machine).
        const said = last
          .lines()
          .filter((line) => line["level"] !== "debug")
          .slice(-15);
        expect(exit.code, `${JSON.stringify(said, null, 1)}\n${last.output().stderr.slice(-2000)}`).toBe(0);
      }
      console.log(`risk monitor crash test: ${String(kills)} SIGKILLs (seed ${String(seed)})`);
      // 1,000 notices, a kill every 20–170 new assessments.
      expect(kills).toBeGreaterThanOrEqual(5);

      const rows = await database.metricsDb
        .selectFrom("risk_assessments")
        .select(["block_number", "block_hash", "level", "pending_count", "l1_value"])
        .execute();
      expect(rows).toHaveLength(NOTICES);
      expect(new Set(rows.map((row) => row.block_hash)).size).toBe(NOTICES);
      for (const row of rows) {
        const state = states.get(Number(row.block_number));
        expect(state, row.block_number).toBeDefined();
        expect([row.block_number, row.level, row.pending_count]).toEqual([
          row.block_number,
          expectedLevel(state!),
          state!.pendingCount,
        ]);
      }
      const intents = await database.db
        .selectFrom("rebalance_executions")
        .select(["trigger", "status"])
        .where("trigger", "=", "threshold")
        .execute();
      expect(intents).toEqual([{ trigger: "threshold", status: "pending" }]);
      const outbox = await database.db.selectFrom("outbox").select("job_id").where("queue", "=", "rebalance").execute();
      expect(outbox).toHaveLength(1);
    } finally {
      await queues.clean();
    }
  }, 900_000);
});
