/**
 * Redemption settlements through the sender. An instant redemption is settled once its request is
 * final (the listener releases its job then); a standard one waits for the scheduler's daily
 * cut-off, which settles every standard redemption requested before it. Each redemption's status
 * is read from the contract first: one already settled or cancelled is skipped (the listener
 * queues a job either way). A settlement's intent is keyed by the redemption, so a job taken
 * again, or a redemption reached both by its own job and a cut-off, is settled once; only when an
 * earlier settlement of it reverted or was cancelled and the contract still has it requested does
 * a new intent (the next key) try again.
 */
import { PaimonFund__factory, RedemptionStatus } from "@paimon/contracts";
import type { Database } from "@paimon/core/db";
import { AppError } from "@paimon/core/errors";
import type { Logger } from "@paimon/core/logger";
import type { Payload } from "@paimon/core/queues";
import { sql, type Kysely } from "kysely";
import type { Chain } from "../sender/chain";
import { isFinal, type Sender } from "../sender/sender";

const fund = PaimonFund__factory.createInterface();
/** How many of a cut-off's settlements are in flight at once. */
const CUTOFF_BATCH = 32;

export type SettlementOutcome =
  "settled" | "already_settled" | "cancelled_on_chain" | "not_on_chain" | "awaits_cutoff" | "not_settled";

export interface Settlements {
  handle(
    payload: Payload<"settlements">,
    signal?: AbortSignal,
  ): Promise<{ outcome: string; settled?: number; skipped?: number; redemptionId?: string }>;
  /** Settles one redemption (or finds it settled); exported for the cut-off and tests. */
  settle(chainId: number, redemptionId: string, signal?: AbortSignal): Promise<SettlementOutcome>;
}

export function createSettlements(deps: {
  readonly db: Kysely<Database>;
  readonly chain: Chain;
  readonly sender: Sender;
  readonly fundAddress: string;
  readonly logger: Logger;
}): Settlements {
  const { db, chain, sender, logger } = deps;

  const onChainStatus = async (id: string): Promise<number> => {
    const result = await chain.call({ to: deps.fundAddress, data: fund.encodeFunctionData("redemption", [id]) });
    const [redemption] = fund.decodeFunctionResult("redemption", result) as unknown as [{ status: bigint }];
    return Number(redemption.status);
  };

  async function settle(chainId: number, id: string, signal?: AbortSignal): Promise<SettlementOutcome> {
    const previous = await db
      .selectFrom("tx_intents")
      .selectAll()
      .where("purpose", "=", "settlement")
      .where("chain_id", "=", chainId)
      .where("redemption_id", "=", id)
      .orderBy("created_at")
      .execute();
    const open = previous.find((intent) => !isFinal(intent));
    if (open !== undefined) {
      const done = await sender.waitFinal(open.id, signal);
      if (done.status === "confirmed") return "settled";
    }
    if (previous.some((intent) => intent.status === "confirmed")) return "already_settled";

    const status = await onChainStatus(id);
    if (status === RedemptionStatus.Settled) return "already_settled";
    if (status === RedemptionStatus.Cancelled) return "cancelled_on_chain";
    if (status === RedemptionStatus.None) return "not_on_chain";

    const data = fund.encodeFunctionData("settleRedemption", [id]);
    // A revert here (L1 cannot pay it yet) is worth retrying: a rebalance refills L1.
    const gasLimit = await sender.estimateGasLimit({ to: deps.fundAddress, data }).catch((error: unknown) => {
      throw error instanceof AppError
        ? new AppError("settlement_not_payable", `redemption ${id} cannot be settled now: ${error.message}`, {
            retryable: true,
            status: 409,
            cause: error,
          })
        : error;
    });
    const intent = await sender.submit({
      idempotencyKey: `settle-${chainId}-${id}-${previous.length}`,
      purpose: "settlement",
      to: deps.fundAddress,
      data,
      gasLimit,
      redemptionId: id,
    });
    const done = await sender.waitFinal(intent.id, signal);
    if (done.status === "confirmed") {
      logger.info("redemption settled", { redemption_id: id, tx_hash: done.mined_hash });
      return "settled";
    }
    // Reverted or cancelled: the contract says whether someone else settled it meanwhile.
    const after = await onChainStatus(id);
    if (after === RedemptionStatus.Settled) return "already_settled";
    if (after === RedemptionStatus.Cancelled) return "cancelled_on_chain";
    throw new AppError("settlement_not_final", `the settlement of redemption ${id} ended ${done.status}`, {
      retryable: true,
      details: { intentId: done.id, status: done.status, error: done.error },
    });
  }

  return {
    settle,
    async handle(payload, signal) {
      if (payload.kind === "redemption") {
        if (payload.channel === "standard") return { outcome: "awaits_cutoff", redemptionId: payload.redemptionId };
        return {
          outcome: await settle(payload.chainId, payload.redemptionId, signal),
          redemptionId: payload.redemptionId,
        };
      }
      const due = await db
        .selectFrom("redemptions")
        .select(["id", "chain_id"])
        .where("channel", "=", "standard")
        .where("status", "=", "requested")
        .where("created_at", "<", new Date(payload.cutoffAt))
        .orderBy(sql`id::numeric`)
        .execute();
      // Submitted together, a batch at a time: the lane gives them consecutive nonces, and the
      // batch waits for its transactions' finality together rather than one by one.
      let settled = 0;
      let skipped = 0;
      for (let start = 0; start < due.length; start += CUTOFF_BATCH) {
        const results = await Promise.allSettled(
          due.slice(start, start + CUTOFF_BATCH).map((r) => settle(r.chain_id, r.id, signal)),
        );
        const failure = results.find((result) => result.status === "rejected");
        if (failure !== undefined) throw failure.reason;
        const outcomes = results.map((result) => (result as PromiseFulfilledResult<SettlementOutcome>).value);
        settled += outcomes.filter((outcome) => outcome === "settled").length;
        skipped += outcomes.filter((outcome) => outcome !== "settled").length;
      }
      logger.info("standard redemptions settled at the cut-off", { cutoff_at: payload.cutoffAt, settled, skipped });
      return { outcome: "cutoff_settled", settled, skipped };
    },
  };
}
