import { CreateKeyCommand, DescribeKeyCommand, GetPublicKeyCommand, SignCommand } from "@aws-sdk/client-kms";
import { getBytes, keccak256, sha256, toBeHex } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressFromSpki, decodeDerSignature, toEthereumSignature } from "../kms-signature";
import { startKmsServer, type KmsTestServer } from "./kms-server";

let kms: KmsTestServer;
beforeAll(async () => {
  kms = await startKmsServer();
});
afterAll(async () => {
  await kms.close();
});

describe("the test KMS server, through the real KMSClient", () => {
  it("when a secp256k1 key is created, then DescribeKey and GetPublicKey answer in KMS's shapes", async () => {
    const client = kms.client();
    const created = await client.send(new CreateKeyCommand({ KeySpec: "ECC_SECG_P256K1", KeyUsage: "SIGN_VERIFY" }));
    const keyId = created.KeyMetadata?.KeyId ?? "";
    const described = await client.send(new DescribeKeyCommand({ KeyId: created.KeyMetadata?.Arn }));
    expect(described.KeyMetadata).toMatchObject({
      KeyId: keyId,
      Enabled: true,
      KeyState: "Enabled",
      KeySpec: "ECC_SECG_P256K1",
      KeyUsage: "SIGN_VERIFY",
      SigningAlgorithms: ["ECDSA_SHA_256"],
    });
    expect(described.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    const key = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    expect(key.PublicKey?.length).toBe(88);
    expect(addressFromSpki(key.PublicKey ?? new Uint8Array())).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it("when asked to sign a DIGEST, then it signs those 32 bytes; a RAW message, then its SHA-256", async () => {
    const key = kms.addKey();
    const client = kms.client();
    const message = keccak256(Buffer.from("paimon"));
    const sign = async (MessageType: "DIGEST" | "RAW") => {
      const answer = await client.send(
        new SignCommand({
          KeyId: key.keyId,
          Message: getBytes(message),
          MessageType,
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      );
      return decodeDerSignature(answer.Signature ?? new Uint8Array());
    };
    const address = key.address ?? "";
    const digest = await sign("DIGEST");
    expect(toEthereumSignature(message, digest.r, digest.s, address).r).toBe(toBeHex(digest.r, 32));
    const raw = await sign("RAW");
    expect(toEthereumSignature(sha256(message), raw.r, raw.s, address).r).toBe(toBeHex(raw.r, 32));
    expect(() => toEthereumSignature(message, raw.r, raw.s, address)).toThrow();
  });

  it("when a DIGEST is not 32 bytes or the target is unknown, then it answers KMS's 400 errors", async () => {
    const key = kms.addKey();
    const client = kms.client();
    await expect(
      client.send(
        new SignCommand({
          KeyId: key.keyId,
          Message: new Uint8Array(31),
          MessageType: "DIGEST",
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    const response = await fetch(kms.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "TrentService.Encrypt",
        authorization: "AWS4-HMAC-SHA256 Credential=test",
      },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: "UnknownOperationException" });
    const unsigned = await fetch(kms.endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.DescribeKey" },
      body: JSON.stringify({ KeyId: key.keyId }),
    });
    expect(await unsigned.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });
  });

  it("when a key is disabled, then DescribeKey says so and Sign answers DisabledException", async () => {
    const key = kms.addKey();
    kms.disableKey(key.keyId);
    const client = kms.client();
    const described = await client.send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(described.KeyMetadata).toMatchObject({ Enabled: false, KeyState: "Disabled" });
    await expect(
      client.send(
        new SignCommand({
          KeyId: key.keyId,
          Message: new Uint8Array(32),
          MessageType: "DIGEST",
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      ),
    ).rejects.toMatchObject({ name: "DisabledException" });
  });
});
