/**
 * The work queues' one contract: every producer (the API's and the listener's outbox rows, the
 * workers' own follow-up work) and every consumer (the workers) imports its names, priorities,
 * job ids, payloads and job options from here. A payload is checked against its schema when a job
 * is taken, so a malformed one fails with the field it got wrong instead of half-running.
 *
 * Job ids are derived from what caused the work (a block hash, a redemption id, an execution id,
 * a schedule's slot), never random: a producer that retries after a crash makes the same job, and
 * BullMQ keeps a job id once. Ids contain no `:` (BullMQ refuses custom ids with one).
 */
import { z } from "zod";
import { AppError } from "./errors";

/** BullMQ priorities: 1 is served first. */
export const PRIORITY = { high: 1, normal: 5, low: 10 } as const;
export type PriorityName = keyof typeof PRIORITY;

const decimalString = z.string().regex(/^\d{1,60}(\.\d{1,18})?$/, "must be a non-negative decimal string");
const blockNumber = z.string().regex(/^\d{1,20}$/, "must be a block number in decimal");
const hash32 = z.string().regex(/^0x[0-9a-f]{64}$/, "must be a lower-case 0x-prefixed 32-byte hex string");
const address = z.string().regex(/^0x[0-9a-f]{40}$/, "must be a lower-case 0x-prefixed address");
const chainId = z.number().int().positive();

/** The scheduler's periodic jobs, by name (also their BullMQ job scheduler ids). */
export const SCHEDULES = ["settlement-cutoff", "fund-snapshot", "rebalance-check", "backup-freshness"] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

/** Each queue's payload. */
export const PAYLOADS = {
  /** A block that moved money, for the risk monitor (sent at once, final or not). */
  risk: z.strictObject({ chainId, blockNumber, blockHash: hash32 }),
  /** A redemption to settle once its request is final, or a standard-channel cut-off. */
  settlements: z.discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("redemption"),
      chainId,
      redemptionId: z.string().regex(/^\d{1,78}$/, "must be a redemption id in decimal"),
      channel: z.enum(["instant", "standard"]),
      owner: address,
      assets: decimalString,
    }),
    z.strictObject({
      kind: z.literal("cutoff"),
      /** The cut-off's slot (ISO 8601): standard redemptions requested before it are due. */
      cutoffAt: z.iso.datetime({ offset: true }),
      /** How many redemptions were due, and their assets, when the cut-off ran. */
      redemptions: z.number().int().min(0),
      assets: decimalString,
    }),
  ]),
  /** A rebalance intent: an execution row exists, in status `pending`, for the worker to plan and run. */
  rebalance: z.strictObject({
    executionId: z.uuid(),
    trigger: z.enum(["threshold", "scheduled", "manual"]),
    reason: z.string().min(1).max(500),
  }),
  /** A `RebalanceExecuted` event, released once its block is final. */
  "rebalance-confirmations": z.strictObject({
    chainId,
    executionId: hash32,
    fromLayer: z.number().int().min(1).max(3),
    toLayer: z.number().int().min(1).max(3),
    amount: decimalString,
    blockNumber,
    txHash: hash32,
  }),
  /** One slot of one of the scheduler's schedules; `slot` is set for a catch-up of a missed slot. */
  schedules: z.strictObject({
    schedule: z.enum(SCHEDULES),
    slot: z.iso.datetime({ offset: true }).optional(),
  }),
} as const;

export type QueueName = keyof typeof PAYLOADS;
export const QUEUE_NAMES = Object.keys(PAYLOADS) as QueueName[];
export type Payload<Q extends QueueName> = z.infer<(typeof PAYLOADS)[Q]>;

/** Job ids, by queue, from what caused the work. */
export const jobId = {
  risk: (p: Payload<"risk">) => `risk-${p.chainId}-${p.blockHash}`,
  settlements: (p: Payload<"settlements">) =>
    p.kind === "redemption" ? `redemption-${p.chainId}-${p.redemptionId}` : `cutoff-${Date.parse(p.cutoffAt)}`,
  rebalance: (p: Payload<"rebalance">) => `rebalance-${p.executionId}`,
  "rebalance-confirmations": (p: Payload<"rebalance-confirmations">) => `confirmation-${p.chainId}-${p.executionId}`,
  schedules: (p: Payload<"schedules">) =>
    p.slot === undefined ? `schedule-${p.schedule}` : `schedule-${p.schedule}-${Date.parse(p.slot)}`,
} satisfies { readonly [Q in QueueName]: (payload: Payload<Q>) => string };

/** What is served first: settlements of instant redemptions and operator rebalances before the rest. */
export const priorityOf = {
  risk: () => PRIORITY.normal,
  settlements: (p: Payload<"settlements">) =>
    p.kind === "redemption" && p.channel === "instant" ? PRIORITY.high : PRIORITY.low,
  rebalance: (p: Payload<"rebalance">) => (p.trigger === "scheduled" ? PRIORITY.normal : PRIORITY.high),
  "rebalance-confirmations": () => PRIORITY.normal,
  schedules: () => PRIORITY.normal,
} satisfies { readonly [Q in QueueName]: (payload: Payload<Q>) => number };

/** Retries of a failing job (exponential from 1 s), and how long finished jobs stay visible. */
export const JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  // Failed jobs stay until an operator has looked at them.
  removeOnFail: false,
} as const;

/** A job as a producer hands it over: where it goes and everything BullMQ needs to add it once. */
export interface QueuedJob<Q extends QueueName = QueueName> {
  readonly queue: Q;
  readonly jobId: string;
  readonly priority: number;
  readonly payload: Payload<Q>;
}

/**
 * A job for `queue`, its payload checked against the contract (a producer's bug fails here, before
 * anything is written) and its id and priority derived from it.
 */
export function queuedJob<Q extends QueueName>(queue: Q, payload: Payload<Q>): QueuedJob<Q> {
  const parsed = parsePayload(queue, payload);
  const id = (jobId[queue] as (p: Payload<Q>) => string)(parsed);
  const priority = (priorityOf[queue] as (p: Payload<Q>) => number)(parsed);
  return { queue, jobId: id, priority, payload: parsed };
}

/**
 * The payload of a job taken from `queue`, or an `invalid_job_payload` AppError (not retryable)
 * naming every field that is wrong.
 */
export function parsePayload<Q extends QueueName>(queue: Q, data: unknown): Payload<Q> {
  const result = PAYLOADS[queue].safeParse(data);
  if (result.success) return result.data as Payload<Q>;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(payload)"}: ${issue.message}`);
  throw new AppError("invalid_job_payload", `invalid ${queue} job: ${problems.join("; ")}`, {
    status: 422,
    retryable: false,
    details: { queue, problems },
  });
}

/**
 * The outbox row of a job: how a producer commits work in the same transaction as its cause, for
 * the listener's relay to add it to its queue afterwards.
 */
export function outboxValues(job: QueuedJob): { queue: string; job_id: string; priority: number; payload: string } {
  return { queue: job.queue, job_id: job.jobId, priority: job.priority, payload: JSON.stringify(job.payload) };
}

/**
 * The BullMQ key prefix every service shares unless told otherwise (tests give each run its own):
 * a hash tag, so that in Redis Cluster every key of every queue lands in one slot.
 */
export const DEFAULT_QUEUE_PREFIX = "{paimon}";
