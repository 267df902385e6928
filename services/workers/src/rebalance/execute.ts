/**
 * A rebalance execution, from intent to outcome. The worker reads the layers' balances from the
 * contract (not from the listener's copy, which may be a block behind) and the redemptions waiting
 * on L1, plans the legs (`plan.ts`), and in one transaction records the plan, the balances it
 * came from and one sender intent per leg, keyed by the execution and the leg — so a job taken
 * again after a crash finds its intents and waits for them instead of planning anew. Executions
 * are planned one at a time and never while another one's legs are open (the job is retried):
 * each plan sees the balances its predecessors left. The
 * execution then follows its legs: `succeeded` once every leg is confirmed at the finality depth,
 * `cancelled` when every leg was cancelled, `failed` otherwise (a leg reverted, or one leg of
 * several was cancelled), with the reason.
 */
import { FUND_DECIMALS, Layer, PaimonFund__factory, rebalanceExecutionId } from "@paimon/contracts";
import type { Database, RebalanceExecutionRow, TxIntentRow } from "@paimon/core/db";
import { AppError } from "@paimon/core/errors";
import { formatShortest, toUnits, type RiskPolicy } from "@paimon/core/fund";
import type { Logger } from "@paimon/core/logger";
import type { Payload } from "@paimon/core/queues";
import { sql, type Kysely } from "kysely";
import type { Chain } from "../sender/chain";
import type { Sender } from "../sender/sender";
import { planRebalance, type RebalancePlan } from "./plan";

const fund = PaimonFund__factory.createInterface();

export interface RebalanceOutcome {
  readonly outcome: "succeeded" | "failed" | "cancelled" | "nothing_to_do" | "already_done";
  readonly executionId: string;
}

export interface RebalanceExecutor {
  handle(payload: Payload<"rebalance">, signal?: AbortSignal): Promise<RebalanceOutcome>;
}

/** The fund's layer balances as the contract holds them now, in fund units (decimal strings). */
export async function onChainBalances(chain: Chain, fundAddress: string) {
  const read = async (name: "l1" | "l2" | "l3") =>
    formatShortest(BigInt(await chain.call({ to: fundAddress, data: fund.getFunction(name).selector })), FUND_DECIMALS);
  const [block, l1, l2, l3] = await Promise.all([chain.head(), read("l1"), read("l2"), read("l3")]);
  return { l1, l2, l3, block: block.toString() };
}

