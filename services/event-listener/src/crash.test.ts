/**
 * The listener SIGKILLed at random moments while the fund keeps emitting: before it listens,
 * while it waits for the lock, in the middle of catching up. Whatever moment the kill lands on,
 * a batch is all or nothing and a replay is idempotent, so once one listener runs to the head
 * the database holds exactly the chain's events, the contract's redemptions, and every piece of
 * work queued exactly once.
 */
import { randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { Channel, RedemptionStatus } from "@paimon/contracts";
import type { Database } from "@paimon/core/db";
import type { Kysely } from "kysely";
import { describe, expect, vi } from "vitest";
import { test } from "./fixture";
import { PRIORITY } from "@paimon/core/queues";
import { CHECKPOINT } from "./checkpoint";
import {
  eventsOnChain,
  listenerEnv,
  mineBlocks,
  produceFundActivity,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursor,
  waitForLine,
  type ListenerProcess,
} from "./testing";
import { seededRandom } from "@paimon/core/testing/random";

const ROUNDS = 20;
/** Of every five rounds, three kill at a moment timed from the spawn, two from "following". */
const FROM_FOLLOWING = new Set([1, 3]);
/** Kills timed from the spawn land anywhere in the start-up: loading, checks, the lock. */
const MAX_DELAY_FROM_SPAWN_MS = 2_000;
/** Kills timed from "following" land in the catch-up over what the producer added meanwhile. */
const MAX_DELAY_FROM_FOLLOWING_MS = 500;

// A failure is replayed with CRASH_SEED=<the printed seed>: the kill schedule and the producer's
// choices follow from it (the producer's timing against the kills does not).
// eslint-disable-next-line no-restricted-properties -- a test's replay switch, not configuration
const SEED = Number(process.env["CRASH_SEED"] ?? randomInt(2 ** 31));

interface Round {
  readonly from: "spawn" | "following";
  readonly delayMs: number;
  /** How far the process got before the kill: its last milestone log line. */
  readonly reached: string;
  /** Blocks between the cursor and the head right after the kill. */
  readonly behind: number;
  readonly killed: boolean;
  readonly exit: { code: number | null; signal: NodeJS.Signals | null };
  readonly stderr: string;
}

const MILESTONES = [
  "listening",
  "another instance is the writer; waiting for its lock",
  "writer lock acquired",
  "following",
];

async function killAtRandom(
  listener: ListenerProcess,
  from: Round["from"],
  random: () => number,
): Promise<Omit<Round, "behind">> {
  const delayMs = Math.floor(random() * (from === "following" ? MAX_DELAY_FROM_FOLLOWING_MS : MAX_DELAY_FROM_SPAWN_MS));
  if (from === "following") await Promise.race([waitForLine(listener, "following"), listener.exited]);
  // The one timer: the kill's moment is the random variable, not a wait for a condition.
  await delay(delayMs);
  const killed = listener.child.exitCode === null && listener.child.signalCode === null;
  if (killed) listener.child.kill("SIGKILL");
  const exit = await listener.exited;
  const messages = new Set(listener.lines().map((line) => line["message"]));
  const reached = MILESTONES.filter((message) => messages.has(message)).at(-1) ?? "nothing";
  return {
    from,
    delayMs,
    reached,
    killed,
    exit,
    stderr: listener.output().stderr,
  };
}

async function cursorOf(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("sync_checkpoints")
    .select("block_number")
    .where("name", "=", CHECKPOINT)
    .executeTakeFirst();
  return row ? Number(row.block_number) : -1;
}

describe("the event listener killed at random moments", () => {
  test(`when it is SIGKILLed ${String(ROUNDS)} times while events flow, then one run to the head leaves every event, redemption and job exactly once`, async ({
    chain,
    database,
  }) => {
    console.info(`crash test seed ${String(SEED)} (replay with CRASH_SEED=${String(SEED)})`);
    const schedule = seededRandom(SEED);
    const choices = seededRandom(SEED ^ 0x5bd1e995);
    // Small ranges: catching up takes many batches, so a kill lands between and inside them.
    const env = listenerEnv(chain, database.url, { MAX_BLOCK_RANGE: "2" });
    const queues = testQueues(env.QUEUE_PREFIX);
    const producing = new AbortController();
    const producer = produceFundActivity(chain, choices, producing.signal);
    producer.catch(() => undefined);
    const rounds: Round[] = [];
    let last: ListenerProcess | undefined;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        last = spawnListener(env);
        const killed = await killAtRandom(last, FROM_FOLLOWING.has(round % 5) ? "following" : "spawn", schedule);
        const [head, cursor] = await Promise.all([chain.provider.getBlockNumber(), cursorOf(database.db)]);
        rounds.push({ ...killed, behind: head - cursor });
      }
      producing.abort();
      const transactions = await producer;

      // Each process died of its SIGKILL — or had ended before it was sent (reported below).
      expect(
        rounds.filter((round) => round.killed && round.exit.signal !== "SIGKILL"),
        `seed ${String(SEED)}`,
      ).toEqual([]);
      const ended = rounds.filter((round) => !round.killed);
      const reached = new Map<string, number>();
      for (const round of rounds) reached.set(round.reached, (reached.get(round.reached) ?? 0) + 1);
      const catchingUp = rounds.filter((round) => round.reached === "following" && round.behind > 0);
      console.info(
        `${String(transactions)} transactions; last milestone before the kill: ${[...reached]
          .map(([milestone, count]) => `"${milestone}" ×${String(count)}`)
          .join(", ")}; killed while catching up ×${String(catchingUp.length)} (behind by ${catchingUp
          .map((round) => round.behind)
          .join(", ")} blocks); ended before the kill ×${String(ended.length)}${ended
          .map((round) => ` ${JSON.stringify(round)}`)
          .join("")}`,
      );

      // Past the finality depth (2), so that every settlement is releasable.
      await mineBlocks(chain, 3);
      const head = await chain.provider.getBlockNumber();
      // The survivor reads what is left in one range, over whatever the killed ones committed.
      last = spawnListener({ ...env, MAX_BLOCK_RANGE: "2000" });
      await waitForCursor(database.db, head);
      await vi.waitFor(
        async () => {
          const unsent = await database.db.selectFrom("outbox").select("job_id").where("sent_at", "is", null).execute();
          expect(unsent).toEqual([]);
        },
        { timeout: 15_000 },
      );

      const truth = await eventsOnChain(chain);
      const stored = await database.db
        .selectFrom("chain_events")
        .select(["block_hash", "log_index", "event_type"])
        .orderBy("block_number")
        .orderBy("log_index")
        .execute();
      expect(stored.map((e) => [e.block_hash, e.log_index, e.event_type])).toEqual(
        truth.map((e) => [e.blockHash, e.logIndex, e.name]),
      );

      const redemptions = await database.db.selectFrom("redemptions").select(["id", "status"]).execute();
      const count = (await chain.fund.nextRedemptionId()) - 1n;
      expect(redemptions).toHaveLength(Number(count));
      const onChain = await Promise.all(
        redemptions.map(async (r) => [r.id, Number((await chain.fund.redemption(BigInt(r.id))).status)] as const),
      );
      const statusOf = {
        requested: RedemptionStatus.Requested,
        settled: RedemptionStatus.Settled,
        cancelled: RedemptionStatus.Cancelled,
      };
      expect(onChain).toEqual(redemptions.map((r) => [r.id, statusOf[r.status]]));

      const outbox = await database.db
        .selectFrom("outbox")
        .select(["queue", "job_id", "sent_at", "block_hash"])
        .execute();
      const eventBlocks = new Set(stored.map((e) => e.block_hash));
      expect(
        outbox.filter((row) => row.sent_at === null || row.block_hash === null || !eventBlocks.has(row.block_hash)),
      ).toEqual([]);
      const requested = truth.filter((e) => e.name === "RedemptionRequested");
      expect(outbox.filter((row) => row.queue === "settlements")).toHaveLength(requested.length);
      expect(outbox.filter((row) => row.queue === "risk")).toHaveLength(eventBlocks.size);

      // Every queue holds as many jobs as it has outbox rows: none lost, none made twice.
      for (const queue of queues.queues) {
        const counts = Object.values(await queue.getJobCounts());
        expect(
          counts.reduce((sum, n) => sum + n, 0),
          queue.name,
        ).toBe(outbox.filter((row) => row.queue === queue.name).length);
      }
      const settlements = queues.queues.find((queue) => queue.name === "settlements");
      const jobs = await settlements!.getJobs();
      expect(jobs.map((job) => [job.id, job.opts.priority]).sort()).toEqual(
        requested
          .map((e) => [
            `redemption-${String(chain.devnet.chainId)}-${String(e.args[0])}`,
            Number(e.args[4]) === Channel.Instant ? PRIORITY.high : PRIORITY.low,
          ])
          .sort(),
      );
    } finally {
      producing.abort();
      await producer.catch(() => undefined);
      if (last) await stopListener(last);
      await queues.clean();
    }
    expect((await last.exited).code).toBe(0);
    // Twenty-one tsx starts in a row, each up to 10–20 s on a loaded 2-core machine.
  }, 400_000);
});
