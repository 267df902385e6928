import { Layer, PaimonFund__factory, rebalanceExecutionId } from "@paimon/contracts";
import { mine, setAutomine } from "@paimon/contracts/devnet";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLocalSigner } from "../signer/local";
import { createChain, type Chain } from "./chain";
import { laneSessions } from "./lane-session";
import { createSender, type Sender, type SenderSettings } from "./sender";
import { laneIntents, startSenderChain, TEST_SENDER_SETTINGS, testLogger, type SenderChain } from "./testing";

const fundInterface = PaimonFund__factory.createInterface();
let chain: SenderChain;
let database: TestDatabase;
let rpc: Chain;
const senders: Sender[] = [];

beforeAll(async () => {
  chain = await startSenderChain();
});
afterAll(async () => {
  await chain.stop();
});
beforeEach(async () => {
  database = await createTestDatabase();
  rpc = createChain({ url: chain.devnet.httpUrl, chainId: chain.devnet.chainId, timeoutMs: 10_000 });
  await setAutomine(chain.provider, true);
});
afterEach(async () => {
  for (const sender of senders.splice(0)) await sender.close();
  rpc.destroy();
  await database.drop();
});

async function newSender(settings: Partial<SenderSettings> = {}, client: Chain = rpc): Promise<Sender> {
  const sender = await createSender({
    db: database.db,
    laneSession: laneSessions(database.url, () => undefined),
    chain: client,
    signer: createLocalSigner({ privateKey: chain.operator.privateKey, environment: "test" }),
    settings: { ...TEST_SENDER_SETTINGS, ...settings },
    logger: testLogger(),
  });
  senders.push(sender);
  await sender.reconcile();
  return sender;
}

/** A rebalance leg of 1 unit from L1 to L2 under a fresh execution id. */
async function legSpec(sender: Sender, key = randomUUID()) {
  const data = fundInterface.encodeFunctionData("executeRebalance", [
    rebalanceExecutionId(randomUUID()),
    Layer.L1,
    Layer.L2,
    1n,
  ]);
  return {
    idempotencyKey: key,
    purpose: "rebalance" as const,
    to: chain.fundAddress,
    data,
    gasLimit: await sender.estimateGasLimit({ to: chain.fundAddress, data }),
  };
}

/** Ticks the lane until `done` holds, mining `finality` blocks whenever nothing moves. */
async function driveUntil(sender: Sender, done: () => Promise<boolean>, options: { mineBlocks?: boolean } = {}) {
  for (let pass = 0; pass < 200; pass++) {
    if (await done()) return;
    await sender.tick();
    if (options.mineBlocks ?? true) await mine(chain.provider, 1);
  }
  throw new Error(
    `the lane did not reach the expected state in 200 passes: ${JSON.stringify(await laneIntents(database.db), null, 1)}`,
  );
}

const allFinal = async () =>
  (await laneIntents(database.db)).every((i) => !["pending", "submitted", "mined"].includes(i.status));
const operatorNonce = () => chain.provider.getTransactionCount(chain.operator.address, "latest");

