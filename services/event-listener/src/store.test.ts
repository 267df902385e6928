/**
 * The store against a real PostgreSQL, without a chain: each event type's effect and its undo,
 * over random histories. For any history committed in any batches (a batch sometimes replayed
 * whole, or read again from the batch before's start) and rolled back to any block, the books are exactly those of the surviving blocks committed
 * alone — so every undo is the inverse of its apply, whatever else shared its batch.
 */
import type { Database } from "@paimon/core/db";
import fc from "fast-check";
import { sql, type Kysely } from "kysely";
import { describe, expect } from "vitest";
import { test } from "./fixture";
import { ALL_EVENT_TYPES, type FundEvent, type FundEventType, type WriteMode } from "./event-types";
import type { ChainEvent } from "./events";
import { commitBatch, PLAIN_INSERTS_FROM_EVENTS, rollBack } from "./store";

const CHAIN_ID = 31337;
const OWNER = `0x${"ab".repeat(20)}`;
const TIME_ZERO = 1_800_000_000;

const blockHash = (number: number) => `0x${number.toString(16).padStart(64, "0")}`;
const txHash = (number: number, index: number) =>
  `0x${number.toString(16).padStart(32, "0")}${index.toString(16).padStart(32, "0")}`;
const header = (number: number) => ({
  number: BigInt(number),
  hash: blockHash(number),
  parentHash: blockHash(number - 1),
  timestamp: TIME_ZERO + number,
});

async function empty(db: Kysely<Database>): Promise<void> {
  for (const table of ["chain_events", "redemptions", "fund_snapshots", "outbox", "chain_blocks", "sync_checkpoints"]) {
    await sql`delete from ${sql.table(table)}`.execute(db);
  }
}

/** Commits blocks `first`..`last` (their events, as the chain made them) as one batch. */
function commitBlocks(
  db: Kysely<Database>,
  blocks: readonly (readonly FundEvent[])[],
  first: number,
  last: number,
  options: Parameters<typeof commitBatch>[2] = {},
): Promise<number> {
  const events: ChainEvent[] = [];
  const timestamps = new Map<bigint, number>();
  for (let number = first; number <= last; number++) {
    timestamps.set(BigInt(number), TIME_ZERO + number);
    for (const [index, event] of (blocks[number] ?? []).entries()) {
      events.push({
        blockNumber: BigInt(number),
        blockHash: blockHash(number),
        logIndex: index,
        txHash: txHash(number, index),
        event,
      });
    }
  }
  return commitBatch(
    db,
    {
      chainId: CHAIN_ID,
      events,
      timestamps,
      blocks: [header(last)],
      cursor: { number: BigInt(last), hash: blockHash(last) },
      finalized: 0n,
    },
    options,
  );
}

/** Everything the listener writes, less what only says when it was written. */
async function books(db: Kysely<Database>) {
  const [events, redemptions, snapshots, outbox, checkpoint] = await Promise.all([
    db
      .selectFrom("chain_events")
      .select(["block_number", "block_hash", "log_index", "tx_hash", "event_type", "payload"])
      .orderBy("block_number")
      .orderBy("log_index")
      .execute(),
    db
      .selectFrom("redemptions")
      .select([
        "id",
        "owner",
        "shares",
        "assets",
        "channel",
        "status",
        "requested_block",
        "requested_tx",
        "resolved_block",
        "created_at",
      ])
      .orderBy("id")
      .execute(),
    db
      .selectFrom("fund_snapshots")
      .select(["recorded_at", "block_number", "nav", "l1_value", "l2_value", "l3_value", "block_hash", "log_index"])
      .orderBy("block_number")
      .orderBy("log_index")
      .execute(),
    db
      .selectFrom("outbox")
      .select(["queue", "job_id", "priority", "payload", "block_number", "block_hash", "await_finality", "sent_at"])
      .orderBy("job_id")
      .execute(),
    db.selectFrom("sync_checkpoints").select(["block_number", "block_hash"]).execute(),
  ]);
  return { events, redemptions, snapshots, outbox, checkpoint };
}

/** One event of each type, given what is pending: how a test makes any kind of event. */
const SAMPLES = {
  Deposited: (n) => ({
    type: "Deposited",
    owner: OWNER,
    assets: `${String(n)}.5`,
    shares: `${String(n)}.25`,
  }),
  RedemptionRequested: (n) => ({
    type: "RedemptionRequested",
    id: String(n),
    owner: OWNER,
    shares: `${String(n)}.1`,
    assets: `${String(n)}.2`,
    channel: n % 2 === 0 ? "instant" : "standard",
  }),
  RedemptionSettled: (n) => ({
    type: "RedemptionSettled",
    id: String(n),
    owner: OWNER,
    shares: "1.0",
    assets: "2.0",
  }),
  RedemptionCancelled: (n) => ({
    type: "RedemptionCancelled",
    id: String(n),
    owner: OWNER,
    shares: "1.0",
  }),
  LayerBalancesUpdated: (n) => ({
    type: "LayerBalancesUpdated",
    l1: `${String(n)}.0`,
    l2: "2.0",
    l3: "3.0",
    nav: `${String(n + 5)}.0`,
  }),
  RebalanceExecuted: (n) => ({
    type: "RebalanceExecuted",
    executionId: `0x${n.toString(16).padStart(64, "0")}`,
    fromLayer: 1,
    toLayer: 2,
    amount: `${String(n)}.0`,
  }),
} satisfies {
  readonly [K in FundEventType]: (n: number) => Extract<FundEvent, { type: K }>;
};

