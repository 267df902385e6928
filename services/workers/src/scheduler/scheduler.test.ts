/**
 * The scheduler for real: two replicas over many slots run each slot once; a scheduler down across
 * a cut-off runs that cut-off once when it is back; down across several, only the newest runs.
 */
import { setTimeout as delay } from "node:timers/promises";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawnWorker, stopWorker, testQueues, workerEnv } from "../testing";
import { nextSlot } from "./slots";

/** Slots far apart enough not to run during a test, for the schedules a test does not look at. */
const YEARLY = "0 0 1 1 *";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const schedulerEnv = (cutoff: string) =>
  workerEnv(database, {
    SETTLEMENT_CUTOFF_CRON: cutoff,
    FUND_SNAPSHOT_CRON: YEARLY,
    REBALANCE_CHECK_CRON: YEARLY,
    BACKUP_CHECK_CRON: YEARLY,
  });

const cutoffRuns = async () =>
  database.db
    .selectFrom("schedule_runs")
    .select(["slot", "outcome", "run_at"])
    .where("schedule", "=", "settlement-cutoff")
    .orderBy("slot")
    .execute();

const cutoffJobs = async () =>
  (
    await database.db.selectFrom("outbox").select(["job_id", "payload"]).where("queue", "=", "settlements").execute()
  ).map((row) => row.job_id);

/** Runs a scheduler until it has run a cut-off, stops it, and returns that cut-off's slot. */
async function runUntilACutoff(env: Record<string, string>): Promise<Date> {
  const scheduler = spawnWorker("scheduler", env);
  try {
    return await vi.waitFor(
      async () => {
        const ran = (await cutoffRuns()).filter((run) => run.outcome === "ran");
        expect(ran.length).toBeGreaterThan(0);
        return ran.at(-1)!.slot;
      },
      { timeout: 60_000, interval: 50 },
    );
  } finally {
    expect((await stopWorker(scheduler)).code).toBe(0);
  }
}

const clear = async () => {
  await database.db.deleteFrom("schedule_runs").execute();
  await database.db.deleteFrom("outbox").execute();
};

