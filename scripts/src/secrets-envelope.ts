/**
 * Envelope encryption with the data key, for the secrets export: KMS makes a fresh 256-bit data
 * key (GenerateDataKey, under an encryption context naming the backup), the export is sealed with
 * it locally (AES-256-GCM, node:crypto), and only the KMS-encrypted copy of the key is kept,
 * beside the ciphertext. Opening needs KMS to decrypt that copy under the same context — a key
 * moved to another backup does not open — and GCM's tag refuses any changed byte of the
 * ciphertext, the IV or the bound backup id.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { z } from "zod";

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const PURPOSE = "paimon-secrets-backup";

/** What is stored beside the ciphertext: everything needed to open it, given KMS. */
export const envelopeSchema = z.strictObject({
  format: z.literal(1),
  algorithm: z.literal("AES-256-GCM"),
  /** The KMS key the data key is encrypted under (its ARN, as KMS answered). */
  kms_key_id: z.string().min(1),
  encryption_context: z.record(z.string(), z.string()),
  encrypted_data_key: z.base64(),
  iv: z.base64(),
  tag: z.base64(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

const contextFor = (backupId: string) => ({ purpose: PURPOSE, backup: backupId });

/** Seals `plaintext` for the backup `backupId` under a new data key from `keyId`. */
export async function seal(
  kms: KMSClient,
  keyId: string,
  backupId: string,
  plaintext: Buffer,
): Promise<{ envelope: Envelope; ciphertext: Buffer }> {
  const context = contextFor(backupId);
  const generated = await kms.send(
    new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context }),
  );
  if (!generated.Plaintext || !generated.CiphertextBlob || !generated.KeyId)
    throw new Error(`KMS GenerateDataKey on ${keyId} answered without a key`);
  const key = Buffer.from(generated.Plaintext);
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    cipher.setAAD(Buffer.from(`${PURPOSE}:${backupId}`));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      ciphertext,
      envelope: {
        format: 1,
        algorithm: "AES-256-GCM",
        kms_key_id: generated.KeyId,
        encryption_context: context,
        encrypted_data_key: Buffer.from(generated.CiphertextBlob).toString("base64"),
        iv: iv.toString("base64"),
        tag: cipher.getAuthTag().toString("base64"),
      },
    };
  } finally {
    key.fill(0);
    generated.Plaintext.fill(0);
  }
}

/** A sealed export that does not open: tampered, truncated, or from another backup or key. */
export class EnvelopeError extends Error {}

/** Opens what `seal` made for `backupId`; throws `EnvelopeError` when anything about it is wrong. */
export async function open(kms: KMSClient, backupId: string, envelope: Envelope, ciphertext: Buffer): Promise<Buffer> {
  const context = contextFor(backupId);
  if (JSON.stringify(envelope.encryption_context) !== JSON.stringify(context))
    throw new EnvelopeError(
      `the envelope was made for ${JSON.stringify(envelope.encryption_context)}, not ${backupId}`,
    );
  let key: Buffer;
  try {
    const answer = await kms.send(
      new DecryptCommand({
        KeyId: envelope.kms_key_id,
        CiphertextBlob: Buffer.from(envelope.encrypted_data_key, "base64"),
        EncryptionContext: context,
      }),
    );
    if (!answer.Plaintext) throw new Error("KMS answered without a key");
    key = Buffer.from(answer.Plaintext);
    answer.Plaintext.fill(0);
  } catch (error) {
    throw new EnvelopeError(`KMS would not decrypt the data key: ${(error as Error).message}`, { cause: error });
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(envelope.iv, "base64"));
    decipher.setAAD(Buffer.from(`${PURPOSE}:${backupId}`));
    decipher.setAuthTag(Buffer.from(envelope.tag, "base64"));
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (error) {
    throw new EnvelopeError("the ciphertext does not authenticate (AES-256-GCM): it was changed or damaged", {
      cause: error,
    });
  } finally {
    key.fill(0);
  }
}

/**
 * The key's ARN for a key id, ARN, alias name or alias ARN. The charts can name the data key only
 * by its alias (its id is made when it is created); S3's SSE-KMS header must carry the ARN the
 * bucket policy pins, so an alias is resolved once, with DescribeKey.
 */
export async function keyArn(kms: KMSClient, keyId: string): Promise<string> {
  if (/^arn:[^:]+:kms:[^:]*:\d{12}:key\//.test(keyId)) return keyId;
  const answer = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  const arn = answer.KeyMetadata?.Arn;
  if (arn === undefined) throw new Error(`BACKUP_KMS_KEY_ID: KMS does not describe ${keyId}`);
  return arn;
}