describe("the sender", () => {
  it("stores an intent once per idempotency key and confirms it at the finality depth", async () => {
    const sender = await newSender();
    const startNonce = await operatorNonce();
    const spec = await legSpec(sender);
    const first = await sender.submit(spec);
    const again = await sender.submit(spec);
    expect(again.id).toBe(first.id);
    await expect(sender.submit({ ...spec, data: `${spec.data.slice(0, -2)}02` })).rejects.toMatchObject({
      code: "idempotency_conflict",
    });

    await sender.tick(); // nonce, signature, broadcast (automine mines it at once)
    const [mined] = await laneIntents(database.db);
    expect(mined).toMatchObject({ status: "submitted", nonce: String(startNonce) });
    await sender.tick();
    expect((await laneIntents(database.db))[0]?.status).toBe("mined");
    await mine(chain.provider, 2);
    await sender.tick();
    const [confirmed] = await laneIntents(database.db);
    expect(confirmed).toMatchObject({ status: "confirmed", mined_hash: confirmed?.attempts[0]?.hash });
    expect(confirmed?.attempts).toHaveLength(1);
    expect(await operatorNonce()).toBe(startNonce + 1);
    await expect(sender.waitFinal(first.id)).resolves.toMatchObject({ status: "confirmed" });
  });

  it("gives concurrent intents distinct, consecutive nonces", async () => {
    const sender = await newSender();
    const startNonce = await operatorNonce();
    const specs = await Promise.all([1, 2, 3].map(() => legSpec(sender)));
    await Promise.all(specs.map((spec) => sender.submit(spec)));
    await driveUntil(sender, allFinal);
    const intents = await laneIntents(database.db);
    expect(intents.map((i) => Number(i.nonce)).sort()).toEqual([startNonce, startNonce + 1, startNonce + 2]);
    expect(intents.every((i) => i.status === "confirmed")).toBe(true);
    expect(await operatorNonce()).toBe(startNonce + 3);
  });

  it("replaces a transaction stuck under the base fee with both fees raised ≥ 10 %, and exactly one of the two mines", async () => {
    const sender = await newSender({ replaceAfterMs: 0 });
    const startNonce = await operatorNonce();
    await setAutomine(chain.provider, false);
    const intent = await sender.submit(await legSpec(sender));
    await sender.tick(); // the original, in the pool
    const [original] = (await laneIntents(database.db))[0]?.attempts ?? [];
    expect(original?.broadcast_at).not.toBeNull();
    // The next block's base fee is far above what the original offers: it cannot be included.
    await chain.provider.send("hardhat_setNextBlockBaseFeePerGas", [
      `0x${(BigInt(original!.max_fee_per_gas) * 4n).toString(16)}`,
    ]);
    await mine(chain.provider, 1);
    expect(await rpc.receipt(original!.hash)).toBeNull();
    await sender.tick(); // unmined past replaceAfterMs: a replacement at the same nonce
    const [, replacement] = (await laneIntents(database.db))[0]?.attempts ?? [];
    expect(replacement).toMatchObject({ kind: "replacement", nonce: original!.nonce });
    for (const field of ["max_fee_per_gas", "max_priority_fee_per_gas"] as const) {
      expect(BigInt(replacement![field]) * 100n).toBeGreaterThanOrEqual(BigInt(original![field]) * 110n);
    }
    await mine(chain.provider, 3);
    await sender.tick();
    const [done] = await laneIntents(database.db);
    expect(done).toMatchObject({ status: "confirmed", mined_hash: replacement!.hash, replacements: 1 });
    expect(await rpc.receipt(original!.hash)).toBeNull();
    expect(await operatorNonce()).toBe(startNonce + 1);
    expect((await sender.waitFinal(intent.id)).status).toBe("confirmed");
  });

  it("cancels past the replacement cap with a zero-value self-send, and is cancelled only once that mined", async () => {
    const sender = await newSender({ replaceAfterMs: 0, maxReplacements: 0 });
    const startNonce = await operatorNonce();
    await setAutomine(chain.provider, false);
    await sender.submit(await legSpec(sender));
    await sender.tick();
    const [original] = (await laneIntents(database.db))[0]?.attempts ?? [];
    await chain.provider.send("hardhat_setNextBlockBaseFeePerGas", [
      `0x${(BigInt(original!.max_fee_per_gas) * 4n).toString(16)}`,
    ]);
    await mine(chain.provider, 1);
    await sender.tick(); // no replacement allowed: the cancellation
    const [intent] = await laneIntents(database.db);
    const cancel = intent?.attempts[1];
    expect(cancel).toMatchObject({ kind: "cancel", nonce: original!.nonce });
    expect(intent?.status).toBe("submitted");
    await mine(chain.provider, 1);
    await sender.tick();
    expect((await laneIntents(database.db))[0]?.status).toBe("mined");
    await mine(chain.provider, 2);
    await sender.tick();
    const [cancelled] = await laneIntents(database.db);
    expect(cancelled).toMatchObject({ status: "cancelled", mined_hash: cancel!.hash });
    const mined = await chain.provider.getTransaction(cancel!.hash);
    expect(mined).toMatchObject({ to: chain.operator.address, value: 0n, data: "0x" });
    expect(await operatorNonce()).toBe(startNonce + 1);
  });

  it("never signs a cancellation above the cancellation fee cap, not even the first one", async () => {
    // The original offers the whole cap: a replacement must exceed it, and so would a cancellation.
    const cap = 5_000_000_000n;
    const sender = await newSender({
      replaceAfterMs: 0,
      fees: { type: 2, priorityFee: cap, maxFee: cap, cancelMaxFee: cap },
    });
    await setAutomine(chain.provider, false);
    await sender.submit(await legSpec(sender));
    await sender.tick();
    const [original] = (await laneIntents(database.db))[0]?.attempts ?? [];
    expect(original).toMatchObject({ kind: "original", max_fee_per_gas: cap.toString() });
    await sender.tick();
    const [intent] = await laneIntents(database.db);
    expect(intent?.attempts.map((a) => a.kind)).toEqual(["original"]);
    expect(intent?.status).toBe("submitted");
    // Let it mine (under a base fee it can pay), so the lane is clear for the next test.
    await chain.provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x3b9aca00"]);
    await mine(chain.provider, 3);
    await sender.tick();
    expect((await laneIntents(database.db))[0]?.status).toBe("confirmed");
  });

  it("gives an intent a new nonce only once another transaction's use of the old one is final", async () => {
    const sender = await newSender();
    const startNonce = await operatorNonce();
    const intent = await sender.submit(await legSpec(sender));
    // The lane hands out `startNonce`; before the sender broadcasts, someone else uses it.
    await (await chain.operator.sendTransaction({ to: chain.admin.address, value: 1n, nonce: startNonce })).wait();
    await sender.tick(); // nonce too low, not yet final: it waits
    expect((await laneIntents(database.db))[0]).toMatchObject({ status: "pending", nonce: String(startNonce) });
    await mine(chain.provider, 2);
    await sender.tick(); // now provably used: a new nonce on the next pass
    await sender.reconcile();
    await driveUntil(sender, allFinal);
    const [done] = await laneIntents(database.db);
    expect(done).toMatchObject({ status: "confirmed", nonce: String(startNonce + 1) });
    expect(done?.error).toMatch(/used by a transaction that is not this intent's/);
    expect((await sender.waitFinal(intent.id)).status).toBe("confirmed");
    expect(await operatorNonce()).toBe(startNonce + 2);
  });

  it("fills a real gap below the lane's nonce with a no-op, and never a nonce an open intent holds", async () => {
    const sender = await newSender();
    const startNonce = await operatorNonce();
    // The lane handed out two nonces whose intents are gone (a restore from an older backup).
    await database.db
      .updateTable("signer_lanes")
      .set({ next_nonce: startNonce + 2 })
      .execute();
    const intent = await sender.submit(await legSpec(sender));
    await sender.reconcile();
    const noops = (await laneIntents(database.db)).filter((i) => i.purpose === "noop");
    expect(noops.map((n) => Number(n.nonce))).toEqual([startNonce, startNonce + 1]);
    await driveUntil(sender, allFinal);
    const intents = await laneIntents(database.db);
    expect(intents.map((i) => [i.purpose, i.status, Number(i.nonce)])).toEqual([
      ["noop", "confirmed", startNonce],
      ["noop", "confirmed", startNonce + 1],
      ["rebalance", "confirmed", startNonce + 2],
    ]);
    expect((await sender.waitFinal(intent.id)).status).toBe("confirmed");
    expect(await operatorNonce()).toBe(startNonce + 3);
  });
});