describe("the scheduler", () => {
  it("when two replicas run over many slots, then every slot runs exactly once", async () => {
    await clear();
    const env = schedulerEnv("*/2 * * * * *");
    const queues = testQueues(env.QUEUE_PREFIX);
    const replicas = [spawnWorker("scheduler", env), spawnWorker("scheduler", env)];
    try {
      await vi.waitFor(
        async () => {
          for (const replica of replicas) {
            if (replica.child.exitCode !== null) throw new Error(`a replica exited: ${replica.output().stderr}`);
          }
          expect((await cutoffRuns()).filter((run) => run.outcome === "ran").length).toBeGreaterThanOrEqual(8);
        },
        { timeout: 90_000, interval: 200 },
      );
    } finally {
      for (const replica of replicas) expect((await stopWorker(replica)).code).toBe(0);
    }
    const runs = await cutoffRuns();
    // Slots are the pattern's (a slot BullMQ skipped while both were busy has no row at all).
    for (const run of runs) expect(run.slot.getTime() % 2_000).toBe(0);
    const ran = runs.filter((run) => run.outcome === "ran");
    // Each run handed over its cut-off once: the outbox row is inserted without a conflict clause.
    expect((await cutoffJobs()).sort()).toEqual(ran.map((run) => `cutoff-${String(run.slot.getTime())}`).sort());
    expect(await queues.get("schedules").getJobCounts("failed")).toEqual({ failed: 0 });
    const ranBy = replicas.map((replica) => replica.lines().filter((line) => line["message"] === "scheduled slot ran"));
    expect(ranBy.flat().filter((line) => line["schedule"] === "settlement-cutoff").length).toBe(ran.length);
    await queues.clean();
  }, 120_000);

  it("when it is down across a cut-off, then that cut-off runs exactly once when it is back", async () => {
    await clear();
    // Slots 30 s apart: the restarted scheduler has 29 s to start before the next one falls due
    // and supersedes the missed one — a process start on a loaded two-core machine has taken
    // more than the 9 s that slots 10 s apart left it.
    const pattern = "*/30 * * * * *";
    const env = schedulerEnv(pattern);
    const queues = testQueues(env.QUEUE_PREFIX);
    const firstSlot = await runUntilACutoff(env);
    const missed = nextSlot({ pattern, timeZone: "UTC" }, firstSlot);
    expect(await cutoffRuns()).not.toContainEqual(expect.objectContaining({ slot: missed }));
    // The outage: the scheduler stays down until the cut-off has passed.
    await delay(Math.max(0, missed.getTime() + 1_000 - Date.now()));
    const back = new Date();
    const second = spawnWorker("scheduler", env);
    try {
      await vi.waitFor(
        async () => {
          expect((await cutoffRuns()).find((run) => run.slot.getTime() === missed.getTime())?.outcome).toBe("ran");
        },
        { timeout: 60_000, interval: 50 },
      );
    } finally {
      expect((await stopWorker(second)).code).toBe(0);
    }
    const run = (await cutoffRuns()).find((row) => row.slot.getTime() === missed.getTime());
    expect(run?.run_at.getTime()).toBeGreaterThanOrEqual(back.getTime() - 1_000);
    expect((await cutoffJobs()).filter((id) => id === `cutoff-${String(missed.getTime())}`)).toHaveLength(1);
    expect(await queues.get("schedules").getJobCounts("failed")).toEqual({ failed: 0 });
    await queues.clean();
  }, 180_000);

  it("when it is down across several cut-offs, then only the newest runs, once", async () => {
    await clear();
    const pattern = "*/4 * * * * *";
    const env = schedulerEnv(pattern);
    const queues = testQueues(env.QUEUE_PREFIX);
    await runUntilACutoff(env);
    // The cut-off it ran first is often the start-up's catch-up, with the next slot 0–4 s after it:
    // the process may have handled that one too before it stopped. The outage starts after the
    // newest slot it left a row for, ran or superseded.
    const lastRan = (await cutoffRuns()).at(-1)!.slot;
    const timing = { pattern, timeZone: "UTC" };
    const older = nextSlot(timing, lastRan);
    const newest = nextSlot(timing, older);
    await delay(Math.max(0, newest.getTime() + 500 - Date.now()));
    const back = new Date();
    const second = spawnWorker("scheduler", env);
    let caughtUp: Date;
    try {
      // However long the restart takes, the first slot it runs is the newest due then.
      caughtUp = await vi.waitFor(
        async () => {
          const ran = (await cutoffRuns()).filter((run) => run.outcome === "ran" && run.slot > lastRan);
          expect(ran.length).toBeGreaterThan(0);
          return ran[0]!.slot;
        },
        { timeout: 60_000, interval: 50 },
      );
    } finally {
      expect((await stopWorker(second)).code).toBe(0);
    }
    expect(caughtUp.getTime()).toBeGreaterThanOrEqual(newest.getTime());
    // Every slot the outage missed before it never ran: BullMQ dropped it when the schedulers were
    // upserted again, or, had its job still been delivered, it was recorded superseded.
    const missed = (await cutoffRuns()).filter((run) => run.slot > lastRan && run.slot < caughtUp);
    expect(missed.filter((run) => run.outcome === "ran")).toEqual([]);
    const jobs = await cutoffJobs();
    for (let slot = older.getTime(); slot < caughtUp.getTime(); slot += 4_000) {
      expect(jobs).not.toContain(`cutoff-${String(slot)}`);
    }
    expect(jobs.filter((id) => id === `cutoff-${String(caughtUp.getTime())}`)).toHaveLength(1);
    expect(
      (await cutoffRuns()).find((run) => run.slot.getTime() === caughtUp.getTime())?.run_at.getTime(),
    ).toBeGreaterThanOrEqual(back.getTime() - 1_000);
    await queues.clean();
  }, 120_000);
});
