import { once } from "node:events";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHAIN_COMMIT_CHANNEL,
  CommitSignalError,
  notifyChainCommit,
  notifyRiskCommit,
  parseCommitSignal,
  RISK_COMMIT_CHANNEL,
} from "./commit-signal";
import { LISTENER_CHECKPOINT } from "./db";
import { createTestDatabase, type TestDatabase } from "./testing/database";

let database: TestDatabase;
let listener: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  await listener.query(`listen ${CHAIN_COMMIT_CHANNEL}`);
  await listener.query(`listen ${RISK_COMMIT_CHANNEL}`);
});
afterAll(async () => {
  await listener.end();
  await database.drop();
});

const next = async () => {
  const [message] = (await once(listener, "notification")) as [pg.Notification];
  return parseCommitSignal(message.channel, message.payload);
};

describe("the commit signal", () => {
  it("when the listener's transaction commits, then its checkpoint arrives as that transaction left it; a rolled-back one announces nothing", async () => {
    const write = (block: string, hash: string) =>
      database.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("sync_checkpoints")
          .values({ name: LISTENER_CHECKPOINT, chain_id: 56, block_number: block, block_hash: hash })
          .onConflict((oc) => oc.column("name").doUpdateSet({ block_number: block, block_hash: hash }))
          .execute();
        await notifyChainCommit(trx);
        if (block === "7") throw new Error("the batch fails after its signal was sent");
      });
    const arrived = next();
    await expect(write("7", "0x07")).rejects.toThrow("the batch fails");
    await write("8", "0x08");
    // Notifications come in commit order: had the rolled-back one been delivered, it would be first.
    const signal = await arrived;
    const stored = await database.db
      .selectFrom("sync_checkpoints")
      .select("updated_at")
      .where("name", "=", LISTENER_CHECKPOINT)
      .executeTakeFirstOrThrow();
    expect(signal).toEqual({
      channel: CHAIN_COMMIT_CHANNEL,
      checkpoint: { blockNumber: "8", blockHash: "0x08", updatedAt: stored.updated_at },
    });
  });

  it("when the risk monitor commits, then the block it recorded or forgot arrives", async () => {
    const arrived = next();
    await database.metricsDb
      .transaction()
      .execute((trx) =>
        notifyRiskCommit(trx, { change: "forgotten", chainId: 56, blockNumber: "9", blockHash: "0x09" }),
      );
    expect(await arrived).toEqual({
      channel: RISK_COMMIT_CHANNEL,
      change: "forgotten",
      chainId: 56,
      blockNumber: "9",
      blockHash: "0x09",
    });
  });

  it("when a payload breaks the contract, then parsing names the channel and every bad field", () => {
    expect(() => parseCommitSignal(CHAIN_COMMIT_CHANNEL, "not json")).toThrow(
      new CommitSignalError(`${CHAIN_COMMIT_CHANNEL}: the payload is not JSON`),
    );
    expect(() =>
      parseCommitSignal(CHAIN_COMMIT_CHANNEL, JSON.stringify({ block_number: "x", block_hash: "0x1", updated_at: 3 })),
    ).toThrow(/^paimon_chain_commit: block_number: must be a decimal block number; updated_at: /);
    expect(() => parseCommitSignal(RISK_COMMIT_CHANNEL, "{}")).toThrow(
      /change: .*chain_id: .*block_number: .*block_hash: /,
    );
    expect(() => parseCommitSignal("elsewhere", "{}")).toThrow(/^elsewhere: not a commit channel/);
  });
});
