/**
 * What the rebalance worker does with the listener's confirmations: a `RebalanceExecuted` event
 * whose block is final records its leg (once; a replay changes nothing), and an execution is
 * confirmed once every leg of its plan is — the listener's independent word beside the sender's
 * receipts. The executions' counters are read back from the database, so a restart or a replayed
 * job neither resets nor doubles them.
 */
import { executionLeg, executionUuid } from "@paimon/contracts";
import type { Database } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Payload } from "@paimon/core/queues";
import { sql, type Kysely } from "kysely";
import type { WorkerMetrics } from "../metrics";

export interface Confirmations {
  handle(payload: Payload<"rebalance-confirmations">): Promise<{ outcome: string; executionId?: string; leg?: number }>;
  /** Sets the executions' counters and last-success gauge from the database. */
  refreshMetrics(): Promise<void>;
}

export function createConfirmations(deps: {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics<"rebalance">["metrics"];
}): Confirmations {
  const { db, logger, metrics } = deps;
  const refreshMetrics = async () => {
    const rows = await db
      .selectFrom("rebalance_executions")
      .select((eb) => [
        "trigger",
        eb.fn.count<string>("id").filterWhere("status", "=", "succeeded").as("succeeded"),
        eb.fn.count<string>("id").filterWhere("status", "in", ["failed", "cancelled"]).as("failed"),
        sql<Date | null>`max(completed_at) filter (where status = 'succeeded')`.as("last_success"),
      ])
      .groupBy("trigger")
      .execute();
    metrics.paimon_rebalance_executions_total.reset();
    let last = 0;
    for (const row of rows) {
      for (const status of ["succeeded", "failed"] as const) {
        metrics.paimon_rebalance_executions_total.inc({ trigger: row.trigger, status }, Number(row[status]));
      }
      if (row.last_success) last = Math.max(last, new Date(row.last_success).getTime() / 1000);
    }
    if (last > 0) metrics.paimon_rebalance_last_success_timestamp_seconds.set(last);
  };
  return {
    async handle(payload) {
      const id = executionUuid(payload.executionId);
      const leg = executionLeg(payload.executionId);
      const execution =
        id === undefined
          ? undefined
          : await db.selectFrom("rebalance_executions").select(["id", "plan"]).where("id", "=", id).executeTakeFirst();
      if (execution === undefined || leg === undefined) {
        // Executions the platform did not make (an operator's own transaction): nothing to confirm.
        return { outcome: "not_ours" };
      }
      const confirmed = await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("rebalance_legs_confirmed")
          .values({ execution_id: execution.id, leg, block_number: payload.blockNumber, tx_hash: payload.txHash })
          .onConflict((oc) => oc.columns(["execution_id", "leg"]).doNothing())
          .execute();
        const updated = await trx
          .updateTable("rebalance_executions")
          .set({ confirmed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
          .where("id", "=", execution.id)
          .where("confirmed_at", "is", null)
          .where(
            sql<boolean>`(select count(*) from rebalance_legs_confirmed where execution_id = ${execution.id}) >= greatest(jsonb_array_length(plan), 1)`,
          )
          .executeTakeFirst();
        return updated.numUpdatedRows > 0n;
      });
      if (confirmed) {
        logger.info("rebalance confirmed final on chain", {
          execution_id: execution.id,
          block_number: payload.blockNumber,
          tx_hash: payload.txHash,
        });
      }
      await refreshMetrics();
      return { outcome: confirmed ? "confirmed" : "leg_recorded", executionId: execution.id, leg };
    },
    refreshMetrics,
  };
}