export function createRebalanceExecutor(deps: {
  readonly db: Kysely<Database>;
  readonly chain: Chain;
  readonly sender: Sender;
  readonly fundAddress: string;
  readonly policy: RiskPolicy;
  readonly minTransfer: string;
  readonly logger: Logger;
  /** Called when an execution reached its outcome (the counters are read from the database). */
  readonly onOutcome: () => Promise<void>;
}): RebalanceExecutor {
  const { db, chain, sender, logger } = deps;

  const finish = async (
    execution: RebalanceExecutionRow,
    status: "succeeded" | "failed" | "cancelled",
    error: string | null,
  ) => {
    await db
      .updateTable("rebalance_executions")
      .set({ status, error, completed_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where("id", "=", execution.id)
      .where("status", "in", ["pending", "executing"])
      .execute();
    logger.info("rebalance execution finished", { execution_id: execution.id, status, error });
    await deps.onOutcome();
  };

  /** Plans the execution and stores its legs' intents; returns the plan (empty: nothing to do). */
  /** Another execution with legs still open: its transfers are not in the balances yet. */
  const checkNoneExecuting = async (executor: Kysely<Database>, id: string) => {
    const other = await executor
      .selectFrom("rebalance_executions")
      .select("id")
      .where("status", "=", "executing")
      .where("id", "!=", id)
      .executeTakeFirst();
    if (other !== undefined) {
      throw new AppError("rebalance_in_progress", `rebalance ${other.id} is still executing; planning waits for it`, {
        retryable: true,
        status: 409,
      });
    }
  };

  async function plan(execution: RebalanceExecutionRow): Promise<RebalancePlan> {
    // Planned one at a time, and never while another's legs are open: two plans made from the same
    // balances would move the same value twice. The check before reading the balances and the one
    // under the lock together leave no execution planned in between unseen.
    await checkNoneExecuting(db, execution.id);
    const balances = await onChainBalances(chain, deps.fundAddress);
    const pending = await db
      .selectFrom("redemptions")
      .select(sql<string>`coalesce(sum(assets), 0)::text`.as("assets"))
      .where("status", "=", "requested")
      .executeTakeFirstOrThrow();
    const planned = planRebalance({
      balances,
      pendingAssets: pending.assets,
      policy: deps.policy,
      minTransfer: deps.minTransfer,
    });
    const legs = await Promise.all(
      planned.transfers.map(async (transfer, leg) => {
        const data = fund.encodeFunctionData("executeRebalance", [
          rebalanceExecutionId(execution.id, leg),
          Layer[transfer.from],
          Layer[transfer.to],
          toUnits(transfer.amount, FUND_DECIMALS),
        ]);
        return { leg, data, gasLimit: await sender.estimateGasLimit({ to: deps.fundAddress, data }) };
      }),
    );
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('paimon-rebalance-planning'))`.execute(trx);
      await checkNoneExecuting(trx, execution.id);
      const claimed = await trx
        .updateTable("rebalance_executions")
        .set({
          status: legs.length === 0 ? "succeeded" : "executing",
          plan: JSON.stringify(planned.transfers),
          balances: JSON.stringify({ ...balances, ...(planned.skipped ? { skipped: planned.skipped } : {}) }),
          updated_at: sql<Date>`now()`,
          ...(legs.length === 0 ? { completed_at: sql<Date>`now()` } : {}),
        })
        .where("id", "=", execution.id)
        .where("status", "=", "pending")
        .executeTakeFirst();
      if (claimed.numUpdatedRows === 0n)
        throw new AppError("execution_moved", "the execution was planned meanwhile", { retryable: true });
      for (const { leg, data, gasLimit } of legs) {
        await sender.submit(
          {
            idempotencyKey: `rebalance-${execution.id}-${leg}`,
            purpose: "rebalance",
            to: deps.fundAddress,
            data,
            gasLimit,
            rebalance: { executionId: execution.id, leg },
          },
          trx,
        );
      }
    });
    logger.info(legs.length === 0 ? "rebalance planned: nothing to move" : "rebalance planned", {
      execution_id: execution.id,
      trigger: execution.trigger,
      balances,
      transfers: planned.transfers,
      skipped: planned.skipped,
    });
    return planned;
  }

  async function follow(execution: RebalanceExecutionRow, signal?: AbortSignal): Promise<RebalanceOutcome> {
    const intents = await db
      .selectFrom("tx_intents")
      .selectAll()
      .where("rebalance_execution_id", "=", execution.id)
      .orderBy("rebalance_leg")
      .execute();
    const final: TxIntentRow[] = [];
    for (const intent of intents) final.push(await sender.waitFinal(intent.id, signal));
    const problems = final
      .filter((intent) => intent.status !== "confirmed")
      .map((intent) => `leg ${intent.rebalance_leg} ${intent.status}${intent.error ? `: ${intent.error}` : ""}`);
    const status =
      problems.length === 0 ? "succeeded" : final.every((i) => i.status === "cancelled") ? "cancelled" : "failed";
    await finish(execution, status, problems.length === 0 ? null : problems.join("; "));
    return { outcome: status, executionId: execution.id };
  }

  return {
    async handle(payload, signal) {
      const load = () =>
        db.selectFrom("rebalance_executions").selectAll().where("id", "=", payload.executionId).executeTakeFirst();
      let execution = await load();
      if (execution === undefined) {
        throw new AppError("rebalance_not_found", `no rebalance execution ${payload.executionId}`, {
          retryable: false,
        });
      }
      if (execution.status === "pending") {
        try {
          const planned = await plan(execution);
          if (planned.transfers.length === 0) {
            await deps.onOutcome();
            return { outcome: "nothing_to_do", executionId: execution.id };
          }
        } catch (error) {
          if (error instanceof AppError && error.code === "transaction_would_revert" && !error.retryable) {
            await finish(execution, "failed", error.message);
            return { outcome: "failed", executionId: execution.id };
          }
          throw error;
        }
        execution = (await load()) ?? execution;
      }
      if (execution.status !== "executing") return { outcome: "already_done", executionId: execution.id };
      return follow(execution, signal);
    },
  };
}
