/**
 * Follows the fund contract from the cursor to the head, and keeps following.
 *
 * - Blocks already final are read in ranges (`eth_getLogs` by range, halved on the node's range
 *   errors and grown back after successes), each range one transaction. While a range commits,
 *   the next one is read (its logs, its last block's header, the timestamps its events need, and
 *   the node's head): at most one range ahead, used only if it extends exactly the cursor the
 *   commit left, and dropped (once its requests have settled) if the commit fails or the follower
 *   stops. Commits stay in chain order, one at a time, each moving the cursor to its range's end.
 * - Blocks not yet final are read one at a time, by hash (`eth_getLogs` by `blockHash`), each
 *   checked against its parent: a block whose parent is not our cursor means a reorganisation.
 *   The follower walks back through the remembered blocks to the common ancestor and undoes
 *   everything above it in one transaction. A reorganisation below finality halts the follower
 *   loudly (readiness fails, the log says so) — unless the node is merely behind us, in which
 *   case it waits for the node.
 * - Nothing here sleeps to synchronise: the loop waits for a wake-up (a new head over
 *   WebSocket) or the poll interval, whichever is first.
 * - Following never waits on Redis: after each step at the tip (and every few seconds while
 *   catching up, so that relaying does not take the writer's connection between every two ranges)
 *   the outbox relay is started in the background (one at a time, the latest releasable block
 *   remembered for the next), so a Redis that is down or stalled leaves the work in the outbox
 *   while the chain is still followed into PostgreSQL; the relay catches up once Redis answers.
 */
import type { Database } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Metrics } from "@paimon/core/metrics";
import type { Kysely } from "kysely";
import { markFinal, storedBlock } from "./block-memory";
import { createChainReader, drain, type Ahead, type FetchedRange } from "./chain-reader";
import { readCursor, touchCursor, type Cursor } from "./checkpoint";
import type { ChainEvent, EventDecoder } from "./events";
import { RedisUnavailableError, type Relay } from "./relay";
import { isRpcFailure, type BlockHeader, type RpcClient } from "./rpc";
import { commitBatch, rollBack, type Prepared } from "./store";

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

/** While catching up, how often the outbox is relayed (at the tip: after every step). */
const RELAY_WHILE_CATCHING_UP_MS = 5_000;

