import { AppError } from "@paimon/core/errors";
import type { Database } from "@paimon/core/db";
import { Router } from "express";
import type { Kysely } from "kysely";
import { latestRisk, latestSnapshot } from "./fund.repository";

/** Layer value over NAV, as a decimal string with 6 places (no float on the way). */
export function ratio(value: string, nav: string): string {
  const scale = 10n ** 18n;
  const toUnits = (amount: string) => {
    const [whole = "0", fraction = ""] = amount.split(".");
    return BigInt(whole) * scale + BigInt((fraction + "0".repeat(18)).slice(0, 18));
  };
  const navUnits = toUnits(nav);
  if (navUnits === 0n) return "0.000000";
  const micro = (toUnits(value) * 1_000_000n) / navUnits;
  return `${micro / 1_000_000n}.${(micro % 1_000_000n).toString().padStart(6, "0")}`;
}

/** `GET /v1/fund`: NAV, the three layers with value and ratio, the risk level with its reasons, the as-of block. */
export function fundRoutes(db: Kysely<Database>): Router {
  const router = Router();
  router.get("/v1/fund", async (_request, response) => {
    const [snapshot, risk] = await Promise.all([latestSnapshot(db), latestRisk(db)]);
    if (!snapshot) throw new AppError("fund_not_indexed", "no fund state has been recorded yet", { status: 404 });
    response.json({
      nav: snapshot.nav,
      as_of_block: snapshot.block_number,
      as_of: snapshot.recorded_at.toISOString(),
      layers: (["L1", "L2", "L3"] as const).map((layer) => {
        const value = snapshot[`${layer.toLowerCase() as "l1" | "l2" | "l3"}_value`];
        return { layer, value, ratio: ratio(value, snapshot.nav) };
      }),
      risk: risk ? { level: risk.level, reasons: risk.reasons, assessed_at: risk.assessed_at.toISOString() } : null,
    });
  });
  return router;
}
