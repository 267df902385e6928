/**
 * What the rebalance worker does with the listener's confirmations: a `RebalanceExecuted` event
 * whose block is final marks its execution confirmed (once; a replay changes nothing), and the
 * executions' counters are read back from the database — so a restart or a replayed job neither
 * resets nor doubles them, and they count only what is final.
 */
import { executionUuid } from "@paimon/contracts";
import type { Database } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Payload } from "@paimon/core/queues";
import { sql, type Kysely } from "kysely";
import type { WorkerMetrics } from "../metrics";

export interface Confirmations {
  handle(payload: Payload<"rebalance-confirmations">): Promise<{ outcome: string; executionId?: string }>;
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
        eb.fn.count<string>("id").filterWhere("confirmed_at", "is not", null).as("succeeded"),
        eb.fn.count<string>("id").filterWhere("status", "=", "failed").as("failed"),
        sql<Date | null>`max(completed_at) filter (where confirmed_at is not null)`.as("last_success"),
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
      if (id === undefined) {
        // Executions the platform did not make (an operator's own transaction): nothing to confirm.
        return { outcome: "not_ours" };
      }
      const updated = await db
        .updateTable("rebalance_executions")
        .set({ confirmed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where("id", "=", id)
        .where("confirmed_at", "is", null)
        .executeTakeFirst();
      const confirmed = updated.numUpdatedRows > 0n;
      if (confirmed) {
        logger.info("rebalance confirmed final on chain", {
          execution_id: id,
          block_number: payload.blockNumber,
          tx_hash: payload.txHash,
        });
      }
      await refreshMetrics();
      return { outcome: confirmed ? "confirmed" : "already_confirmed_or_unknown", executionId: id };
    },
    refreshMetrics,
  };
}
