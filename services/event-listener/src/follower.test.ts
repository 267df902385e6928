/**
 * The follower's backfill pipeline, in-process against a real devnet, PostgreSQL and Redis: the
 * next range is read while the current one commits, at most one ahead; commits stay in chain
 * order and each leaves the cursor exactly at its range's end; a failed commit drops the range
 * read past it and the next run reads again from the committed cursor; stopping waits for the
 * read ahead to settle and commits none of it. The node is the real devnet, seen through a
 * recorder (which can hold an answer back), as a slow node would be.
 */
import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { Channel } from "@paimon/contracts";
import { CHAIN_COMMIT_CHANNEL, parseCommitSignal } from "@paimon/core/commit-signal";
import type { Database } from "@paimon/core/db";
import { createLogger } from "@paimon/core/logger";
import { createRedisClient, type RedisClient } from "@paimon/core/redis";
import { createTestDatabase } from "@paimon/core/testing";
import { sql, type Kysely } from "kysely";
import pg from "pg";
import { describe, expect, vi } from "vitest";
import { test as base } from "./fixture";
import { CHECKPOINT } from "./checkpoint";
import { createEventDecoder } from "./events";
import { createFollower, type Follower } from "./follower";
import { createListenerMetrics } from "./metrics";
import { createRelay, type Relay } from "./relay";
import { createRpcClient, type RpcClient } from "./rpc";
import { asHolder, eventsOnChain, REDIS_URL, testQueues, type Chain } from "./testing";

const MAX_BLOCK_RANGE = 3;
const FINALITY_DEPTH = 1;
/** Blocks with a redemption request each, before the follower starts: several ranges' worth. */
const BLOCKS_OF_EVENTS = 14;
const WAIT = { timeout: 30_000, interval: 20 } as const;

interface LogsCall {
  readonly from: bigint;
  readonly to: bigint;
  settled: boolean;
}

/** The node as the follower sees it, every call recorded; `hold(from)` keeps that range's logs back. */
function recordingNode(inner: RpcClient) {
  const logsCalls: LogsCall[] = [];
  let inFlight = 0;
  const held = new Map<bigint, { gate: Promise<void>; open: () => void }>();
  const track = async <T>(call: () => Promise<T>): Promise<T> => {
    inFlight += 1;
    try {
      return await call();
    } finally {
      inFlight -= 1;
    }
  };
  const rpc: RpcClient = {
    endpoint: inner.endpoint,
    call: (method, params) => track(() => inner.call(method, params)),
    chainId: () => track(() => inner.chainId()),
    blockNumber: () => track(() => inner.blockNumber()),
    finalizedNumber: () => track(() => inner.finalizedNumber()),
    block: (tag) => track(() => inner.block(tag)),
    logs: (filter) =>
      track(async () => {
        if (!("fromBlock" in filter)) return inner.logs(filter);
        const call: LogsCall = {
          from: filter.fromBlock,
          to: filter.toBlock,
          settled: false,
        };
        logsCalls.push(call);
        try {
          await held.get(filter.fromBlock)?.gate;
          return await inner.logs(filter);
        } finally {
          call.settled = true;
        }
      }),
  };
  return {
    rpc,
    logsCalls,
    inFlight: () => inFlight,
    hold(from: bigint) {
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      held.set(from, { gate, open });
      return () => {
        open();
      };
    },
  };
}

/** Every checkpoint the listener commits, in commit order, as its commit signal announces it. */
async function listenToCommits(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const checkpoints: { number: bigint; hash: string }[] = [];
  client.on("notification", (message) => {
    const signal = parseCommitSignal(message.channel, message.payload);
    if (signal.channel === CHAIN_COMMIT_CHANNEL) {
      checkpoints.push({
        number: BigInt(signal.checkpoint.blockNumber),
        hash: signal.checkpoint.blockHash,
      });
    }
  });
  await client.query(`listen ${CHAIN_COMMIT_CHANNEL}`);
  return { checkpoints, close: () => client.end() };
}

