/**
 * Rebalance and settlement execution on the devnet, through the real sender (its lane running in
 * the background): three executions at once plan once and move the value once; settlements read
 * the contract first and settle each redemption exactly once, by its own job or the cut-off.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { Channel, RedemptionStatus } from "@paimon/contracts";
import { setIntervalMining } from "@paimon/contracts/devnet";
import { DEFAULT_RISK_POLICY } from "@paimon/core/fund";
import { AppError } from "@paimon/core/errors";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalSigner } from "../signer/local";
import { createChain, type Chain } from "../sender/chain";
import { laneSessions } from "../sender/lane-session";
import { createSender, type Sender } from "../sender/sender";
import { laneIntents, startSenderChain, TEST_SENDER_SETTINGS, testLogger, type SenderChain } from "../sender/testing";
import { createSettlements, type Settlements } from "../settlements/settle";
import { createRebalanceExecutor, onChainBalances, type RebalanceExecutor } from "./execute";

let chain: SenderChain;
let database: TestDatabase;
let rpc: Chain;
let sender: Sender;
let executor: RebalanceExecutor;
let settlements: Settlements;

beforeAll(async () => {
  [chain, database] = await Promise.all([startSenderChain(), createTestDatabase()]);
  await setIntervalMining(chain.provider, 100);
  rpc = createChain({ url: chain.devnet.httpUrl, chainId: chain.devnet.chainId, timeoutMs: 10_000 });
  sender = await createSender({
    db: database.db,
    laneSession: laneSessions(database.url, () => undefined),
    chain: rpc,
    signer: createLocalSigner({ privateKey: chain.operator.privateKey, environment: "test" }),
    settings: TEST_SENDER_SETTINGS,
    logger: testLogger(),
  });
  sender.start();
  const deps = { db: database.db, chain: rpc, sender, fundAddress: chain.fundAddress, logger: testLogger() };
  executor = createRebalanceExecutor({
    ...deps,
    policy: DEFAULT_RISK_POLICY,
    minTransfer: "1000",
    onOutcome: () => Promise.resolve(),
  });
  settlements = createSettlements(deps);
}, 60_000);
afterAll(async () => {
  await sender.close();
  rpc.destroy();
  await chain.stop();
  await database.drop();
});

/**
 * How long a retried job may keep failing retryably (another execution's legs still open): inside
 * the test's own 60 s, so a failure names the error rather than a timeout.
 */
const RETRY_BOUND_MS = 50_000;
const RETRY_INTERVAL_MS = 50;

/**
 * Runs `work` as BullMQ would: again after a retryable failure, a moment later, until it succeeds
 * or the bound — generous for a loaded machine — has passed.
 */
async function withRetries<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_BOUND_MS;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof AppError && error.retryable) || Date.now() > deadline) throw error;
      await delay(RETRY_INTERVAL_MS);
    }
  }
}

describe("rebalance execution", () => {
  it("when three executions run at once, then one plans the legs, the others find nothing left to move", async () => {
    // The fund holds everything in L1: 100 / 0 / 0 against targets of 10 / 30 / 60 %.
    const before = await onChainBalances(rpc, chain.fundAddress);
    const startNonce = await chain.provider.getTransactionCount(chain.operator.address, "latest");
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await database.db
      .insertInto("rebalance_executions")
      .values(
        ids.map((id) => ({ id, trigger: "manual" as const, status: "pending" as const, reason: "test", plan: "[]" })),
      )
      .execute();
    const outcomes = await Promise.all(
      ids.map((executionId) => withRetries(() => executor.handle({ executionId, trigger: "manual", reason: "test" }))),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["nothing_to_do", "nothing_to_do", "succeeded"]);
    const rows = await database.db.selectFrom("rebalance_executions").selectAll().where("id", "in", ids).execute();
    const executed = rows.find((row) => row.plan.length > 0);
    expect(executed).toMatchObject({ status: "succeeded", error: null });
    expect(executed?.plan).toEqual([
      { from: "L1", to: "L3", amount: "600000.000000" },
      { from: "L1", to: "L2", amount: "300000.000000" },
    ]);
    expect(executed?.balances).toMatchObject({ l1: before.l1, l2: "0.0", l3: "0.0" });
    expect(rows.filter((row) => row.plan.length === 0).every((row) => row.status === "succeeded")).toBe(true);
    // The legs moved the value once: one transaction per leg, on consecutive nonces.
    const legs = (await laneIntents(database.db)).filter((i) => i.rebalance_execution_id === executed?.id);
    expect(legs.map((leg) => [leg.rebalance_leg, leg.status])).toEqual([
      [0, "confirmed"],
      [1, "confirmed"],
    ]);
    expect(await chain.provider.getTransactionCount(chain.operator.address, "latest")).toBe(startNonce + 2);
    expect(await onChainBalances(rpc, chain.fundAddress)).toMatchObject({
      l1: "100000.0",
      l2: "300000.0",
      l3: "600000.0",
    });
    const events = await chain.fund.queryFilter(chain.fund.filters.RebalanceExecuted(), 0, "latest");
    expect(events).toHaveLength(2);
  });
});

