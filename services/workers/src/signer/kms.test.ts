import { AppError } from "@paimon/core/errors";
import { getAddress, Transaction, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKmsSigner, type KmsSignerOptions } from "./kms";
import { SECP256K1_N } from "./kms-signature";
import { createLocalSigner } from "./local";
import type { OperatorSigner, UnsignedTransaction } from "./signer";
import {
  INTERNAL_FAILURE,
  SERVICE_UNAVAILABLE,
  startKmsServer,
  THROTTLED,
  type KmsOperation,
  type KmsTestServer,
} from "./testing/kms-server";
import { randomTransaction } from "./testing/random-transaction";

let kms: KmsTestServer;
beforeAll(async () => {
  kms = await startKmsServer();
});
afterAll(async () => {
  await kms.close();
});

const signerFor = (keyId: string, options: Partial<KmsSignerOptions> = {}): OperatorSigner =>
  createKmsSigner({ client: kms.client(), keyId, startingDelayMs: 1, maxDelayMs: 5, ...options });

const callsTo = (keyId: string, operation: KmsOperation) =>
  kms.calls.filter((call) => call.keyId === keyId && call.operation === operation).length;

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const aTransaction: UnsignedTransaction = {
  type: 2,
  chainId: 1n,
  nonce: 7,
  gasLimit: 100_000n,
  maxFeePerGas: 30_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
  to: "0x00000000000000000000000000000000000000aa",
  data: "0x",
  value: 0n,
};