/** The file's history on the devnet, mined before its first test: the head after it, and the last final block. */
const test = base.extend("history", { scope: "file" }, async ({ chain }) => {
  const [holder] = chain.holders;
  if (!holder) throw new Error("no holder");
  for (let i = 0; i < BLOCKS_OF_EVENTS; i++) {
    await (await asHolder(chain, holder).requestRedemption(BigInt(1_000 + i), Channel.Standard)).wait();
  }
  const head = BigInt(await chain.provider.getBlockNumber());
  return { head, final: head - BigInt(FINALITY_DEPTH) };
});

/** A follower of its own (database, queue prefix, recorded node, captured debug lines). */
async function rig(chain: Chain) {
  const database = await createTestDatabase();
  const node = recordingNode(createRpcClient({ url: chain.devnet.httpUrl }));
  const prefix = `paimon-test-follower-${String(Date.now())}-${String(Math.random()).slice(2, 8)}`;
  const connection: RedisClient = createRedisClient(REDIS_URL, {
    role: "queue-producer",
  });
  await connection.connect();
  const relay: Relay = createRelay({ db: database.db, connection, prefix });
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line.startsWith("{")) lines.push(JSON.parse(line) as never);
      done();
    },
  });
  const follower: Follower = createFollower({
    rpc: node.rpc,
    db: database.db,
    relay,
    decoder: createEventDecoder(),
    logger: createLogger({
      service: "paimon-event-listener",
      environment: "test",
      level: "debug",
      stream,
    }),
    metrics: createListenerMetrics().metrics,
    chainId: chain.devnet.chainId,
    fundAddress: chain.address,
    startBlock: 0,
    finalityDepth: FINALITY_DEPTH,
    maxBlockRange: MAX_BLOCK_RANGE,
    pollIntervalMs: 200,
  });
  const commits = await listenToCommits(database.url);
  return {
    database,
    node,
    follower,
    lines,
    commits,
    committed: () => lines.filter((line) => line["message"] === "committed"),
    async close() {
      await commits.close();
      await relay.close();
      await connection.quit();
      await testQueues(prefix).clean();
      await database.drop();
    },
  };
}

async function cursorOf(db: Kysely<Database>): Promise<bigint> {
  const row = await db
    .selectFrom("sync_checkpoints")
    .select("block_number")
    .where("name", "=", CHECKPOINT)
    .executeTakeFirst();
  return row ? BigInt(row.block_number) : -1n;
}

const storedEvents = async (db: Kysely<Database>) =>
  (
    await db
      .selectFrom("chain_events")
      .select(["block_hash", "log_index", "event_type"])
      .orderBy("block_number")
      .orderBy("log_index")
      .execute()
  ).map((e) => [e.block_hash, e.log_index, e.event_type]);

const truth = async (chain: Chain) => (await eventsOnChain(chain)).map((e) => [e.blockHash, e.logIndex, e.name]);

/** The ranges the follower would read from block 0 to `final`, none narrowed. */
const expectedRanges = (final: bigint) => {
  const ranges: [bigint, bigint][] = [];
  for (let from = 0n; from <= final; from += BigInt(MAX_BLOCK_RANGE)) {
    const to = from + BigInt(MAX_BLOCK_RANGE) - 1n;
    ranges.push([from, to < final ? to : final]);
  }
  return ranges;
};

/** Whether some session of this database is waiting on a lock: the follower's commit, held up. */
async function commitWaiting(db: Kysely<Database>): Promise<boolean> {
  const row = await sql<{ waiting: boolean }>`
    select exists (select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock') as waiting`.execute(
    db,
  );
  return row.rows[0]?.waiting === true;
}

/**
 * Runs the follower until its second range's commit is held up: the cursor row (written by the
 * first range) is locked by another session, then the second range's logs — held back until
 * then — are let through, and the follower commits them into the lock.
 */
