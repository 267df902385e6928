/**
 * The operator's one transaction sender (after OpenZeppelin Relayer's design): every transaction
 * the operator's address signs — rebalance legs, redemption settlements, no-ops that fill a gap —
 * is an *intent* first, and becomes at most one transaction on chain, and exactly one once it
 * completes, whatever crashes, restarts, RPC faults or fee spikes happen in between.
 *
 * How, step by step (each step commits before the next begins, so a crash anywhere leaves a state
 * the next step continues from):
 * 1. `submit` stores the intent with its idempotency key; the same key maps to the same intent.
 * 2. The lane — one per signer and chain, driven by the one process holding its PostgreSQL
 *    advisory lock — allocates the next nonce under the lane row's lock and saves it with the
 *    intent before anything is signed. A signing or KMS failure is retried with that same nonce.
 * 3. The signed raw transaction and its hash are stored before they are broadcast; a retry
 *    broadcasts the same bytes, so "already known" is an answer, not a problem.
 * 4. Every saved hash is looked up for a receipt: an intent is `mined` with one, and `confirmed`
 *    (or `reverted`, or `cancelled` when its cancellation mined) once that receipt is
 *    `FINALITY_DEPTH` blocks deep.
 * 5. An accepted attempt is broadcast again every `rebroadcastMs` while unmined (a node may drop
 *    what it accepted). Unmined after `replaceAfterMs`, the latest attempt is replaced at the same nonce with both fee
 *    fields raised ≥ 10 %, up to `maxReplacements` times and the fee cap; past those or the
 *    intent's deadline, a zero-value self-send at the nonce cancels it.
 * 6. The reconciler (at start and every `reconcileIntervalMs`) compares the chain's nonce with the
 *    lane's: a lane behind the chain moves up; a nonce below the lane's that no open intent holds
 *    is a real gap, filled with a no-op. An intent's nonce is given up only once the chain proves
 *    it used by another transaction, final (the nonce at the finalized block has moved past it,
 *    and none of the intent's hashes has a receipt).
 */
import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { OPEN_TX_STATUSES, type Database, type TxAttemptRow, type TxIntentRow, type TxPurpose } from "@paimon/core/db";
import { AppError } from "@paimon/core/errors";
import type { Logger } from "@paimon/core/logger";
import { sql, type Kysely, type Transaction, type UpdateObject } from "kysely";
import type { WorkerMetrics } from "../metrics";
import type { OperatorSigner } from "../signer/signer";
import type { Chain, Receipt } from "./chain";
import { classifySendError } from "./classify";
import { marketFees, replacementFees, type FeeSettings, type Fees } from "./fees";

export interface SenderSettings {
  readonly fees: FeeSettings;
  /** A receipt this many blocks below the head is final. */
  readonly finalityDepth: number;
  /** How long an attempt may stay unmined before it is replaced. */
  readonly replaceAfterMs: number;
  /**
   * How often an accepted, unmined attempt is broadcast again (the same bytes): a node may drop
   * what it accepted (evicted from its pool, or "already known" to a node that lost it).
   */
  readonly rebroadcastMs: number;
  /** Fee-bumped replacements per intent before it is cancelled. */
  readonly maxReplacements: number;
  /** From an intent's creation until it is cancelled if still unmined. */
  readonly deadlineMs: number;
  /** How often the lane looks at its open intents (it also wakes on every submit). */
  readonly pollMs: number;
  readonly reconcileIntervalMs: number;
  /** Extra gas over the node's estimate, in percent. */
  readonly gasMarginPercent: number;
}

export interface IntentSpec {
  readonly idempotencyKey: string;
  readonly purpose: Exclude<TxPurpose, "noop">;
  readonly to: string;
  readonly data: string;
  readonly value?: bigint;
  readonly gasLimit: bigint;
  readonly rebalance?: { readonly executionId: string; readonly leg: number };
  readonly redemptionId?: string;
}

/** The lane's transitions, for logs and tests (a test may SIGKILL the process on any of them). */
export type SenderEvent = "nonce allocated" | "signed" | "broadcast" | "mined" | "final" | "renonced" | "gap filled";

