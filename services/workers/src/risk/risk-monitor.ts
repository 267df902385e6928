/**
 * The risk monitor: assesses the fund at each block that moved money (the listener's notices),
 * and the latest committed block when no notice has come for a while; stores each assessment
 * once per block in the metrics database; sets the fund's gauges from the fund as it is now (the
 * newest block that changed it); and, when a ratio has left its band there, raises a `threshold`
 * rebalance intent (no second one while one is open).
 */
import { forgetAssessment, recordAssessment } from "@paimon/core/assessments";
import type { Database, MetricsDatabase } from "@paimon/core/db";
import { assessRisk, type RiskAssessment, type RiskPolicy } from "@paimon/core/fund";
import type { Logger } from "@paimon/core/logger";
import type { Payload } from "@paimon/core/queues";
import type { Kysely } from "kysely";
import {
  blockIsCanonical,
  finalBlock,
  fundStateAt,
  latestCommittedBlock,
  latestEventBlock,
  type BlockRef,
  type FundStateAt,
} from "../fund-state";
import type { WorkerMetrics } from "../metrics";
import { raiseRebalance } from "../rebalance/intents";

export interface RiskMonitorDeps {
  readonly db: Kysely<Database>;
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics<"risk">["metrics"];
  readonly policy: RiskPolicy;
  readonly now?: () => Date;
}

/** What one assessment did. */
export type AssessmentOutcome =
  | { readonly outcome: "assessed" | "already_assessed"; readonly level: number; readonly intent?: string }
  | { readonly outcome: "orphaned" | "nothing_committed" };

export interface RiskMonitor {
  /** A block notice from the listener. */
  handleNotice(notice: Payload<"risk">): Promise<AssessmentOutcome>;
  /** The latest committed block, for want of notices. */
  assessLatest(): Promise<AssessmentOutcome>;
  /** Resolves once the assessment in hand (if any) is done: shutdown waits for it. */
  idle(): Promise<void>;
}

