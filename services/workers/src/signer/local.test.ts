import { AppError } from "@paimon/core/errors";
import { Transaction, Wallet } from "ethers";
import { describe, expect, it } from "vitest";
import { SECP256K1_N } from "./kms-signature";
import { createLocalSigner } from "./local";
import { randomTransaction } from "./testing/random-transaction";

describe("the local signer", () => {
  it("when the environment is production, then it refuses to be created with local_signer_in_production", () => {
    const create = () => createLocalSigner({ privateKey: Wallet.createRandom().privateKey, environment: "production" });
    expect(create).toThrow(AppError);
    expect(create).toThrow(expect.objectContaining({ code: "local_signer_in_production", retryable: false }));
  });

  it.each(["development", "test", "staging"] as const)(
    "when the environment is %s, then it is created",
    (environment) => {
      const wallet = Wallet.createRandom();
      expect(() => createLocalSigner({ privateKey: wallet.privateKey, environment })).not.toThrow();
    },
  );

  it("when the private key is not a key, then it fails with local_signer_invalid_key without quoting it", () => {
    const privateKey = "0x1234deadbeef";
    const create = () => createLocalSigner({ privateKey, environment: "development" });
    expect(create).toThrow(expect.objectContaining({ code: "local_signer_invalid_key" }));
    try {
      create();
    } catch (error) {
      expect(JSON.stringify(error)).not.toContain("deadbeef");
      expect((error as AppError).message).not.toContain("deadbeef");
      expect((error as AppError).cause).toBeUndefined();
    }
  });

  it("when random transactions are signed, then each recovers to the key's checksummed address with a low s", async () => {
    const wallet = Wallet.createRandom();
    const signer = createLocalSigner({ privateKey: wallet.privateKey, environment: "development" });
    expect(await signer.address()).toBe(wallet.address);
    for (let i = 0; i < 200; i += 1) {
      const transaction = randomTransaction();
      const { raw, hash } = await signer.signTransaction(transaction);
      const parsed = Transaction.from(raw);
      expect(parsed.from).toBe(wallet.address);
      expect(parsed.hash).toBe(hash);
      expect(parsed.type).toBe(transaction.type);
      expect(BigInt(parsed.signature?.s ?? "0x0") <= SECP256K1_N / 2n).toBe(true);
    }
  });

  it("when the transaction is malformed, then signing rejects with signer_invalid_transaction", async () => {
    const signer = createLocalSigner({ privateKey: Wallet.createRandom().privateKey, environment: "test" });
    const transaction = { ...randomTransaction(), nonce: -1 };
    await expect(signer.signTransaction(transaction)).rejects.toMatchObject({ code: "signer_invalid_transaction" });
  });
});