describe("the KMS signer, through the real KMSClient", () => {
  it("when hundreds of random legacy and EIP-1559 transactions are signed, then each recovers to the key's address with a low s", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId);
    const before = { ...kms.signatures };
    const transactions = Array.from({ length: 400 }, randomTransaction);
    expect(new Set(transactions.map((transaction) => transaction.type))).toEqual(new Set([0, 2]));

    for (let start = 0; start < transactions.length; start += 16) {
      await Promise.all(
        transactions.slice(start, start + 16).map(async (transaction) => {
          const { raw, hash } = await signer.signTransaction(transaction);
          const parsed = Transaction.from(raw);
          const context = JSON.stringify(transaction, (_key, value: unknown) =>
            typeof value === "bigint" ? value.toString() : value,
          );
          expect(parsed.from, context).toBe(key.address);
          expect(parsed.hash, context).toBe(hash);
          expect(parsed.type, context).toBe(transaction.type);
          expect(parsed.chainId, context).toBe(transaction.chainId);
          expect(parsed.nonce, context).toBe(transaction.nonce);
          expect(parsed.value, context).toBe(transaction.value);
          expect(parsed.data, context).toBe(transaction.data);
          expect(parsed.to, context).toBe(transaction.to);
          expect(BigInt(parsed.signature?.s ?? "0x0") <= SECP256K1_N / 2n, context).toBe(true);
        }),
      );
    }

    // The server did return high-s signatures in this run, so the signer's normalisation was
    // exercised (without it, ethers refuses those signatures, or the low-s check above fails).
    const highS = kms.signatures.highS - before.highS;
    expect(kms.signatures.total - before.total).toBe(transactions.length);
    expect(highS).toBeGreaterThan(transactions.length / 4);
    expect(highS).toBeLessThan((transactions.length * 3) / 4);
  });

  it("when KMS returns only high-s signatures, then the signer produces exactly what ethers' Wallet signs with the same key", async () => {
    const alwaysHigh = await startKmsServer({ highSProbability: 1 });
    try {
      const wallet = Wallet.createRandom();
      const key = alwaysHigh.addKey({ privateKey: wallet.privateKey });
      const kmsSigner = createKmsSigner({ client: alwaysHigh.client(), keyId: key.keyId });
      const local = createLocalSigner({ privateKey: wallet.privateKey, environment: "test" });
      for (let i = 0; i < 40; i += 1) {
        const transaction = randomTransaction();
        // RFC 6979 nonces make both sides' r equal; only a normalised s makes the bytes equal.
        expect(await kmsSigner.signTransaction(transaction)).toEqual(await local.signTransaction(transaction));
      }
      expect(alwaysHigh.signatures).toEqual({ total: 40, highS: 40 });
    } finally {
      await alwaysHigh.close();
    }
  });

  it("when the address is asked for, then it is the key's checksummed address, read from KMS once", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.arn);
    const addresses = await Promise.all([signer.address(), signer.address(), signer.address()]);
    await signer.signTransaction(aTransaction);
    expect(addresses).toEqual([key.address, key.address, key.address]);
    expect(addresses[0]).toBe(getAddress(addresses[0].toLowerCase()));
    expect(callsTo(key.arn, "GetPublicKey")).toBe(1);
  });

  it("when KMS throttles a few times, then the signer retries and signs", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId);
    kms.failNext("GetPublicKey", [THROTTLED, THROTTLED], { keyId: key.keyId });
    kms.failNext("Sign", [THROTTLED, THROTTLED, THROTTLED], { keyId: key.keyId });
    const { raw } = await signer.signTransaction(aTransaction);
    expect(Transaction.from(raw).from).toBe(key.address);
    expect(callsTo(key.keyId, "GetPublicKey")).toBe(3);
    expect(callsTo(key.keyId, "Sign")).toBe(4);
  });

  it("when KMS answers 500 and 503, then the signer retries and signs", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId);
    await signer.address();
    kms.failNext("Sign", [INTERNAL_FAILURE, SERVICE_UNAVAILABLE], { keyId: key.keyId });
    const { raw } = await signer.signTransaction(aTransaction);
    expect(Transaction.from(raw).from).toBe(key.address);
    expect(callsTo(key.keyId, "Sign")).toBe(3);
  });

  it("when KMS throttles on every attempt, then the signer gives up after its attempts with a retryable kms_throttled", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId, { attempts: 4 });
    await signer.address();
    kms.failNext("Sign", [THROTTLED, THROTTLED, THROTTLED, THROTTLED], { keyId: key.keyId });
    const error = await rejection(signer.signTransaction(aTransaction));
    expect(error).toMatchObject({ code: "kms_throttled", retryable: true });
    expect(callsTo(key.keyId, "Sign")).toBe(4);
  });

  it("when KMS keeps failing with 5xx, then the signer gives up with a retryable kms_unavailable", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId, { attempts: 3 });
    kms.failNext("GetPublicKey", [INTERNAL_FAILURE, SERVICE_UNAVAILABLE, INTERNAL_FAILURE], { keyId: key.keyId });
    const error = await rejection(signer.address());
    expect(error).toMatchObject({ code: "kms_unavailable", retryable: true });
    expect(callsTo(key.keyId, "GetPublicKey")).toBe(3);
    // The failure was not cached: KMS is asked again, and now answers.
    expect(await signer.address()).toBe(key.address);
  });

  it("when KMS cannot be reached, then the signer gives up with a retryable kms_unavailable", async () => {
    const gone = await startKmsServer();
    const client = gone.client();
    await gone.close();
    const signer = createKmsSigner({ client, keyId: "any", attempts: 2, startingDelayMs: 1 });
    const error = await rejection(signer.address());
    expect(error).toMatchObject({ code: "kms_unavailable", retryable: true });
  });

  it("when the key is disabled, then signing fails at once with a non-retryable kms_key_disabled", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId);
    await signer.address();
    kms.disableKey(key.keyId);
    const error = await rejection(signer.signTransaction(aTransaction));
    expect(error).toMatchObject({ code: "kms_key_disabled", retryable: false });
    expect(callsTo(key.keyId, "Sign")).toBe(1);
    const fresh = await rejection(signerFor(key.keyId).address());
    expect(fresh).toMatchObject({ code: "kms_key_disabled", retryable: false });
  });

  it("when the role is denied the key, then the signer fails at once with a non-retryable kms_access_denied", async () => {
    const key = kms.addKey();
    kms.denyAccess(key.keyId);
    const error = await rejection(signerFor(key.keyId).signTransaction(aTransaction));
    expect(error).toMatchObject({ code: "kms_access_denied", retryable: false, details: { keyId: key.keyId } });
    expect(callsTo(key.keyId, "GetPublicKey")).toBe(1);
    expect(callsTo(key.keyId, "Sign")).toBe(0);
  });

  it("when the key id is unknown, then the signer fails with a non-retryable kms_key_not_found", async () => {
    const keyId = "6f7b1c1e-0000-4000-8000-000000000000";
    const error = await rejection(signerFor(keyId).address());
    expect(error).toMatchObject({ code: "kms_key_not_found", retryable: false });
    expect(callsTo(keyId, "GetPublicKey")).toBe(1);
  });

  it.each(["ECC_NIST_P256", "SYMMETRIC_DEFAULT"] as const)(
    "when the key is %s, then the signer refuses it with a non-retryable kms_wrong_key_spec",
    async (keySpec) => {
      const key = kms.addKey({ keySpec });
      const error = await rejection(signerFor(key.keyId).signTransaction(aTransaction));
      expect(error).toMatchObject({ code: "kms_wrong_key_spec", retryable: false });
      expect(callsTo(key.keyId, "Sign")).toBe(0);
    },
  );

  it("when the transaction is malformed, then signing fails with signer_invalid_transaction before any Sign", async () => {
    const key = kms.addKey();
    const signer = signerFor(key.keyId);
    const malformed: unknown[] = [
      { ...aTransaction, type: 1 },
      { ...aTransaction, value: -1n },
      { ...aTransaction, nonce: 1.5 },
      { ...aTransaction, chainId: 0n },
      { ...aTransaction, maxPriorityFeePerGas: aTransaction.maxFeePerGas + 1n },
      { ...aTransaction, to: "0x1234" },
      { ...aTransaction, data: "0xzz" },
    ];
    for (const transaction of malformed) {
      const error = await rejection(signer.signTransaction(transaction as UnsignedTransaction));
      expect(error).toMatchObject({ code: "signer_invalid_transaction", retryable: false });
    }
    expect(callsTo(key.keyId, "Sign")).toBe(0);
  });
});