const KINDS = Object.keys(SAMPLES) as FundEventType[];

/**
 * A history from the choices fast-check draws: block 0 empty, then blocks of events of any kind.
 * Settling and cancelling take a pending redemption (a request when none is pending).
 */
function historyOf(choices: readonly (readonly number[])[]): FundEvent[][] {
  const pending: number[] = [];
  let next = 1;
  const blocks: FundEvent[][] = [[]];
  for (const block of choices) {
    blocks.push(
      block.map((choice) => {
        let kind = KINDS[choice % KINDS.length] ?? "Deposited";
        const resolves = kind === "RedemptionSettled" || kind === "RedemptionCancelled";
        if (resolves && pending.length === 0) kind = "RedemptionRequested";
        if (kind === "RedemptionRequested") {
          pending.push(next);
          return SAMPLES.RedemptionRequested(next++);
        }
        if (resolves) {
          const [id] = pending.splice(choice % pending.length, 1);
          return SAMPLES[kind as "RedemptionSettled" | "RedemptionCancelled"](id ?? 0);
        }
        return SAMPLES[kind](next++);
      }),
    );
  }
  return blocks;
}

test.beforeEach(async ({ database }) => {
  await empty(database.db);
});

describe("the store's apply and undo", () => {
  test("then every event type is listed once, in an order that applies requests before what resolves them", () => {
    const types = ALL_EVENT_TYPES.map((type) => type.type);
    expect([...types].sort()).toEqual([...KINDS].sort());
    expect(types.indexOf("RedemptionRequested")).toBeLessThan(types.indexOf("RedemptionSettled"));
    expect(types.indexOf("RedemptionRequested")).toBeLessThan(types.indexOf("RedemptionCancelled"));
  });

  for (const kind of KINDS) {
    test(`when a block of ${kind} events is committed and rolled back, then the books are as before it`, async ({
      database: { db },
    }) => {
      // Block 1 requests what block 2 may resolve; block 2 holds the kind under test.
      const ids = [1, 2, 3];
      const setup = ids.map((id) => SAMPLES.RedemptionRequested(id));
      const events = ids.map((id) =>
        SAMPLES[kind](kind.startsWith("Redemption") && kind !== "RedemptionRequested" ? id : id + 10),
      );
      const blocks = [[], setup, events];
      await commitBlocks(db, blocks, 0, 1);
      const before = await books(db);
      expect(await commitBlocks(db, blocks, 2, 2)).toBe(events.length);
      const applied = await books(db);
      expect(applied.events).toHaveLength(before.events.length + events.length);
      expect(await rollBack(db, CHAIN_ID, { number: 1n, hash: blockHash(1) })).toBe(events.length);
      expect(await books(db)).toEqual(before);
    });
  }

  // From 0 events, a batch's rows are first tried as plain inserts, as a backfill range's are.
  for (const plainInsertsFrom of [0, PLAIN_INSERTS_FROM_EVENTS]) {
    test(`when a block comes back after a rollback and its risk notice was sent, then its events and redemptions are written again and the sent notice stays as it was (plain inserts from ${String(plainInsertsFrom)} events)`, async ({
      database: { db },
    }) => {
      // The events are new (the rollback took them) but a row of their work is not: plain inserts
      // give way to inserts that keep what is there.
      const blocks = [[], [SAMPLES.RedemptionRequested(1), SAMPLES.Deposited(2)]];
      await commitBlocks(db, blocks, 0, 1);
      const sentAt = new Date("2027-01-01T00:00:00.000Z");
      await db.updateTable("outbox").set({ sent_at: sentAt }).where("queue", "=", "risk").execute();
      const committed = await books(db);
      await rollBack(db, CHAIN_ID, { number: 0n, hash: blockHash(0) });
      const rolledBack = await books(db);
      expect(rolledBack.events).toEqual([]);
      expect(rolledBack.outbox.map((row) => row.queue)).toEqual(["risk"]);

      expect(await commitBlocks(db, blocks, 1, 1, { plainInsertsFrom })).toBe(2);
      const again = await books(db);
      expect(again).toEqual(committed);
      expect(again.outbox.find((row) => row.queue === "risk")?.sent_at).toEqual(sentAt);
    });
  }

  test("when a batch is new its rows go in as plain inserts, and when it is replayed they go in as a replay that changes nothing", async ({
    database: { db },
  }) => {
    const blocks = [[], [SAMPLES.RedemptionRequested(1), SAMPLES.Deposited(2)], [SAMPLES.RedemptionSettled(1)]];
    const ways: WriteMode[] = [];
    const written = (how: WriteMode) => void ways.push(how);
    expect(await commitBlocks(db, blocks, 0, 2, { plainInsertsFrom: 0, written })).toBe(3);
    const state = await books(db);
    expect(await commitBlocks(db, blocks, 0, 2, { plainInsertsFrom: 0, written })).toBe(0);
    expect(await books(db)).toEqual(state);
    // Below the threshold the savepoint is not tried: a block at the tip goes straight in.
    expect(await commitBlocks(db, [...blocks, [SAMPLES.Deposited(3)]], 3, 3, { written })).toBe(1);
    expect(ways).toEqual(["new", "replay", "replay"]);
  });

  for (const plainInsertsFrom of [0, PLAIN_INSERTS_FROM_EVENTS]) {
    test(`when a new event's redemption id is taken already, then the commit fails and nothing of the batch is written (plain inserts from ${String(plainInsertsFrom)} events)`, async ({
      database: { db },
    }) => {
      // A row no rollback left (a defect, or another chain's redemption of the same id): the
      // books must not silently keep it while the outbox hands the settlement worker the event's.
      await commitBlocks(db, [[]], 0, 0);
      await db
        .insertInto("redemptions")
        .values({
          id: "7",
          chain_id: CHAIN_ID + 1,
          owner: OWNER,
          shares: "1",
          assets: "1",
          channel: "standard",
          status: "requested",
          requested_block: "0",
          requested_tx: txHash(0, 0),
          created_at: new Date(TIME_ZERO * 1000),
        })
        .execute();
      const before = await books(db);
      await expect(
        commitBlocks(db, [[], [SAMPLES.RedemptionRequested(7)]], 1, 1, { plainInsertsFrom }),
      ).rejects.toMatchObject({ code: "23505", constraint: "redemptions_pkey" });
      expect(await books(db)).toEqual(before);
    });
  }

  test("when any history is committed in any batches and rolled back to any block, then the books are those of the surviving blocks alone", async ({
    database: { db },
  }) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.nat({ max: 1_000 }), { maxLength: 4 }), {
          minLength: 1,
          maxLength: 7,
        }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.nat({ max: 7 }),
        fc.option(fc.nat({ max: 7 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined }),
        // Plain inserts first (as a backfill range's rows), or straight to the replay's inserts.
        fc.constantFrom(0, PLAIN_INSERTS_FROM_EVENTS),
        async (choices, cuts, rawAncestor, replay, overlap, plainInsertsFrom) => {
          const blocks = historyOf(choices);
          const last = blocks.length - 1;
          const ancestor = rawAncestor % (last + 1);
          // Batches: block 0 alone, then runs of blocks ending where `cuts` says (and at the end).
          const batches: [number, number][] = [[0, 0]];
          let first = 1;
          for (let number = 1; number <= last; number++) {
            if (cuts[number] === true || number === last) {
              batches.push([first, number]);
              first = number + 1;
            }
          }

          await empty(db);
          for (const [index, [from, to]] of batches.entries()) {
            const count = (first: number) => blocks.slice(first, to + 1).reduce((sum, block) => sum + block.length, 0);
            // Read again from the batch before's start, the batch is partly stored already: only
            // its new events take effect.
            const overlapFrom = overlap === index ? batches[index - 1]?.[0] : undefined;
            expect(await commitBlocks(db, blocks, overlapFrom ?? from, to, { plainInsertsFrom })).toBe(count(from));
            // A replayed batch (a crash after its commit, before anything knew) changes nothing.
            if (replay !== undefined && replay % batches.length === index) {
              const state = await books(db);
              expect(await commitBlocks(db, blocks, from, to, { plainInsertsFrom })).toBe(0);
              expect(await books(db)).toEqual(state);
            }
          }
          const orphaned = blocks.slice(ancestor + 1).reduce((sum, block) => sum + block.length, 0);
          expect(
            await rollBack(db, CHAIN_ID, {
              number: BigInt(ancestor),
              hash: blockHash(ancestor),
            }),
          ).toBe(orphaned);
          const rolledBack = await books(db);

          await empty(db);
          for (const [from, to] of batches) {
            if (from <= ancestor) await commitBlocks(db, blocks, from, Math.min(to, ancestor));
          }
          expect(rolledBack).toEqual(await books(db));
        },
      ),
      { numRuns: 30 },
    );
  });
});
