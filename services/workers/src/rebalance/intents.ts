/**
 * Rebalance intents: an execution row in status `pending` and its job for the rebalance worker,
 * committed together, once per idempotency key. The risk monitor raises `threshold` intents (a
 * ratio left its band; at most one open at a time, which a partial unique index enforces), the
 * scheduler `scheduled` ones (only while no rebalance at all is open), the operator's API
 * `manual` ones.
 */
import { randomUUID } from "node:crypto";
import type { Database, RebalanceTrigger } from "@paimon/core/db";
import { outboxValues, queuedJob } from "@paimon/core/queues";
import { sql, type Kysely, type Transaction } from "kysely";

export interface RaisedIntent {
  readonly executionId: string;
}

/** Runs `work` in `db`'s transaction, or in a new one. */
export function inTransaction<T>(
  db: Kysely<Database> | Transaction<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}

/**
 * Raises an intent unless `idempotencyKey` raised one already, or (for `threshold`) one is open,
 * or (with `unlessAnyOpen`) any rebalance is open. Returns the new intent, or undefined.
 */
export async function raiseRebalance(
  db: Kysely<Database> | Transaction<Database>,
  intent: {
    readonly trigger: Exclude<RebalanceTrigger, "manual">;
    readonly idempotencyKey: string;
    readonly reason: string;
    readonly unlessAnyOpen?: boolean;
  },
): Promise<RaisedIntent | undefined> {
  return inTransaction(db, async (trx) => {
    // Intents are raised one at a time: "none open" read under this lock stays true until commit.
    await sql`select pg_advisory_xact_lock(hashtext('paimon-rebalance-intents'))`.execute(trx);
    if (intent.unlessAnyOpen) {
      const open = await trx
        .selectFrom("rebalance_executions")
        .select("id")
        .where("status", "in", ["pending", "executing"])
        .limit(1)
        .executeTakeFirst();
      if (open) return undefined;
    }
    const id = randomUUID();
    // No conflict target: a repeated key and a second open threshold intent are both "nothing to do".
    const inserted = await trx
      .insertInto("rebalance_executions")
      .values({
        id,
        trigger: intent.trigger,
        status: "pending",
        idempotency_key: intent.idempotencyKey,
        reason: intent.reason,
        plan: JSON.stringify([]),
        updated_at: sql<Date>`now()`,
      })
      .onConflict((oc) => oc.doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!inserted) return undefined;
    await trx
      .insertInto("outbox")
      .values(outboxValues(queuedJob("rebalance", { executionId: id, trigger: intent.trigger, reason: intent.reason })))
      .execute();
    return { executionId: id };
  });
}