export interface Sender {
  readonly address: string;
  /** Gas for `request` from the node, with the margin; a revert is a non-retryable AppError. */
  estimateGasLimit(request: { to: string; data: string; value?: bigint }): Promise<bigint>;
  /** Stores the intent, or returns the one its key already names (in `db`'s transaction when given one). */
  submit(spec: IntentSpec, db?: Kysely<Database> | Transaction<Database>): Promise<TxIntentRow>;
  /** Resolves with the intent once it is final (confirmed, reverted, cancelled or failed). */
  waitFinal(intentId: string, signal?: AbortSignal): Promise<TxIntentRow>;
  /** Starts driving the lane (once its lock is held). */
  start(): void;
  /** One pass over the lane's open intents; exported for tests. */
  tick(): Promise<void>;
  reconcile(): Promise<void>;
  /** Stops the lane after the step in hand and releases its lock. */
  close(): Promise<void>;
}

export interface SenderDeps {
  readonly db: Kysely<Database>;
  /** A dedicated session for the lane's advisory lock (released when it closes or dies). */
  readonly laneSession: () => Promise<LaneSession>;
  readonly chain: Chain;
  readonly signer: OperatorSigner;
  readonly settings: SenderSettings;
  readonly logger: Logger;
  readonly onEvent?: (event: SenderEvent, intent: Pick<TxIntentRow, "id" | "purpose" | "nonce">) => void;
  readonly metrics?: SenderMetrics;
}

/** The rebalance worker's metrics the sender keeps. */
export type SenderMetrics = Pick<
  WorkerMetrics<"rebalance">["metrics"],
  "paimon_tx_open_intents" | "paimon_tx_oldest_open_seconds" | "paimon_tx_attempts_total"
>;