async function holdSecondCommit(r: Awaited<ReturnType<typeof rig>>, ranges: readonly [bigint, bigint][]) {
  const [first, second] = ranges;
  if (!first || !second) throw new Error("the history is too short for two ranges");
  const openSecond = r.node.hold(second[0]);
  const stop = new AbortController();
  const running = r.follower.run(stop.signal);
  running.catch(() => undefined);
  const locker = new pg.Client({ connectionString: r.database.url });
  await locker.connect();
  await vi.waitFor(async () => {
    expect(await cursorOf(r.database.db)).toBe(first[1]);
  }, WAIT);
  await locker.query("begin");
  await locker.query("select * from sync_checkpoints where name = $1 for update", [CHECKPOINT]);
  openSecond();
  await vi.waitFor(async () => {
    expect(await commitWaiting(r.database.db)).toBe(true);
  }, WAIT);
  let released = false;
  return {
    stop,
    running,
    async release() {
      if (released) return;
      released = true;
      await locker.query("rollback");
      await locker.end();
    },
  };
}

/** The checkpoints announced, each once (an idle step announces the same one again). */
const distinct = (checkpoints: readonly { number: bigint; hash: string }[]) =>
  checkpoints.filter((c, index) => index === 0 || c.number !== checkpoints[index - 1]?.number);