export function createRiskMonitor(deps: RiskMonitorDeps): RiskMonitor {
  const { db, metricsDb, logger, metrics, policy } = deps;
  const now = deps.now ?? (() => new Date());
  /** The final block the redemption totals were last counted at: they change only when it moves. */
  let totalsFinal: bigint | undefined;
  // Until the first assessment the fund's gauges are absent, not 0: a risk level of 0 or an L1
  // ratio of 0 would be a false reading (and would fire the low-liquidity alert).
  for (const gauge of [
    metrics.paimon_risk_level,
    metrics.paimon_l1_ratio,
    metrics.paimon_l2_ratio,
    metrics.paimon_l3_ratio,
    metrics.paimon_nav_usd,
    metrics.paimon_l1_redemption_coverage,
  ]) {
    gauge.remove();
  }
  // One assessment at a time: a notice and the timer never interleave their writes and gauges.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };

  const setGauges = (state: FundStateAt, assessment: RiskAssessment) => {
    metrics.paimon_risk_level.set(assessment.level);
    metrics.paimon_l1_ratio.set(Number(assessment.ratios.L1));
    metrics.paimon_l2_ratio.set(Number(assessment.ratios.L2));
    metrics.paimon_l3_ratio.set(Number(assessment.ratios.L3));
    metrics.paimon_nav_usd.set(Number(assessment.nav));
    // Nothing pending: L1 covers it infinitely many times.
    metrics.paimon_l1_redemption_coverage.set(assessment.coverage === null ? Infinity : Number(assessment.coverage));
    for (const [channel, count] of Object.entries(state.pendingByChannel)) {
      metrics.paimon_pending_redemptions.set({ channel }, count);
    }
  };

  /**
   * Requests by channel that reached each status, counted from the database at the final block: a
   * restart or a replayed job neither resets nor doubles them, and a reorganisation (which can
   * only undo what is not final) never makes them go down.
   */
  const refreshRedemptionTotals = async (chainId: number) => {
    const final = await finalBlock(db, chainId);
    if (final === undefined || final === totalsFinal) return;
    const rows = await db
      .selectFrom("redemptions")
      .select((eb) => [
        "channel",
        eb.fn.countAll<string>().as("requested"),
        eb.fn
          .count<string>("id")
          .filterWhere((w) => w.and([w("status", "=", "settled"), w("resolved_block", "<=", final.toString())]))
          .as("settled"),
        eb.fn
          .count<string>("id")
          .filterWhere((w) => w.and([w("status", "=", "cancelled"), w("resolved_block", "<=", final.toString())]))
          .as("cancelled"),
      ])
      .where("chain_id", "=", chainId)
      .where("requested_block", "<=", final.toString())
      .groupBy("channel")
      .execute();
    // Reset and set in one synchronous step: no scrape sees the counter between the two.
    metrics.paimon_redemption_requests_total.reset();
    for (const row of rows) {
      for (const status of ["requested", "settled", "cancelled"] as const) {
        metrics.paimon_redemption_requests_total.inc({ channel: row.channel, status }, Number(row[status]));
      }
    }
    totalsFinal = final;
  };

  /**
   * Assesses `block` (when `check` says it is still canonical): the check and the reads of the
   * fund see one snapshot of the database, so a reorganisation the listener commits meanwhile
   * cannot mix two chains into one assessment.
   */
  const assess = async (block: BlockRef, trigger: "block" | "timer", check: boolean): Promise<AssessmentOutcome> => {
    const state = await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (trx) =>
        check && !(await blockIsCanonical(trx, block.chainId, block.hash))
          ? undefined
          : fundStateAt(trx, block.chainId, block.number),
      );
    if (state === undefined) {
      const forgotten = await forgetAssessment(metricsDb, block.chainId, block.hash);
      logger.info("block notice for an orphaned block; nothing to assess", {
        block_number: block.number.toString(),
        block_hash: block.hash,
        forgot_its_assessment: forgotten,
      });
      return { outcome: "orphaned" };
    }
    const assessment = assessRisk(state, policy);
    const stored = await recordAssessment(metricsDb, {
      chainId: block.chainId,
      blockNumber: block.number.toString(),
      blockHash: block.hash,
      trigger,
      assessedAt: now(),
      state,
      assessment,
    });
    if (stored) metrics.paimon_risk_assessments_total.inc({ trigger });
    // Only the fund as it is now moves the gauges or raises an intent: not a block that a newer
    // one has already changed (a backfill, a notice handled late).
    const latest = await latestEventBlock(db, block.chainId);
    let intent: string | undefined;
    if (latest === undefined || block.number >= latest) {
      setGauges(state, assessment);
      if (assessment.outOfBand.length > 0) {
        const raised = await raiseRebalance(db, {
          trigger: "threshold",
          idempotencyKey: `threshold-${block.chainId}-${block.hash}`,
          reason: `block ${block.number.toString()}: ${assessment.reasons
            .filter((reason) => reason.rule.endsWith("_out_of_band") || reason.rule === "redemption_coverage_low")
            .map((reason) => reason.message)
            .join("; ")}`,
        });
        if (raised) {
          intent = raised.executionId;
          logger.warn("allocation out of band: threshold rebalance raised", {
            execution_id: raised.executionId,
            block_number: block.number.toString(),
            out_of_band: assessment.outOfBand,
          });
        }
      }
    }
    await refreshRedemptionTotals(block.chainId);
    if (stored) {
      logger.info("fund assessed", {
        trigger,
        block_number: block.number.toString(),
        level: assessment.level,
        reasons: assessment.reasons.map((reason) => reason.rule),
      });
    }
    return {
      outcome: stored ? "assessed" : "already_assessed",
      level: assessment.level,
      ...(intent === undefined ? {} : { intent }),
    };
  };

  return {
    handleNotice: (notice) =>
      exclusive(() =>
        assess({ chainId: notice.chainId, number: BigInt(notice.blockNumber), hash: notice.blockHash }, "block", true),
      ),
    assessLatest: () =>
      exclusive(async () => {
        const block = await latestCommittedBlock(db);
        if (!block) return { outcome: "nothing_committed" } as const;
        return assess(block, "timer", false);
      }),
    idle: () => tail.then(() => undefined),
  };
}
