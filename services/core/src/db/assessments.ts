/**
 * The risk assessments in the metrics database: how the risk monitor (and the demo) stores one,
 * once per block, and how the API reads them back.
 */
import type { Insertable, Kysely } from "kysely";
import { notifyRiskCommit } from "../commit-signal";
import type { FundState, RiskAssessment } from "../fund/risk";
import type { MetricsDatabase, MetricsRiskAssessmentTable, RiskAssessmentRow } from "./metrics-schema";

export interface NewAssessment {
  readonly chainId: number;
  readonly blockNumber: string;
  readonly blockHash: string;
  /** `block`: a block notice; `timer`: the latest committed block, assessed for want of notices. */
  readonly trigger: "block" | "timer";
  readonly assessedAt: Date;
  readonly state: FundState;
  readonly assessment: RiskAssessment;
}

/**
 * Stores an assessment unless its block has one already (a replayed notice, or the timer on a
 * block a notice assessed): the block's guard row and the assessment commit together. Returns
 * whether it stored anything.
 */
export async function recordAssessment(metrics: Kysely<MetricsDatabase>, entry: NewAssessment): Promise<boolean> {
  return metrics.transaction().execute(async (trx) => {
    const guard = await trx
      .insertInto("assessed_blocks")
      .values({
        chain_id: entry.chainId,
        block_hash: entry.blockHash,
        block_number: entry.blockNumber,
        assessed_at: entry.assessedAt,
      })
      .onConflict((oc) => oc.columns(["chain_id", "block_hash"]).doNothing())
      .returning("block_hash")
      .executeTakeFirst();
    if (!guard) return false;
    await trx.insertInto("risk_assessments").values(assessmentRow(entry)).execute();
    // The API's /v1/fund carries the latest assessment: it rebuilds once this commits.
    await notifyRiskCommit(trx, { change: "recorded", ...entry });
    return true;
  });
}

/**
 * Removes the assessment of a block a reorganisation orphaned: the time series keeps the
 * canonical chain's blocks only, and the API never serves the risk of a block that is gone.
 * Returns whether there was one.
 */
export async function forgetAssessment(
  metrics: Kysely<MetricsDatabase>,
  chainId: number,
  blockHash: string,
): Promise<boolean> {
  return metrics.transaction().execute(async (trx) => {
    await trx
      .deleteFrom("risk_assessments")
      .where("chain_id", "=", chainId)
      .where("block_hash", "=", blockHash)
      .execute();
    const guard = await trx
      .deleteFrom("assessed_blocks")
      .where("chain_id", "=", chainId)
      .where("block_hash", "=", blockHash)
      .returning("block_number")
      .executeTakeFirst();
    if (!guard) return false;
    await notifyRiskCommit(trx, { change: "forgotten", chainId, blockNumber: guard.block_number, blockHash });
    return true;
  });
}

/** The row an assessment is stored as. */
export function assessmentRow(entry: NewAssessment): Insertable<MetricsRiskAssessmentTable> {
  const { state, assessment } = entry;
  return {
    assessed_at: entry.assessedAt,
    chain_id: entry.chainId,
    block_number: entry.blockNumber,
    block_hash: entry.blockHash,
    trigger: entry.trigger,
    level: assessment.level,
    nav: assessment.nav,
    l1_value: state.l1,
    l2_value: state.l2,
    l3_value: state.l3,
    l1_ratio: assessment.ratios.L1,
    l2_ratio: assessment.ratios.L2,
    l3_ratio: assessment.ratios.L3,
    pending_assets: state.pendingAssets,
    pending_count: state.pendingCount,
    redemption_coverage: assessment.coverage,
    reasons: JSON.stringify(assessment.reasons),
    out_of_band: JSON.stringify(assessment.outOfBand),
  };
}

/** The assessment of the newest block assessed (not the last one made: notices can arrive out of order). */
export function latestAssessment(metrics: Kysely<MetricsDatabase>): Promise<RiskAssessmentRow | undefined> {
  return metrics
    .selectFrom("risk_assessments")
    .selectAll()
    .orderBy("block_number", "desc")
    .orderBy("assessed_at", "desc")
    .limit(1)
    .executeTakeFirst();
}