export function createFollower(options: FollowerOptions): Follower {
  const { rpc, db, logger, metrics, chainId } = options;
  const address = options.fundAddress.toLowerCase();
  const reader = createChainReader({
    rpc,
    chainId,
    decoder: options.decoder,
    logger,
    fundAddress: address,
    maxBlockRange: options.maxBlockRange,
  });
  let cursor: Cursor = { number: BigInt(options.startBlock) - 1n, hash: undefined };
  let head: bigint | undefined;
  let finalized: bigint | undefined;
  let halted: string | undefined;
  let lastStepAt: number | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  let failure: FollowerStatus["failure"];
  /** The relay in flight, the block to release once it is done, and why Redis is failing. */
  let relaying: Promise<void> | undefined;
  let nextRelease: bigint | undefined;
  let redisProblem: string | undefined;
  let relayFailing = false;
  /** The range being read ahead, while the one before it commits. */
  let ahead: Ahead | undefined;
  /** When the relay was last started (performance.now()). */
  let releasedAt = 0;

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

  const commit = async (
    started: number,
    batch: {
      readonly from: bigint;
      readonly events: ChainEvent[];
      readonly blocks: BlockHeader[];
      readonly timestamps: Map<bigint, number>;
      readonly prepared?: Prepared;
      readonly fetchMs: number;
      readonly waitedMs: number;
    },
    next: { number: bigint; hash: string },
    final: bigint,
  ) => {
    const committing = performance.now();
    const fresh = await commitBatch(db, {
      chainId,
      events: batch.events,
      timestamps: batch.timestamps,
      blocks: batch.blocks,
      cursor: next,
      finalized: final,
      ...(batch.prepared ? { prepared: batch.prepared } : {}),
    });
    const done = performance.now();
    const seconds = (done - started) / 1000;
    for (const type of new Set(batch.events.map((e) => e.event.type))) {
      metrics.paimon_event_processing_duration_seconds.observe({ event_type: type }, seconds);
    }
    cursor = next;
    metrics.paimon_chain_last_processed_block.set(Number(next.number));
    // Where a batch's time went: reading it (hidden behind the previous commit when read ahead),
    // waiting for that read, and committing.
    logger.debug("committed", {
      first_block: batch.from.toString(),
      last_block: next.number.toString(),
      events: batch.events.length,
      fresh,
      fetch_ms: Math.round(batch.fetchMs),
      waited_ms: Math.round(batch.waitedMs),
      commit_ms: Math.round(done - committing),
    });
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
    const read = ahead;
    ahead = undefined;
    let used = false;
    // Not catching up: the block after the cursor is asked for beside the node's head, which is
    // what a step at the tip asks next (one round trip to the node fewer per block).
    const tip = read ? undefined : rpc.block(cursor.number + 1n);
    tip?.catch(() => undefined);
    try {
      const view = read ? await read.view : await reader.observe();
      const nodeHead = view.head;
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
      const final = view.tagged === undefined || view.tagged > byDepth ? byDepth : view.tagged;
      finalized = final;
      metrics.paimon_chain_head_lag_blocks.set(Number(nodeHead - cursor.number));

      const started = performance.now();
      if (cursor.number < final) {
        let fetched: FetchedRange | undefined;
        let waitedMs = 0;
        if (read && read.after.number === cursor.number && read.after.hash === cursor.hash) {
          used = true;
          fetched = await read.range;
          waitedMs = performance.now() - started;
          // Read past what the node now calls final (its finality went back): read again.
          if (fetched && fetched.to > final) fetched = undefined;
        }
        if (!fetched) {
          // Before reading past a block we processed while it was not final, check it still
          // stands. (A range read ahead extends a block read as final: none to check.)
          if (cursor.hash !== undefined && cursor.number >= 0n) {
            const current = await rpc.block(cursor.number);
            if (!current) return "wait";
            if (current.hash !== cursor.hash) return outcomeOf(await reorganise());
          }
          const reading = performance.now();
          fetched = await reader.fetchRange(cursor.number + 1n, reader.rangeEnd(cursor.number, final));
          if (!fetched) return "wait";
          waitedMs += performance.now() - reading;
        }
        const next = { number: fetched.to, hash: fetched.end.hash };
        if (next.number < final) ahead = reader.readAhead(next, final);
        await commit(started, { ...fetched, blocks: [fetched.end], waitedMs }, next, final);
        return "progressed";
      }
      if (cursor.number < nodeHead) {
        // Asked for as the head was, it may have come just before the block did: ask again.
        const next = (await tip) ?? (await rpc.block(cursor.number + 1n));
        if (!next) return "wait";
        if (cursor.hash !== undefined && next.parentHash !== cursor.hash) return outcomeOf(await reorganise());
        const logs = await rpc.logs({ address, blockHash: next.hash });
        const events = reader.decode(logs);
        const fetchMs = performance.now() - started;
        const batch = { from: next.number, events, blocks: [next], fetchMs, waitedMs: fetchMs };
        await commit(started, { ...batch, timestamps: await reader.timestamps(events, [next]) }, next, final);
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
    } finally {
      // A read ahead that did not fit the cursor is dropped, once its requests have settled; so
      // is the next block, when the step did not need it.
      if (read && !used) await drain(read);
      await tip?.catch(() => undefined);
    }
  };

  const follow = async (signal: AbortSignal) => {
    cursor = await readCursor(db, chainId, options.startBlock);
    releasedAt = performance.now();
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
        // Catching up (a range committed, the next one being read), the relay's reads and writes
        // would take the writer's connection between every two ranges: it runs every so often
        // instead, and after the last range.
        const catchingUp = ahead !== undefined;
        if (!catchingUp || performance.now() - releasedAt >= RELAY_WHILE_CATCHING_UP_MS) {
          releasedAt = performance.now();
          release(released);
        }
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
        // Whoever runs the follower next (or closes the queues) finds no relay of this one in
        // flight, nor a read ahead: after a failed commit, the range read past it is dropped.
        const dropped = ahead;
        ahead = undefined;
        if (dropped) await drain(dropped);
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
