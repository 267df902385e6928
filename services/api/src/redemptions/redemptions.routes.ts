import { AppError } from "@paimon/core/errors";
import type { Database, RedemptionRow } from "@paimon/core/db";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { cursorCodec, keysetPage } from "../http/pages";
import { parse } from "../http/validate";
import { latestSettlement } from "../transactions/transactions.repository";
import { presentTransaction } from "../transactions/transactions.routes";
import { chainSync } from "../fund/fund.repository";
import { setDataAge } from "../http/data-age";
import { findRedemption, listRedemptions } from "./redemptions.repository";
import { sendCached } from "../cache/cached-body";
import type { HotReads } from "../cache/hot-reads";

export const MAX_PAGE_SIZE = 100;

/** The last row's (created_at, id). */
const cursors = cursorCodec(z.tuple([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,78}$/)]));

/** An opaque cursor: the last row's (created_at, id), base64url-encoded. */
export const encodeCursor = (row: Pick<RedemptionRow, "created_at" | "id">): string =>
  cursors.encode([row.created_at.toISOString(), row.id]);

const afterCursor = ([createdAt, id]: [string, string]) => ({ createdAt: new Date(createdAt), id });

export const listQuery = z.strictObject({
  status: z.enum(["requested", "settled", "cancelled"]).optional(),
  channel: z.enum(["instant", "standard"]).optional(),
  owner: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address")
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

/** What a request without query parameters asks for (the default list, first page): parsed once, not per request. */
const DEFAULT_QUERY = Object.freeze(listQuery.parse({}));

const idParam = z.strictObject({ id: z.string().regex(/^\d{1,78}$/, "must be a decimal redemption id") });

export const presentRedemption = (row: RedemptionRow) => ({
  id: row.id,
  owner: row.owner,
  shares: row.shares,
  assets: row.assets,
  channel: row.channel,
  status: row.status,
  requested_block: row.requested_block,
  requested_tx: row.requested_tx,
  resolved_block: row.resolved_block,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/** A page's body from rows read at least `limit + 1` long (newest first): its first `limit` and the next cursor. */
export function redemptionPage(rows: readonly RedemptionRow[], limit: number) {
  const { page, nextCursor } = keysetPage(rows, limit, encodeCursor);
  return { data: page.map(presentRedemption), next_cursor: nextCursor };
}

/**
 * `GET /v1/redemptions` (filters, cursor pagination) and `GET /v1/redemptions/:id`, with its
 * newest settlement transaction (or null). Both say how old the indexed chain data is
 * (Paimon-Data-Age).
 *
 * With `hotReads`, a first page (no cursor) of a list by status and channel is the one built at
 * the last commit (see cache/hot-reads.ts); a page past the first, or one filtered by owner (a
 * caller's own), queries.
 */
export function redemptionRoutes(db: Kysely<Database>, hotReads?: HotReads): Router {
  const router = Router();
  router.get("/v1/redemptions", async (request, response) => {
    const query =
      Object.keys(request.query).length === 0 ? DEFAULT_QUERY : parse(listQuery, request.query, "invalid_query");
    if (hotReads && query.cursor === undefined && query.owner === undefined) {
      const list = { status: query.status, channel: query.channel };
      const read = hotReads.redemptionsNow(list, query.limit) ?? (await hotReads.redemptions(list, query.limit));
      sendCached(request, response, read.body, read.sync);
      return;
    }
    hotReads?.bypass("/v1/redemptions");
    const after = query.cursor ? afterCursor(cursors.decode(query.cursor)) : undefined;
    const [rows, sync] = await Promise.all([
      listRedemptions(db, {
        status: query.status,
        channel: query.channel,
        owner: query.owner,
        after,
        limit: query.limit + 1,
      }),
      chainSync(db),
    ]);
    setDataAge(response, sync);
    response.json(redemptionPage(rows, query.limit));
  });
  router.get("/v1/redemptions/:id", async (request, response) => {
    const { id } = parse(idParam, request.params, "invalid_id");
    const [row, sync] = await Promise.all([findRedemption(db, id), chainSync(db)]);
    setDataAge(response, sync);
    if (!row) throw new AppError("redemption_not_found", `no redemption ${id}`, { status: 404 });
    const settlement = await latestSettlement(db, { id: row.id, chainId: row.chain_id });
    response.json({ ...presentRedemption(row), settlement: settlement ? presentTransaction(settlement) : null });
  });
  return router;
}
