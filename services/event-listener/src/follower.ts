/**
 * Follows the fund contract from the cursor to the head, and keeps following.
 *
 * - Blocks already final are read in ranges (`eth_getLogs` by range, halved on the node's range
 *   errors and grown back after successes), each range one transaction.
 * - Blocks not yet final are read one at a time, by hash (`eth_getLogs` by `blockHash`), each
 *   checked against its parent: a block whose parent is not our cursor means a reorganisation.
 *   The follower walks back through the remembered blocks to the common ancestor and undoes
 *   everything above it in one transaction. A reorganisation below finality halts the follower
 *   loudly (readiness fails, the log says so) — unless the node is merely behind us, in which
 *   case it waits for the node.
 * - Nothing here sleeps to synchronise: the loop waits for a wake-up (a new head over
 *   WebSocket) or the poll interval, whichever is first.
 * - Following never waits on Redis: after each step the outbox relay is started in the
 *   background (one at a time, the latest releasable block remembered for the next), so a Redis
 *   that is down or stalled leaves the work in the outbox while the chain is still followed into
 *   PostgreSQL; the relay catches up once Redis answers.
 */
import type { Database } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Metrics } from "@paimon/core/metrics";
import type { Kysely } from "kysely";
import type { ChainEvent, EventDecoder } from "./events";
import { RedisUnavailableError, type Relay } from "./relay";
import { isRpcFailure, RangeTooWideError, type BlockHeader, type RpcClient } from "./rpc";
import { commitBatch, type Cursor, markFinal, readCursor, rollBack, storedBlock, touchCursor } from "./store";

export type FollowerMetrics = Pick<
  Metrics,
  | "paimon_event_processing_duration_seconds"
  | "paimon_chain_head_block"
  | "paimon_chain_last_processed_block"
  | "paimon_chain_head_lag_blocks"
  | "paimon_chain_finalized_lag_blocks"
  | "paimon_chain_reorgs_total"
  | "paimon_chain_reorg_depth_blocks"
  | "paimon_outbox_backlog"
>;

export interface FollowerOptions {
  readonly rpc: RpcClient;
  readonly db: Kysely<Database>;
  readonly relay: Relay;
  readonly decoder: EventDecoder;
  readonly logger: Logger;
  readonly metrics: FollowerMetrics;
  readonly chainId: number;
  readonly fundAddress: string;
  readonly startBlock: number;
  readonly finalityDepth: number;
  readonly maxBlockRange: number;
  readonly pollIntervalMs: number;
}

export interface FollowerStatus {
  readonly head: bigint | undefined;
  readonly processed: bigint | undefined;
  readonly finalized: bigint | undefined;
  /** Set once the follower has stopped on a reorganisation below finality. */
  readonly halted: string | undefined;
  /** When the follower last completed a step (ms since the epoch). */
  readonly lastStepAt: number | undefined;
  /** Why the last step failed, if no step has completed since: the node, or anything else. */
  readonly failure: { readonly source: "rpc" | "follower"; readonly message: string } | undefined;
  /** Why the outbox cannot reach Redis, while it cannot. */
  readonly redis: string | undefined;
}

export interface Follower {
  /**
   * Follows until `signal` aborts or the follower halts; rejects when a step fails (the caller
   * runs it again: it resumes from the committed cursor). Settles only once its relay has.
   */
  run(signal: AbortSignal): Promise<void>;
  /** A new head arrived, or the WebSocket reconnected: look now rather than at the next poll. */
  wake(): void;
  /** Where it stands, for readiness and metrics. */
  status(): FollowerStatus;
}

type StepOutcome = "progressed" | "idle" | "wait";
const outcomeOf = (undone: boolean): StepOutcome => (undone ? "progressed" : "wait");

/** After this many ranges without a range error, the range doubles back towards the maximum. */
const GROW_AFTER = 8;

