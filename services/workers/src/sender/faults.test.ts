/**
 * The sender behind a failing RPC node and a throttling KMS: every broadcast answered "already
 * known", "nonce too low" or 502 after the node took it, or 502 before; a share of every other call
 * answered 502; KMS throttling and failing most signatures. Each intent must still become exactly
 * one transaction: retried or reconciled, never sent twice, never given a second nonce.
 */
import { randomUUID } from "node:crypto";
import { Layer, PaimonFund__factory, rebalanceExecutionId } from "@paimon/contracts";
import { mine } from "@paimon/contracts/devnet";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKmsSigner } from "../signer/kms";
import { INTERNAL_FAILURE, startKmsServer, THROTTLED, type KmsTestServer } from "../signer/testing/kms-server";
import { createChain } from "./chain";
import { laneSessions } from "./lane-session";
import { createSender } from "./sender";
import {
  laneIntents,
  startRpcProxy,
  startSenderChain,
  TEST_SENDER_SETTINGS,
  testLogger,
  type RpcFault,
  type SenderChain,
} from "./testing";

const INTENTS = 24;
const fundInterface = PaimonFund__factory.createInterface();

let chain: SenderChain;
let database: TestDatabase;
let kms: KmsTestServer;

beforeAll(async () => {
  [chain, database, kms] = await Promise.all([startSenderChain(), createTestDatabase(), startKmsServer()]);
});
afterAll(async () => {
  await chain.stop();
  await database.drop();
  await kms.close();
});

/** The broadcasts' faults, in turn: four ways to lose the answer, then one that goes through. */
const BROADCAST_FAULTS: readonly (RpcFault | undefined)[] = [
  { kind: "forward-then-error", message: "already known" },
  { kind: "forward-then-error", message: "nonce too low: next nonce 9, tx nonce 8" },
  { kind: "forward-then-502" },
  { kind: "502" },
  undefined,
];

describe("the sender behind a failing RPC node and a throttling KMS", () => {
  it("makes each intent exactly one transaction, retried or reconciled, never a second one", async () => {
    const proxy = await startRpcProxy(chain.devnet.httpUrl, (method, index) => {
      if (method === "eth_sendRawTransaction") return BROADCAST_FAULTS[index % BROADCAST_FAULTS.length];
      // One in four of every other call fails outright.
      return index % 4 === 3 ? { kind: "502" } : undefined;
    });
    const key = kms.addKey({ privateKey: chain.operator.privateKey });
    const rpc = createChain({ url: proxy.url, chainId: chain.devnet.chainId, timeoutMs: 10_000 });
    const sender = await createSender({
      db: database.db,
      laneSession: laneSessions(database.url, () => undefined),
      chain: rpc,
      signer: createKmsSigner({
        client: kms.client(),
        keyId: key.keyId,
        attempts: 2,
        startingDelayMs: 1,
        maxDelayMs: 5,
      }),
      settings: TEST_SENDER_SETTINGS,
      logger: testLogger(),
    });
    const direct = createChain({ url: chain.devnet.httpUrl, chainId: chain.devnet.chainId, timeoutMs: 10_000 });
    try {
      expect(sender.address).toBe(chain.operator.address);
      const startNonce = await chain.provider.getTransactionCount(chain.operator.address, "latest");
      for (let i = 0; i < INTENTS; i++) {
        const data = fundInterface.encodeFunctionData("executeRebalance", [
          rebalanceExecutionId(randomUUID()),
          Layer.L1,
          Layer.L3,
          1n,
        ]);
        await sender.submit({
          idempotencyKey: randomUUID(),
          purpose: "rebalance",
          to: chain.fundAddress,
          data,
          gasLimit: 200_000n,
        });
      }
      // KMS throttles or fails the next 3 × INTENTS signing requests: with two tries per signature,
      // most signatures fail once and many fail both tries and wait for a later pass, nonce kept.
      kms.failNext(
        "Sign",
        Array.from({ length: 3 * INTENTS }, (_, i) => (i % 3 === 2 ? INTERNAL_FAILURE : THROTTLED)),
      );
      for (let pass = 0; pass < 400; pass++) {
        const intents = await laneIntents(database.db);
        if (intents.every((i) => i.status === "confirmed")) break;
        await sender.reconcile().catch(() => undefined);
        await sender.tick().catch(() => undefined);
        await mine(chain.provider, 1);
      }
      const intents = await laneIntents(database.db);
      expect(intents.map((i) => i.status)).toEqual(Array(INTENTS).fill("confirmed"));
      // Exactly one transaction per intent reached the chain, on consecutive nonces.
      const endNonce = await chain.provider.getTransactionCount(chain.operator.address, "latest");
      expect(endNonce - startNonce).toBe(INTENTS);
      expect(intents.map((i) => Number(i.nonce)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: INTENTS }, (_, i) => startNonce + i),
      );
      for (const intent of intents) {
        const mined = [];
        for (const attempt of intent.attempts) if ((await direct.receipt(attempt.hash)) !== null) mined.push(attempt);
        expect(mined, intent.id).toHaveLength(1);
        expect(intent.error, "no intent was given a second nonce").toBeNull();
      }
      // Every fault was met: lost answers to broadcasts, failed reads, throttled signatures.
      expect(proxy.faulted.get("eth_sendRawTransaction")).toBeGreaterThanOrEqual(INTENTS * 0.5);
      expect(proxy.faulted.get("eth_getTransactionReceipt")).toBeGreaterThan(0);
      expect(kms.calls.filter((c) => c.operation === "Sign" && c.errorType === "ThrottlingException")).toHaveLength(
        2 * INTENTS,
      );
    } finally {
      await sender.close();
      rpc.destroy();
      direct.destroy();
      await proxy.close();
    }
  }, 180_000);
});
