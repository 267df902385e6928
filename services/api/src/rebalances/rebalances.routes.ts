import { createHash, randomUUID } from "node:crypto";
import { AppError } from "@paimon/core/errors";
import type { Database, RebalanceExecutionRow, RebalanceStatus } from "@paimon/core/db";
import { outboxValues, queuedJob } from "@paimon/core/queues";
import { Router, type RequestHandler } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { everyOf, parse } from "../http/validate";
import { executionTransactions } from "../transactions/transactions.repository";
import { presentWithAttempts } from "../transactions/transactions.routes";

export const REBALANCE_STATUSES = everyOf<RebalanceStatus>()([
  "pending",
  "executing",
  "succeeded",
  "failed",
  "cancelled",
]);

export const rebalanceListQuery = z.strictObject({
  status: z.enum(REBALANCE_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
const idParam = z.strictObject({ id: z.uuid() });
export const triggerBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });
const idempotencyKey = z.string().regex(/^[A-Za-z0-9_-]{8,128}$/, "must be 8–128 letters, digits, - or _");

const present = (row: RebalanceExecutionRow) => ({
  id: row.id,
  trigger: row.trigger,
  status: row.status,
  requested_by: row.requested_by,
  reason: row.reason,
  plan: row.plan,
  error: row.error,
  balances: row.balances,
  created_at: row.created_at.toISOString(),
  completed_at: row.completed_at?.toISOString() ?? null,
});

/**
 * The fingerprint of an operator's request: SHA-256 of its validated body (after trimming, in the
 * schema's field order), so a replay that differs only in whitespace around the reason or in the
 * order of its JSON is the same request, and any other difference is not.
 */
const requestHash = (body: z.infer<typeof triggerBody>) =>
  createHash("sha256")
    .update(JSON.stringify({ reason: body.reason }))
    .digest("hex");

/**
 * `GET /v1/rebalances`, `GET /v1/rebalances/:id` (with its legs' transactions, by leg), and the
 * operator's `POST /v1/rebalances`: a manual rebalance, created once per operator and
 * `Idempotency-Key` and handed to the rebalance worker through the outbox in the same
 * transaction. As the IETF Idempotency-Key draft says: the same key with the same body is
 * answered with the first execution; with another body it is 422 `idempotency_key_reused`. A key
 * is the operator's own: another operator's same key is another execution.
 */
export function rebalanceRoutes(db: Kysely<Database>, operator: RequestHandler): Router {
  const router = Router();
  router.get("/v1/rebalances", async (request, response) => {
    const query = parse(rebalanceListQuery, request.query, "invalid_query");
    let select = db.selectFrom("rebalance_executions").selectAll();
    if (query.status) select = select.where("status", "=", query.status);
    const rows = await select.orderBy("created_at", "desc").orderBy("id", "desc").limit(query.limit).execute();
    response.json({ data: rows.map(present) });
  });
  router.get("/v1/rebalances/:id", async (request, response) => {
    const { id } = parse(idParam, request.params, "invalid_id");
    const row = await db.selectFrom("rebalance_executions").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw new AppError("rebalance_not_found", `no rebalance ${id}`, { status: 404 });
    const transactions = await presentWithAttempts(db, await executionTransactions(db, id));
    response.json({ ...present(row), transactions });
  });
  router.post("/v1/rebalances", operator, async (request, response) => {
    const key = parse(idempotencyKey, request.get("idempotency-key"), "invalid_idempotency_key");
    const body = parse(triggerBody, request.body ?? {}, "invalid_body");
    const requestedBy = response.locals["operator"] as string;
    const hash = requestHash(body);
    const execution = await db.transaction().execute(async (trx) => {
      const id = randomUUID();
      const inserted = await trx
        .insertInto("rebalance_executions")
        .values({
          id,
          trigger: "manual",
          status: "pending",
          idempotency_key: key,
          request_hash: hash,
          requested_by: requestedBy,
          reason: body.reason,
          plan: JSON.stringify([]),
        })
        // The operator's key index (partial): a concurrent first request with this key is waited for.
        .onConflict((conflict) =>
          conflict.columns(["requested_by", "idempotency_key"]).where("trigger", "=", "manual").doNothing(),
        )
        .returningAll()
        .executeTakeFirst();
      if (!inserted) {
        const first = await trx
          .selectFrom("rebalance_executions")
          .selectAll()
          .where("trigger", "=", "manual")
          .where("requested_by", "=", requestedBy)
          .where("idempotency_key", "=", key)
          .executeTakeFirstOrThrow();
        // Executions made before request hashes were kept cannot be compared: they answer as before.
        if (first.request_hash !== null && first.request_hash !== hash) {
          throw new AppError(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body; use a new key for a new request",
            { status: 422, details: { execution_id: first.id } },
          );
        }
        return { row: first, created: false };
      }
      await trx
        .insertInto("outbox")
        .values(outboxValues(queuedJob("rebalance", { executionId: id, trigger: "manual", reason: body.reason })))
        .execute();
      return { row: inserted, created: true };
    });
    response
      .status(202)
      .setHeader("location", `/v1/rebalances/${execution.row.id}`)
      .json({ id: execution.row.id, status: execution.row.status, created: execution.created });
  });
  return router;
}