describe("settlements", () => {
  const request = async (channel: Channel) => {
    const receipt = await (await chain.fund.requestRedemption(1_000_000n, channel)).wait();
    const event = receipt?.logs
      .map((log) => chain.fund.interface.parseLog(log))
      .find((e) => e?.name === "RedemptionRequested");
    return String(event?.args[0]);
  };
  const chainId = () => chain.devnet.chainId;
  const payload = (id: string, channel: "instant" | "standard") => ({
    kind: "redemption" as const,
    chainId: chainId(),
    redemptionId: id,
    channel,
    owner: chain.admin.address.toLowerCase(),
    assets: "1",
  });

  it("when an instant redemption's job runs twice at once, then it is settled once", async () => {
    const id = await request(Channel.Instant);
    const outcomes = await Promise.all([
      withRetries(() => settlements.handle(payload(id, "instant"))),
      withRetries(() => settlements.handle(payload(id, "instant"))),
    ]);
    // Both jobs met the same intent (its key is the redemption's) and saw it confirmed.
    for (const outcome of outcomes) expect(["settled", "already_settled"]).toContain(outcome.outcome);
    const intents = (await laneIntents(database.db)).filter((i) => i.redemption_id === id);
    expect(intents.map((i) => i.status)).toEqual(["confirmed"]);
    expect(await settlements.handle(payload(id, "instant"))).toMatchObject({ outcome: "already_settled" });
    const settled = await chain.fund.queryFilter(chain.fund.filters.RedemptionSettled(BigInt(id)));
    expect(settled).toHaveLength(1);
  });

  it("when a redemption was cancelled on chain, then it is skipped; a standard one waits for the cut-off", async () => {
    const cancelled = await request(Channel.Instant);
    await (await chain.fund.cancelRedemption(cancelled)).wait();
    expect(await settlements.handle(payload(cancelled, "instant"))).toMatchObject({ outcome: "cancelled_on_chain" });
    const standard = await request(Channel.Standard);
    expect(await settlements.handle(payload(standard, "standard"))).toMatchObject({ outcome: "awaits_cutoff" });
    expect(Number((await chain.fund.redemption(standard)).status)).toBe(RedemptionStatus.Requested);
  });

  it("when the cut-off runs, then every standard redemption requested before it is settled, once", async () => {
    const ids = [await request(Channel.Standard), await request(Channel.Standard)];
    // The listener's rows for them, requested before the cut-off.
    await database.db
      .insertInto("redemptions")
      .values(
        ids.map((id) => ({
          id,
          chain_id: chainId(),
          owner: chain.admin.address.toLowerCase(),
          shares: "1",
          assets: "1",
          channel: "standard" as const,
          status: "requested" as const,
          requested_block: 1,
          requested_tx: `0x${"ab".repeat(32)}`,
          created_at: new Date(Date.now() - 60_000),
        })),
      )
      .execute();
    const cutoff = { kind: "cutoff" as const, cutoffAt: new Date().toISOString(), redemptions: 2, assets: "2" };
    expect(await withRetries(() => settlements.handle(cutoff))).toMatchObject({ settled: 2, skipped: 0 });
    expect(await withRetries(() => settlements.handle(cutoff))).toMatchObject({ settled: 0, skipped: 2 });
    for (const id of ids) {
      expect(Number((await chain.fund.redemption(id)).status)).toBe(RedemptionStatus.Settled);
      expect(await chain.fund.queryFilter(chain.fund.filters.RedemptionSettled(BigInt(id)))).toHaveLength(1);
    }
  });
});
