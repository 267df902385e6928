import { randomBytes } from "node:crypto";
import { AppError } from "@paimon/core/errors";
import { computeAddress, getBytes, hexlify, keccak256, SigningKey, Wallet } from "ethers";
import { describe, expect, it } from "vitest";
import { addressFromSpki, decodeDerSignature, normaliseS, SECP256K1_N, toEthereumSignature } from "./kms-signature";
import { encodeDerSignature } from "./testing/kms-server";

const SPKI_PREFIX = "3056301006072a8648ce3d020106052b8104000a034200";

describe("addressFromSpki", () => {
  it("when given a secp256k1 SubjectPublicKeyInfo, then it returns the key's checksummed address", () => {
    const key = new SigningKey(Wallet.createRandom().privateKey);
    const spki = getBytes(`0x${SPKI_PREFIX}${key.publicKey.slice(2)}`);
    expect(addressFromSpki(spki)).toBe(computeAddress(key.publicKey));
  });

  it("when the curve, the length or the point is wrong, then it returns undefined", () => {
    const key = new SigningKey(Wallet.createRandom().privateKey).publicKey.slice(2);
    // A P-256 key's header (OID 1.2.840.10045.3.1.7) before the same 65 bytes.
    const p256 = `3059301306072a8648ce3d020106082a8648ce3d030107034200${key}`;
    expect(addressFromSpki(getBytes(`0x${p256}`))).toBeUndefined();
    expect(addressFromSpki(getBytes(`0x${SPKI_PREFIX}${key.slice(0, -2)}`))).toBeUndefined();
    expect(addressFromSpki(getBytes(`0x${SPKI_PREFIX}02${key.slice(2)}`))).toBeUndefined();
    expect(addressFromSpki(getBytes(`0x${SPKI_PREFIX}04${"11".repeat(64)}`))).toBeUndefined();
  });
});

describe("decodeDerSignature", () => {
  it("when r and s have high bits, low bits or leading zero bytes, then both read back exactly", () => {
    for (const [r, s] of [
      [SECP256K1_N - 1n, 1n],
      [1n, SECP256K1_N - 1n],
      [0x80n, 0x7fn],
      [0x00ffn, 2n ** 255n],
      [BigInt(hexlify(randomBytes(31))), BigInt(hexlify(randomBytes(32))) % SECP256K1_N],
    ] as const) {
      expect(decodeDerSignature(encodeDerSignature(r, s))).toEqual({ r, s });
    }
  });

  it("when the DER is malformed, then it throws kms_bad_response", () => {
    const good = encodeDerSignature(5n, 7n);
    const malformed = [
      Buffer.alloc(0),
      Buffer.concat([good, Buffer.from([0])]),
      good.subarray(0, good.length - 1),
      Buffer.from([0x31, ...good.subarray(1)]),
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x07]), // a negative r
      Buffer.from([0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x07]), // r not minimal
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x07]), // r = 0
      encodeDerSignature(SECP256K1_N, 7n),
    ];
    for (const der of malformed) {
      expect(() => decodeDerSignature(der)).toThrow(expect.objectContaining({ code: "kms_bad_response" }));
    }
  });
});

describe("normaliseS", () => {
  it("when s is above n/2, then it becomes n − s; otherwise it stays", () => {
    const half = SECP256K1_N / 2n;
    expect(normaliseS(half)).toBe(half);
    expect(normaliseS(half + 1n)).toBe(SECP256K1_N - half - 1n);
    expect(normaliseS(SECP256K1_N - 1n)).toBe(1n);
    expect(normaliseS(1n)).toBe(1n);
  });
});

describe("toEthereumSignature", () => {
  it("when given a signature or its high-s twin, then both give the same low-s signature recovering to the key", () => {
    for (let i = 0; i < 50; i += 1) {
      const wallet = Wallet.createRandom();
      const digest = keccak256(randomBytes(32));
      const expected = wallet.signingKey.sign(digest);
      const [r, s] = [BigInt(expected.r), BigInt(expected.s)];
      for (const given of [s, SECP256K1_N - s]) {
        const signature = toEthereumSignature(digest, r, given, wallet.address);
        expect(signature.serialized).toBe(expected.serialized);
      }
    }
  });

  it("when the signature is another key's, then it throws kms_bad_response", () => {
    const digest = keccak256(randomBytes(32));
    const signature = Wallet.createRandom().signingKey.sign(digest);
    const call = () =>
      toEthereumSignature(digest, BigInt(signature.r), BigInt(signature.s), Wallet.createRandom().address);
    expect(call).toThrow(AppError);
    expect(call).toThrow(expect.objectContaining({ code: "kms_bad_response", retryable: false }));
  });
});
