import { latestAssessment } from "@paimon/core/assessments";
import { AppError } from "@paimon/core/errors";
import type { Database, FundSnapshotTable, MetricsDatabase, RiskAssessmentRow } from "@paimon/core/db";
import { ratio } from "@paimon/core/fund";
import type { Logger } from "@paimon/core/logger";
import { Router, type Request, type Response } from "express";
import type { Kysely, Selectable } from "kysely";
import { sendCached } from "../cache/cached-body";
import type { FundRead, HotReads } from "../cache/hot-reads";
import { setDataAge } from "../http/data-age";
import { chainSync, latestSnapshot, type ChainSync } from "./fund.repository";

/** The risk monitor's latest assessment as the API shows it. */
export const presentRisk = (row: RiskAssessmentRow) => ({
  level: row.level,
  reasons: row.reasons,
  ratios: { L1: row.l1_ratio, L2: row.l2_ratio, L3: row.l3_ratio },
  redemption_coverage: row.redemption_coverage,
  pending_redemptions: { count: row.pending_count, assets: row.pending_assets },
  out_of_band: row.out_of_band,
  block_number: row.block_number,
  assessed_at: row.assessed_at.toISOString(),
});

/** The body of `GET /v1/fund`, from the latest snapshot, the checkpoint and the latest assessment (if it could be read). */
export const presentFund = (
  snapshot: Selectable<FundSnapshotTable>,
  sync: Pick<ChainSync, "block_number" | "updated_at"> | undefined,
  risk: RiskAssessmentRow | undefined,
) => ({
  nav: snapshot.nav,
  as_of_block: snapshot.block_number,
  as_of: snapshot.recorded_at.toISOString(),
  layers: (["L1", "L2", "L3"] as const).map((layer) => {
    const value = snapshot[`${layer.toLowerCase() as "l1" | "l2" | "l3"}_value`];
    return { layer, value, ratio: ratio(value, snapshot.nav) ?? "0.000000" };
  }),
  risk: risk ? presentRisk(risk) : null,
  chain_sync: sync ? { block_number: sync.block_number, updated_at: sync.updated_at.toISOString() } : null,
});

const notIndexed = () => new AppError("fund_not_indexed", "no fund state has been recorded yet", { status: 404 });

/** What the metrics database's failure costs a read of the fund: its risk, logged, never the fund itself. */
export const riskOrUndefined = (logger: Logger, read: Promise<RiskAssessmentRow | undefined>) =>
  read.catch((error: unknown) => {
    logger.warn("the metrics database did not answer; serving the fund without its risk", { error });
    return undefined;
  });

/**
 * `GET /v1/fund`: NAV, the three layers with value and ratio, the risk level with its reasons, the
 * as-of block, and how far the chain follower has got (`chain_sync`, and the Paimon-Data-Age
 * header): the snapshot is the latest the chain produced up to that block. The risk comes from the
 * metrics database; when that cannot answer, the fund's state is still served, with `risk: null`
 * (and the failure logged).
 *
 * With `hotReads`, the body is the one built at the last commit (see cache/hot-reads.ts); without,
 * every request queries.
 */
export function fundRoutes(deps: {
  readonly db: Kysely<Database>;
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly logger: Logger;
  readonly hotReads?: HotReads | undefined;
}): Router {
  const { db, metricsDb, logger, hotReads } = deps;
  const router = Router();
  if (hotReads) {
    const send = (request: Request, response: Response, read: FundRead) => {
      if (!read.body) throw notIndexed();
      sendCached(request, response, read.body, read.sync);
    };
    router.get("/v1/fund", (request, response, next) => {
      const hit = hotReads.fundNow();
      if (hit) {
        send(request, response, hit);
        return;
      }
      hotReads
        .fund()
        .then((read) => {
          send(request, response, read);
        })
        .catch(next);
    });
    return router;
  }
  router.get("/v1/fund", async (_request, response) => {
    const [snapshot, sync, risk] = await Promise.all([
      latestSnapshot(db),
      chainSync(db),
      riskOrUndefined(logger, latestAssessment(metricsDb)),
    ]);
    if (!snapshot) throw notIndexed();
    setDataAge(response, sync);
    response.json(presentFund(snapshot, sync, risk));
  });
  return router;
}
