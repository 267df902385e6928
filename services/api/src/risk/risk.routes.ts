import { AppError } from "@paimon/core/errors";
import type { MetricsDatabase } from "@paimon/core/db";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { presentRisk } from "../fund/fund.routes";
import { parse } from "../http/validate";

/** The longest range one request may ask for. */
const MAX_RANGE_MS = 31 * 24 * 3600 * 1000;

export const riskQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** `GET /v1/risk?from&to`: the risk assessments of a time range, newest first, each with its reasons. */
export function riskRoutes(metricsDb: Kysely<MetricsDatabase>): Router {
  const router = Router();
  router.get("/v1/risk", async (request, response) => {
    const range = parse(riskQuery, request.query, "invalid_query");
    const from = new Date(range.from);
    const to = new Date(range.to);
    if (from >= to || to.getTime() - from.getTime() > MAX_RANGE_MS) {
      throw new AppError("invalid_range", "from must precede to, at most 31 days apart", { status: 400 });
    }
    const rows = await metricsDb
      .selectFrom("risk_assessments")
      .selectAll()
      .where("assessed_at", ">=", from)
      .where("assessed_at", "<", to)
      .orderBy("assessed_at", "desc")
      .limit(range.limit)
      .execute();
    response.json({ data: rows.map(presentRisk) });
  });
  return router;
}