/** A PostgreSQL session that holds an advisory lock for as long as it lives. */
export interface LaneSession {
  tryLock(key: string): Promise<boolean>;
  /** Settles when the session ends (closed or lost). */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

const CANCEL_GAS = 21_000n;

/** Whether the intent has reached one of its final states: any state that is not open. */
export const isFinal = (intent: Pick<TxIntentRow, "status">) =>
  !(OPEN_TX_STATUSES as readonly string[]).includes(intent.status);

/** Creates the sender of `signer`'s address on `chain`. */
export async function createSender(deps: SenderDeps): Promise<Sender> {
  const { db, chain, signer, settings, logger } = deps;
  const address = await signer.address();
  const chainId = Number(chain.chainId);
  const lane = db.selectFrom("tx_intents").where("chain_id", "=", chainId).where("signer", "=", address);
  const updates = new EventEmitter();
  updates.setMaxListeners(0);
  let closed = false;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let session: LaneSession | undefined;
  let lastReconcile = 0;
  /** When this process last broadcast each attempt (by hash); a restart broadcasts again at once. */
  const lastBroadcast = new Map<string, number>();

  const emit = (event: SenderEvent, intent: Pick<TxIntentRow, "id" | "purpose" | "nonce">) => {
    logger.info(`transaction ${event}`, { intent_id: intent.id, purpose: intent.purpose, nonce: intent.nonce });
    deps.onEvent?.(event, intent);
    updates.emit("update");
  };

  const setIntent = (id: string, values: UpdateObject<Database, "tx_intents">) =>
    db
      .updateTable("tx_intents")
      .set({ ...values, updated_at: sql<Date>`now()` })
      .where("id", "=", id)
      .where("status", "in", OPEN_TX_STATUSES)
      .returningAll()
      .executeTakeFirst();

  const noteError = (attempt: TxAttemptRow, message: string) =>
    db
      .updateTable("tx_attempts")
      .set({ last_error: message.slice(0, 1000) })
      .where("intent_id", "=", attempt.intent_id)
      .where("seq", "=", attempt.seq)
      .execute();

  /** The lane's row, locked until `trx` ends: nonces are handed out under this lock. */
  const lockLane = (trx: Transaction<Database>) =>
    trx
      .selectFrom("signer_lanes")
      .select("next_nonce")
      .where("chain_id", "=", chainId)
      .where("signer", "=", address)
      .forUpdate()
      .executeTakeFirst();

  async function allocateNonce(intent: TxIntentRow): Promise<TxIntentRow> {
    return db.transaction().execute(async (trx) => {
      const row = await lockLane(trx);
      if (row === undefined) throw new AppError("lane_not_initialized", "the lane has not been reconciled yet");
      const updated = await trx
        .updateTable("tx_intents")
        .set({ nonce: row.next_nonce, updated_at: sql<Date>`now()` })
        .where("id", "=", intent.id)
        .where("nonce", "is", null)
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .updateTable("signer_lanes")
        .set({ next_nonce: BigInt(row.next_nonce) + 1n, updated_at: sql<Date>`now()` })
        .where("chain_id", "=", chainId)
        .where("signer", "=", address)
        .execute();
      return updated;
    });
  }

  async function signAttempt(
    intent: TxIntentRow,
    seq: number,
    kind: TxAttemptRow["kind"],
    fees: Fees,
  ): Promise<TxAttemptRow> {
    const cancel = kind === "cancel";
    const nonce = Number(intent.nonce);
    const common = {
      chainId: chain.chainId,
      nonce,
      gasLimit: cancel ? CANCEL_GAS : BigInt(intent.gas_limit),
      to: cancel ? address : intent.to_address,
      data: cancel ? "0x" : intent.data,
      value: cancel ? 0n : BigInt(intent.value),
    };
    const signed = await signer.signTransaction(
      settings.fees.type === 2
        ? { ...common, type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : { ...common, type: 0, gasPrice: fees.maxFeePerGas },
    );
    const attempt = await db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto("tx_attempts")
        .values({
          intent_id: intent.id,
          seq,
          kind,
          nonce: intent.nonce as string,
          hash: signed.hash,
          raw: signed.raw,
          tx_type: settings.fees.type,
          max_fee_per_gas: fees.maxFeePerGas.toString(),
          max_priority_fee_per_gas: fees.maxPriorityFeePerGas.toString(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (kind === "replacement") {
        await trx
          .updateTable("tx_intents")
          .set((eb) => ({ replacements: eb("replacements", "+", 1), updated_at: sql<Date>`now()` }))
          .where("id", "=", intent.id)
          .execute();
      }
      return row;
    });
    deps.metrics?.paimon_tx_attempts_total.inc({ kind });
    emit("signed", intent);
    return attempt;
  }

  async function broadcast(
    intent: TxIntentRow,
    attempt: TxAttemptRow,
    attempts: readonly TxAttemptRow[],
    head: bigint,
  ) {
    let outcome: ReturnType<typeof classifySendError>["outcome"] | "accepted" = "accepted";
    let message = "";
    lastBroadcast.set(attempt.hash, Date.now());
    try {
      await chain.sendRawTransaction(attempt.raw);
    } catch (error) {
      ({ outcome, message } = classifySendError(error));
    }
    if (outcome === "underpriced") {
      // The pool holds a transaction at this nonce that this one does not outbid: if it is ours,
      // this intent is in the pool, which is what a broadcast wants.
      const ours = await Promise.all(attempts.map((a) => chain.knows(a.hash)));
      outcome = ours.some(Boolean) ? "submitted" : "retry";
    }
    if (outcome === "accepted" || outcome === "submitted") {
      await db
        .updateTable("tx_attempts")
        .set({ broadcast_at: sql<Date>`coalesce(broadcast_at, now())`, last_error: message === "" ? null : message })
        .where("intent_id", "=", intent.id)
        .where("seq", "=", attempt.seq)
        .execute();
      if (intent.status === "pending") {
        await setIntent(intent.id, { status: "submitted" });
        emit("broadcast", intent);
      }
      return;
    }
    await noteError(attempt, message);
    if (outcome === "nonce_too_low") {
      await maybeRenonce(intent, attempts, head);
      return;
    }
    const level = outcome === "retry" ? "warn" : "error";
    logger[level](`broadcast ${outcome === "retry" ? "failed; retrying" : "refused by the node"}`, {
      intent_id: intent.id,
      nonce: intent.nonce,
      hash: attempt.hash,
      reason: message,
    });
  }

  /**
   * The nonce is below the account's: if the nonce at the finalized block has moved past it and
   * none of the intent's hashes has a receipt, another transaction used it for good, and the
   * intent gets a new one (a no-op has nothing left to do). Otherwise the receipts will tell.
   */
  async function maybeRenonce(intent: TxIntentRow, attempts: readonly TxAttemptRow[], head: bigint) {
    const finalized = head - BigInt(settings.finalityDepth);
    if (finalized < 0n || (await chain.nonceAt(address, finalized)) <= BigInt(intent.nonce as string)) return;
    for (const attempt of attempts) if ((await chain.receipt(attempt.hash)) !== null) return;
    const reason = `nonce ${intent.nonce} was used by a transaction that is not this intent's`;
    if (intent.purpose === "noop") {
      await setIntent(intent.id, { status: "failed", error: `${reason}: no gap left`, completed_at: sql<Date>`now()` });
    } else {
      await setIntent(intent.id, { status: "pending", nonce: null, error: reason });
    }
    logger.warn("intent's nonce used by another transaction", { intent_id: intent.id, nonce: intent.nonce });
    emit("renonced", intent);
  }

  async function onReceipt(intent: TxIntentRow, attempt: TxAttemptRow, receipt: Receipt, head: bigint) {
    const final = receipt.blockNumber <= head - BigInt(settings.finalityDepth);
    if (!final) {
      if (intent.status !== "mined" || intent.mined_hash !== receipt.hash) {
        await setIntent(intent.id, { status: "mined", mined_hash: receipt.hash, mined_block: receipt.blockNumber });
        emit("mined", intent);
      }
      return;
    }
    const status = attempt.kind === "cancel" ? "cancelled" : receipt.status === 1 ? "confirmed" : "reverted";
    await setIntent(intent.id, {
      status,
      mined_hash: receipt.hash,
      mined_block: receipt.blockNumber,
      completed_at: sql<Date>`now()`,
      // The last problem noted (a renonce, why it was cancelled) stays; a revert is the problem now.
      ...(status === "reverted" ? { error: `transaction ${receipt.hash} reverted` } : {}),
    });
    emit("final", intent);
  }

  async function step(intent: TxIntentRow, head: bigint): Promise<void> {
    const attempts = await db
      .selectFrom("tx_attempts")
      .selectAll()
      .where("intent_id", "=", intent.id)
      .orderBy("seq")
      .execute();
    for (const attempt of [...attempts].reverse()) {
      const receipt = await chain.receipt(attempt.hash);
      if (receipt !== null) return onReceipt(intent, attempt, receipt, head);
    }
    if (intent.status === "mined") {
      // Its block left the chain: the transaction is back in the pool, or will be broadcast again.
      intent = (await setIntent(intent.id, { status: "submitted", mined_hash: null, mined_block: null })) ?? intent;
    }
    const now = Date.now();
    if (intent.nonce === null) {
      if (now > intent.deadline.getTime()) {
        await setIntent(intent.id, {
          status: "failed",
          error: intent.error ?? "its deadline passed before it was sent",
          completed_at: sql<Date>`now()`,
        });
        emit("final", intent);
        return;
      }
      intent = await allocateNonce(intent);
      emit("nonce allocated", intent);
    }
    // Attempts at an earlier nonce (given up as used by another transaction) are history now.
    const current = attempts.filter((a) => a.nonce === intent.nonce);
    const seq = (attempts.at(-1)?.seq ?? 0) + 1;
    let latest = current.at(-1);
    if (latest === undefined) {
      latest = await signAttempt(intent, seq, "original", await marketFees(chain, settings.fees));
      return broadcast(intent, latest, [latest], head);
    }
    if (latest.broadcast_at === null) return broadcast(intent, latest, current, head);
    if (now - latest.created_at.getTime() < settings.replaceAfterMs) {
      if (now - (lastBroadcast.get(latest.hash) ?? 0) >= settings.rebroadcastMs) {
        return broadcast(intent, latest, current, head);
      }
      return;
    }

    const market = await marketFees(chain, settings.fees);
    const previous = {
      maxFeePerGas: BigInt(latest.max_fee_per_gas),
      maxPriorityFeePerGas: BigInt(latest.max_priority_fee_per_gas),
    };
    const next = replacementFees(previous, market);
    // A cancellation stays one; an original or replacement past its deadline, its replacements
    // or the fee cap becomes one.
    const pastDeadline = now > intent.deadline.getTime();
    const cancelling =
      latest.kind === "cancel"
        ? undefined
        : pastDeadline
          ? "its deadline passed unmined"
          : intent.replacements >= settings.maxReplacements
            ? `unmined after ${intent.replacements} replacements`
            : next.maxFeePerGas > settings.fees.maxFee
              ? "a replacement would exceed the fee cap"
              : undefined;
    const kind = latest.kind === "cancel" || cancelling !== undefined ? "cancel" : "replacement";
    if (kind === "cancel" && next.maxFeePerGas > settings.fees.cancelMaxFee) {
      logger.error("cancellation stuck at the cancellation fee cap; an operator must act", {
        intent_id: intent.id,
        nonce: intent.nonce,
        hash: latest.hash,
      });
      return;
    }
    if (cancelling !== undefined) await setIntent(intent.id, { error: `cancelling: ${cancelling}` });
    const attempt = await signAttempt(intent, seq, kind, next);
    return broadcast(intent, attempt, [...current, attempt], head);
  }

  async function tick(): Promise<void> {
    if (Date.now() - lastReconcile >= settings.reconcileIntervalMs) await reconcile();
    const open = await lane
      .selectAll()
      .where("status", "in", OPEN_TX_STATUSES)
      .orderBy(sql`nonce asc nulls last`)
      .orderBy("created_at")
      .execute();
    if (deps.metrics !== undefined) {
      for (const status of OPEN_TX_STATUSES) {
        deps.metrics.paimon_tx_open_intents.set({ status }, open.filter((i) => i.status === status).length);
      }
      const oldest = Math.min(Date.now(), ...open.map((i) => i.created_at.getTime()));
      deps.metrics.paimon_tx_oldest_open_seconds.set((Date.now() - oldest) / 1000);
    }
    if (open.length === 0) return;
    const head = await chain.head();
    for (const intent of open) {
      if (closed) return;
      try {
        await step(intent, head);
      } catch (error) {
        logger.warn("could not advance a transaction; retrying", { intent_id: intent.id, nonce: intent.nonce, error });
        // A later intent must not take a nonce ahead of one that is not yet allocated.
        if (intent.nonce === null) return;
      }
    }
  }

  async function reconcile(): Promise<void> {
    const [mined, pending] = await Promise.all([chain.nonceAt(address, "latest"), chain.nonceAt(address, "pending")]);
    const filled = await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("signer_lanes")
        .values({ chain_id: chainId, signer: address, next_nonce: pending })
        .onConflict((oc) => oc.columns(["chain_id", "signer"]).doNothing())
        .execute();
      const row = await lockLane(trx);
      if (row === undefined) throw new AppError("internal_error", "the lane row vanished");
      let next = BigInt(row.next_nonce);
      if (next < mined) {
        logger.warn("the chain's nonce is ahead of the lane: nonces were used outside the sender", {
          lane_next_nonce: next.toString(),
          chain_nonce: mined.toString(),
        });
        next = mined;
        await trx
          .updateTable("signer_lanes")
          .set({ next_nonce: next, updated_at: sql<Date>`now()` })
          .where("chain_id", "=", chainId)
          .where("signer", "=", address)
          .execute();
      }
      if (next === mined) return [];
      const held = await trx
        .selectFrom("tx_intents")
        .select("nonce")
        .where("chain_id", "=", chainId)
        .where("signer", "=", address)
        .where("status", "in", OPEN_TX_STATUSES)
        .where("nonce", ">=", mined.toString())
        .execute();
      const taken = new Set(held.map((h) => h.nonce));
      const gaps: bigint[] = [];
      for (let nonce = mined; nonce < next && gaps.length < 64; nonce++) {
        if (!taken.has(nonce.toString())) gaps.push(nonce);
      }
      for (const nonce of gaps) {
        await trx
          .insertInto("tx_intents")
          .values({
            id: randomUUID(),
            idempotency_key: `gap-${chainId}-${address.toLowerCase()}-${nonce}-${randomUUID()}`,
            purpose: "noop",
            chain_id: chainId,
            signer: address,
            to_address: address,
            data: "0x",
            gas_limit: CANCEL_GAS,
            status: "pending",
            nonce,
            deadline: new Date(Date.now() + settings.deadlineMs),
          })
          .execute();
      }
      return gaps;
    });
    lastReconcile = Date.now();
    for (const nonce of filled) {
      logger.warn("a nonce below the lane's is held by no open intent: filling the gap with a no-op", {
        nonce: nonce.toString(),
      });
      emit("gap filled", { id: "", purpose: "noop", nonce: nonce.toString() });
    }
  }

  async function run(): Promise<void> {
    const key = `paimon-lane:${chainId}:${address.toLowerCase()}`;
    while (!closed) {
      try {
        if (session === undefined) {
          const candidate = await deps.laneSession();
          if (await candidate.tryLock(key)) {
            session = candidate;
            void candidate.ended.then(() => {
              if (session === candidate) session = undefined;
              if (!closed) logger.warn("lost the lane's session; taking the lock again");
            });
            logger.info("driving the transaction lane", { signer: address, chain_id: chainId });
            lastReconcile = 0;
          } else {
            await candidate.close();
          }
        }
        if (session !== undefined) await tick();
      } catch (error) {
        logger.warn("the transaction lane failed a pass; retrying", { error });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    address,
    async estimateGasLimit(request) {
      try {
        const gas = await chain.estimateGas({ from: address, ...request });
        return (gas * BigInt(100 + settings.gasMarginPercent) + 99n) / 100n;
      } catch (error) {
        const { outcome, message } = classifySendError(error);
        throw new AppError("transaction_would_revert", `the transaction would fail: ${message}`, {
          retryable: outcome === "retry",
          status: 409,
          cause: error,
        });
      }
    },
    async submit(spec, executor = db) {
      const values = {
        idempotency_key: spec.idempotencyKey,
        purpose: spec.purpose,
        chain_id: chainId,
        signer: address,
        to_address: spec.to,
        data: spec.data.toLowerCase(),
        value: (spec.value ?? 0n).toString(),
        gas_limit: spec.gasLimit,
        status: "pending" as const,
        deadline: new Date(Date.now() + settings.deadlineMs),
        rebalance_execution_id: spec.rebalance?.executionId ?? null,
        rebalance_leg: spec.rebalance?.leg ?? null,
        redemption_id: spec.redemptionId ?? null,
      };
      const inserted = await executor
        .insertInto("tx_intents")
        .values({ id: randomUUID(), ...values })
        .onConflict((oc) => oc.column("idempotency_key").doNothing())
        .returningAll()
        .executeTakeFirst();
      const intent =
        inserted ??
        (await executor
          .selectFrom("tx_intents")
          .selectAll()
          .where("idempotency_key", "=", spec.idempotencyKey)
          .executeTakeFirstOrThrow());
      if (
        intent.to_address !== values.to_address ||
        intent.data !== values.data ||
        intent.value !== values.value ||
        intent.chain_id !== chainId ||
        intent.signer !== address
      ) {
        throw new AppError(
          "idempotency_conflict",
          `intent ${spec.idempotencyKey} exists already with a different transaction`,
          { status: 409, details: { intentId: intent.id } },
        );
      }
      if (inserted !== undefined) wake?.();
      return intent;
    },
    async waitFinal(intentId, signal) {
      for (;;) {
        signal?.throwIfAborted();
        const intent = await db
          .selectFrom("tx_intents")
          .selectAll()
          .where("id", "=", intentId)
          .executeTakeFirstOrThrow();
        if (isFinal(intent)) return intent;
        // Whichever first: this process's lane moved something, or the poll interval passed (the
        // lane may be another process's).
        const controller = new AbortController();
        const onAbort = () => {
          controller.abort();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        await Promise.race([
          once(updates, "update", { signal: controller.signal }).catch(() => undefined),
          delay(settings.pollMs, undefined, { signal: controller.signal }).catch(() => undefined),
        ]);
        controller.abort();
        signal?.removeEventListener("abort", onAbort);
      }
    },
    start() {
      running ??= run();
    },
    tick,
    reconcile,
    async close() {
      closed = true;
      wake?.();
      await running;
      await session?.close();
      session = undefined;
    },
  };
}