describe("the follower's backfill, reading the next range while the current one commits", () => {
  test("when a range's commit is held up, then the next range is read meanwhile, and no further one; commits keep chain order and the cursor each range's end", async ({
    chain,
    history: { head, final },
  }) => {
    const r = await rig(chain);
    const ranges = expectedRanges(final);
    const [first, , third, fourth] = ranges;
    if (!first || !third || !fourth) throw new Error("the history is too short for four ranges");
    const held = await holdSecondCommit(r, ranges);
    try {
      // The second range's commit waits on the lock; the third is read meanwhile, and no fourth.
      await vi.waitFor(() => {
        expect(r.node.logsCalls.find((call) => call.from === third[0])?.settled).toBe(true);
        expect(r.node.inFlight()).toBe(0);
      }, WAIT);
      expect(await commitWaiting(r.database.db)).toBe(true);
      expect(await cursorOf(r.database.db)).toBe(first[1]);
      expect(r.node.logsCalls.some((call) => call.from === fourth[0])).toBe(false);
      await held.release();

      await vi.waitFor(async () => {
        expect(await cursorOf(r.database.db)).toBe(head);
      }, WAIT);
      held.stop.abort();
      await held.running;

      expect(await storedEvents(r.database.db)).toEqual(await truth(chain));
      // Every range read once, in order, tiling the final blocks.
      expect(r.node.logsCalls.map((call) => [call.from, call.to])).toEqual(ranges);
      // Committed in chain order, ranges and then the tip one block at a time, without a gap.
      const committed = r
        .committed()
        .map((line) => [BigInt(String(line["first_block"])), BigInt(String(line["last_block"]))]);
      expect(committed.slice(0, ranges.length)).toEqual(ranges);
      expect(committed.at(-1)?.[1]).toBe(head);
      for (const [index, [from]] of committed.entries()) {
        expect(from).toBe(index === 0 ? 0n : (committed[index - 1]?.[1] ?? 0n) + 1n);
      }
      // Each commit left the cursor at its batch's end, with that block's hash.
      await vi.waitFor(() => {
        expect(distinct(r.commits.checkpoints).map((c) => c.number)).toEqual(committed.map(([, to]) => to));
      }, WAIT);
      for (const checkpoint of r.commits.checkpoints) {
        expect(checkpoint.hash).toBe((await chain.provider.getBlock(Number(checkpoint.number)))?.hash);
      }
    } finally {
      held.stop.abort();
      await held.release();
      await held.running.catch(() => undefined);
      await r.close();
    }
  });

  test("when a range's commit fails, then the range read past it is dropped, and the next run reads again from the committed cursor", async ({
    chain,
    history: { head, final },
  }) => {
    const r = await rig(chain);
    const ranges = expectedRanges(final);
    const [first, second, third] = ranges;
    if (!first || !second || !third) throw new Error("the history is too short for three ranges");
    // A real failure inside the second range's transaction, once its first event is inserted.
    await sql`create table commit_faults (block_number bigint primary key)`.execute(r.database.db);
    await sql`insert into commit_faults select generate_series(${second[0].toString()}::bigint, ${second[1].toString()}::bigint)`.execute(
      r.database.db,
    );
    await sql`
      create function fail_commit() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from commit_faults where block_number = new.block_number) then
          raise exception 'commit refused at block %', new.block_number;
        end if;
        return new;
      end $$`.execute(r.database.db);
    await sql`create trigger fail_commit before insert on chain_events for each row execute function fail_commit()`.execute(
      r.database.db,
    );
    try {
      const failed = await r.follower.run(new AbortController().signal).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(String(failed)).toContain("commit refused at block");
      // The third range was read while the second committed, and had settled when the run ended.
      expect(r.node.logsCalls.find((call) => call.from === third[0])?.settled).toBe(true);
      expect(r.node.inFlight()).toBe(0);
      expect(await cursorOf(r.database.db)).toBe(first[1]);
      expect(
        await r.database.db
          .selectFrom("chain_events")
          .select("block_number")
          .where("block_number", ">", first[1].toString())
          .execute(),
      ).toEqual([]);

      await sql`delete from commit_faults`.execute(r.database.db);
      const before = r.node.logsCalls.length;
      const stop = new AbortController();
      const running = r.follower.run(stop.signal);
      await vi.waitFor(async () => {
        expect(await cursorOf(r.database.db)).toBe(head);
      }, WAIT);
      stop.abort();
      await running;
      // Read again from the committed cursor: the dropped third range is not used.
      expect(r.node.logsCalls.slice(before).map((call) => [call.from, call.to])).toEqual(ranges.slice(1));
      expect(await storedEvents(r.database.db)).toEqual(await truth(chain));
      const settlements = await r.database.db
        .selectFrom("outbox")
        .select("job_id")
        .where("queue", "=", "settlements")
        .execute();
      expect(settlements).toHaveLength(
        (await truth(chain)).filter(([, , name]) => name === "RedemptionRequested").length,
      );
    } finally {
      await r.close();
    }
  });

  test("when it stops while the next range is being read, then it settles only once that read has, and commits none of it", async ({
    chain,
    history: { final },
  }) => {
    const r = await rig(chain);
    const ranges = expectedRanges(final);
    const [, second, third] = ranges;
    if (!second || !third) throw new Error("the history is too short for three ranges");
    const openThird = r.node.hold(third[0]);
    const held = await holdSecondCommit(r, ranges);
    let inFlightAtSettle: number | undefined;
    const settled = held.running.then(() => {
      inFlightAtSettle = r.node.inFlight();
    });
    try {
      // The second range is committing (held up) and the third is being read (held back): stop.
      await vi.waitFor(() => {
        expect(r.node.logsCalls.some((call) => call.from === third[0])).toBe(true);
      }, WAIT);
      held.stop.abort();
      await held.release();
      await vi.waitFor(async () => {
        expect(await cursorOf(r.database.db)).toBe(second[1]);
      }, WAIT);
      // Settling now would leave the held read in flight. Its answer is let through a while
      // later (a follower that did not wait for it has settled by then: this only bounds that).
      await Promise.race([settled, delay(1_000)]);
      openThird();
      await settled;
      expect(inFlightAtSettle).toBe(0);
      expect(r.node.logsCalls.find((call) => call.from === third[0])?.settled).toBe(true);
      expect(await cursorOf(r.database.db)).toBe(second[1]);
      expect(
        await r.database.db
          .selectFrom("chain_events")
          .select("block_number")
          .where("block_number", ">", second[1].toString())
          .execute(),
      ).toEqual([]);
    } finally {
      openThird();
      held.stop.abort();
      await held.release();
      await held.running.catch(() => undefined);
      await r.close();
    }
  });
});