export function createFollower(options: FollowerOptions): Follower {
  const { rpc, db, logger, metrics, chainId } = options;
  const address = options.fundAddress.toLowerCase();
  let cursor: Cursor = { number: BigInt(options.startBlock) - 1n, hash: undefined };
  let head: bigint | undefined;
  let finalized: bigint | undefined;
  let halted: string | undefined;
  let lastStepAt: number | undefined;
  let range = BigInt(options.maxBlockRange);
  let rangeSuccesses = 0;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  let failure: FollowerStatus["failure"];
  /** The relay in flight, the block to release once it is done, and why Redis is failing. */
  let relaying: Promise<void> | undefined;
  let nextRelease: bigint | undefined;
  let redisProblem: string | undefined;
  let relayFailing = false;

  const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

  /** Relays up to `released` in the background: one relay at a time, never awaited by a step. */
  const release = (released: bigint) => {
    if (relaying) {
      nextRelease = released; // the relay after this one goes that far
      return;
    }
    relaying = options.relay
      .relay(released)
      .then(
        () => {
          if (relayFailing) logger.info("relaying the outbox to Redis again");
          redisProblem = undefined;
          relayFailing = false;
        },
        (error: unknown) => {
          // The work waits in the outbox (its backlog is a metric and an alert); following the
          // chain goes on. Said once per outage, not once per step.
          if (!relayFailing) {
            logger.warn(
              error instanceof RedisUnavailableError
                ? "Redis is not taking the outbox's work; it stays in the outbox and the chain is still followed"
                : "relaying the outbox failed; the work stays in the outbox",
              { error },
            );
          }
          relayFailing = true;
          redisProblem = error instanceof RedisUnavailableError ? error.message : undefined;
        },
      )
      .finally(() => {
        relaying = undefined;
        const next = nextRelease;
        nextRelease = undefined;
        if (next !== undefined && halted === undefined) release(next);
      });
  };

  const waitForWake = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (woken || signal.aborted) {
        woken = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wakeUp = undefined;
        woken = false;
        resolve();
      };
      const timer = setTimeout(done, options.pollIntervalMs);
      signal.addEventListener("abort", done, { once: true });
      wakeUp = done;
    });

  /** `eth_getLogs` over [from, to], narrowing `to` until the node accepts the range. */
  const logsInRange = async (from: bigint, to: bigint) => {
    for (;;) {
      try {
        const logs = await rpc.logs({ address, fromBlock: from, toBlock: to });
        rangeSuccesses += 1;
        if (rangeSuccesses >= GROW_AFTER && range < BigInt(options.maxBlockRange)) {
          range = range * 2n > BigInt(options.maxBlockRange) ? BigInt(options.maxBlockRange) : range * 2n;
          rangeSuccesses = 0;
        }
        return { logs, to };
      } catch (error) {
        if (!(error instanceof RangeTooWideError) || to === from) throw error;
        rangeSuccesses = 0;
        const span = (to - from + 1n) / 2n;
        range = span > 0n ? span : 1n;
        to = from + range - 1n;
        logger.info("narrowing the block range", { from: from.toString(), to: to.toString(), error: error.message });
      }
    }
  };

  const decode = (logs: Awaited<ReturnType<RpcClient["logs"]>>): ChainEvent[] =>
    logs.flatMap((log) => {
      if (log.removed === true) return [];
      const event = options.decoder.decode(log);
      return event ? [event] : [];
    });

  /** Block timestamps of the events that need one: snapshots and redemption requests carry their block's time. */
  const timestamps = async (events: readonly ChainEvent[], known: readonly BlockHeader[]) => {
    const result = new Map<bigint, number>(known.map((block) => [block.number, block.timestamp]));
    for (const e of events) {
      if (result.has(e.blockNumber)) continue;
      if (e.event.type !== "LayerBalancesUpdated" && e.event.type !== "RedemptionRequested") continue;
      const block = await rpc.block(e.blockNumber);
      if (block) result.set(block.number, block.timestamp);
    }
    return result;
  };

  const commit = async (
    started: number,
    events: ChainEvent[],
    blocks: BlockHeader[],
    next: { number: bigint; hash: string },
    final: bigint,
  ) => {
    const fresh = await commitBatch(db, {
      chainId,
      events,
      timestamps: await timestamps(events, blocks),
      blocks,
      cursor: next,
      finalized: final,
    });
    const seconds = (performance.now() - started) / 1000;
    for (const type of new Set(events.map((e) => e.event.type))) {
      metrics.paimon_event_processing_duration_seconds.observe({ event_type: type }, seconds);
    }
    cursor = next;
    metrics.paimon_chain_last_processed_block.set(Number(next.number));
    return fresh;
  };

  /**
   * Walks back to the common ancestor and undoes what is above it; false when it must wait or
   * halt. Blocks that were not final when last checked may change (an ordinary reorganisation,
   * however late we see it); a change to a final one, or one older than we remember, halts.
   */
  const reorganise = async (): Promise<boolean> => {
    let number = cursor.number;
    for (;;) {
      const stored = await storedBlock(db, chainId, number);
      const canonical = await rpc.block(number);
      if (!canonical) {
        logger.warn("the node does not have a block we processed; waiting for it", { block: number.toString() });
        return false;
      }
      if (stored?.hash === canonical.hash) break;
      if (stored === undefined || stored.final) {
        const nodeHead = await rpc.blockNumber();
        if (nodeHead < cursor.number) {
          logger.warn("the node is behind our cursor; waiting for it", { node_head: nodeHead.toString() });
          return false;
        }
        halted = `reorganisation below finality: block ${number.toString()} changed after it was final`;
        logger.error("halting: the chain reorganised below finality", {
          block: number.toString(),
          stored_hash: stored?.hash ?? null,
          canonical_hash: canonical.hash,
        });
        return false;
      }
      number -= 1n;
    }
    if (number === cursor.number) {
      // Our cursor is still canonical: the node gave a next block that does not link to it (a
      // node serving an inconsistent view). Nothing to undo; ask again later.
      logger.warn("the node's next block does not link to our cursor, which it still has; waiting for the node", {
        block: number.toString(),
      });
      return false;
    }
    const depth = cursor.number - number;
    const ancestor = await rpc.block(number);
    if (!ancestor) return false;
    const removed = await rollBack(db, chainId, { number, hash: ancestor.hash });
    metrics.paimon_chain_reorgs_total.inc();
    metrics.paimon_chain_reorg_depth_blocks.observe(Number(depth));
    logger.warn("chain reorganisation: rolled back to the common ancestor", {
      depth: Number(depth),
      ancestor: number.toString(),
      removed_events: removed,
    });
    cursor = { number, hash: ancestor.hash };
    return true;
  };

  /**
   * One unit of work: `progressed` (a batch committed or a reorganisation undone), `idle` (at the
   * head, the chain checked), or `wait` (the node could not answer consistently, or we halted):
   * after `wait`, nothing is released, since the chain has not been checked.
   */
  const step = async (): Promise<StepOutcome> => {
    const nodeHead = await rpc.blockNumber();
    head = nodeHead;
    metrics.paimon_chain_head_block.set(Number(nodeHead));
    if (nodeHead < cursor.number) {
      logger.warn("the node is behind our cursor; waiting for it", {
        node_head: nodeHead.toString(),
        cursor: cursor.number.toString(),
      });
      return "wait";
    }
    const byDepth = nodeHead - BigInt(options.finalityDepth);
    const tagged = await rpc.finalizedNumber();
    const final = tagged === undefined || tagged > byDepth ? byDepth : tagged;
    finalized = final;
    metrics.paimon_chain_head_lag_blocks.set(Number(nodeHead - cursor.number));

    const started = performance.now();
    if (cursor.number < final) {
      // Before reading past a block we processed while it was not final, check it still stands.
      if (cursor.hash !== undefined && cursor.number >= 0n) {
        const current = await rpc.block(cursor.number);
        if (!current) return "wait";
        if (current.hash !== cursor.hash) return outcomeOf(await reorganise());
      }
      const from = cursor.number + 1n;
      const wanted = cursor.number + range < final ? cursor.number + range : final;
      const { logs, to } = await logsInRange(from, wanted);
      const end = await rpc.block(to);
      if (!end) return "wait";
      await commit(started, decode(logs), [end], { number: to, hash: end.hash }, final);
      return "progressed";
    }
    if (cursor.number < nodeHead) {
      const next = await rpc.block(cursor.number + 1n);
      if (!next) return "wait";
      if (cursor.hash !== undefined && next.parentHash !== cursor.hash) return outcomeOf(await reorganise());
      const logs = await rpc.logs({ address, blockHash: next.hash });
      await commit(started, decode(logs), [next], { number: next.number, hash: next.hash }, final);
      return "progressed";
    }
    // At the head: the block under the cursor may itself have been replaced.
    if (cursor.hash !== undefined && cursor.number >= 0n) {
      const current = await rpc.block(cursor.number);
      if (!current) return "wait";
      if (current.hash !== cursor.hash) return outcomeOf(await reorganise());
    }
    await touchCursor(db);
    return "idle";
  };

  const follow = async (signal: AbortSignal) => {
    cursor = await readCursor(db, chainId, options.startBlock);
    logger.info("following", { from_block: (cursor.number + 1n).toString(), chain_id: chainId });
    const following = () => halted === undefined;
    while (!signal.aborted && following()) {
      const outcome = await step();
      lastStepAt = Date.now();
      failure = undefined;
      // Halted: the chain changed below what was taken for final, so nothing more is released
      // to the queues — the outbox may hold settlements from blocks that are gone.
      if (!following()) return;
      if (outcome !== "wait" && finalized !== undefined) {
        // Released: what is final on the node, checked against our chain in this step, and
        // flagged final in what we remember first — so a later change to it halts.
        const released = finalized < cursor.number ? finalized : cursor.number;
        await markFinal(db, chainId, released);
        release(released);
        metrics.paimon_chain_finalized_lag_blocks.set(
          Number(finalized > cursor.number ? finalized - cursor.number : 0n),
        );
      }
      if (outcome !== "progressed") {
        metrics.paimon_outbox_backlog.set(await options.relay.backlog());
        await waitForWake(signal);
      }
    }
  };

  return {
    async run(signal) {
      try {
        await follow(signal);
      } catch (error) {
        failure = { source: isRpcFailure(error) ? "rpc" : "follower", message: messageOf(error) };
        throw error;
      } finally {
        // Whoever runs the follower next (or closes the queues) finds no relay of this one in flight.
        nextRelease = undefined;
        while (relaying) await relaying;
      }
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
    status: () => ({ head, processed: cursor.number, finalized, halted, lastStepAt, failure, redis: redisProblem }),
  };
}
