/**
 * The scheduler: BullMQ job schedulers for the fund's periodic work (cron patterns in the
 * configured time zone), and a worker that runs each slot exactly once (runs.ts). BullMQ makes one
 * job per slot however many replicas upsert the schedulers, runs it at least once, and never
 * backfills slots missed while nothing ran; so at start, each schedule's newest due slot that has
 * no run is queued once as a catch-up, and a slot found to be older than its schedule's newest due
 * one is recorded `superseded` and the newest is run in its place — a cut-off missed during an
 * outage runs once when the scheduler is back, not once per missed day.
 */
import type { Database, MetricsDatabase } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import { JOB_OPTIONS, jobId, SCHEDULES, type Payload, type ScheduleName } from "@paimon/core/queues";
import { UnrecoverableError, Queue } from "bullmq";
import type { RedisClient } from "@paimon/core/redis";
import type { Kysely } from "kysely";
import type { WorkerMetrics } from "../metrics";
import { scheduledJobs, type JobSettings } from "./jobs";
import { hasRun, lastRuns, runSlot, supersede } from "./runs";
import { latestDue, type Timing } from "./slots";

export interface SchedulerDeps {
  readonly db: Kysely<Database>;
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly connection: RedisClient;
  readonly prefix: string;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics<"scheduler">["metrics"];
  readonly timings: Readonly<Record<ScheduleName, Timing>>;
  readonly jobs: JobSettings;
  readonly now?: () => Date;
}

/** What the scheduler reads of a BullMQ job: the slot its job scheduler made it for. */
export interface ScheduledJob {
  readonly opts: { readonly prevMillis?: number | undefined };
}

export interface Scheduler {
  /** Upserts the job schedulers and queues the catch-ups. */
  start(): Promise<void>;
  /** Handles one job of the `schedules` queue. */
  handle(payload: Payload<"schedules">, job: ScheduledJob): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { db, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const queue = new Queue("schedules", { connection: deps.connection, prefix: deps.prefix });
  queue.on("error", (error) => {
    logger.warn("schedules queue error", { error });
  });
  const work = scheduledJobs(deps.jobs);

  const ran = (schedule: ScheduleName, slot: Date) => {
    metrics.paimon_schedule_last_run_timestamp_seconds.set({ schedule }, slot.getTime() / 1000);
  };

  const run = async (schedule: ScheduleName, slot: Date) => {
    const { outcome, result } = await runSlot(db, schedule, slot, (trx) =>
      work[schedule]({ trx, slot, metricsDb: deps.metricsDb, logger: logger.child(schedule) }),
    );
    metrics.paimon_schedule_runs_total.inc({ schedule, outcome });
    if (outcome === "ran") {
      ran(schedule, slot);
      logger.info("scheduled slot ran", { schedule, slot: slot.toISOString(), result });
    } else {
      logger.info("scheduled slot had run already", { schedule, slot: slot.toISOString() });
    }
    return { schedule, slot: slot.toISOString(), outcome, ...(result ? { result } : {}) };
  };

  return {
    async start() {
      for (const [schedule, slot] of await lastRuns(db)) {
        if ((SCHEDULES as readonly string[]).includes(schedule)) ran(schedule as ScheduleName, slot);
      }
      for (const schedule of SCHEDULES) {
        const timing = deps.timings[schedule];
        await queue.upsertJobScheduler(
          schedule,
          { pattern: timing.pattern, tz: timing.timeZone },
          { name: schedule, data: { schedule }, opts: { ...JOB_OPTIONS } },
        );
        const due = latestDue(timing, now());
        if (!(await hasRun(db, schedule, due))) {
          const payload = { schedule, slot: due.toISOString() };
          await queue.add(schedule, payload, { ...JOB_OPTIONS, jobId: jobId.schedules(payload) });
          logger.info("queued the newest due slot, which has not run", { schedule, slot: payload.slot });
        }
      }
    },
    async handle(payload, job) {
      const { schedule } = payload;
      // A catch-up names its slot; a scheduled job's slot is the time BullMQ scheduled it for.
      const slotMs = payload.slot === undefined ? job.opts.prevMillis : Date.parse(payload.slot);
      if (slotMs === undefined) throw new UnrecoverableError(`a ${schedule} job without a slot`);
      const slot = new Date(slotMs);
      const newest = latestDue(deps.timings[schedule], now());
      if (newest.getTime() > slot.getTime()) {
        await supersede(db, schedule, slot, newest);
        metrics.paimon_schedule_runs_total.inc({ schedule, outcome: "superseded" });
        logger.info("slot superseded by a newer due one", {
          schedule,
          slot: slot.toISOString(),
          newest: newest.toISOString(),
        });
        return run(schedule, newest);
      }
      return run(schedule, slot);
    },
    async close() {
      // As the listener's relay does: let a queue still setting up finish while Redis is there.
      if (deps.connection.status === "ready") await queue.waitUntilReady().catch(() => undefined);
      await queue.close();
    },
  };
}
