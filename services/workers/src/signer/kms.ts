/**
 * The operator's signer in staging and production: an `ECC_SECG_P256K1` `SIGN_VERIFY` key in AWS
 * KMS, whose private half never leaves KMS. The address comes from `GetPublicKey` (checked to be
 * that kind of key, then cached: a KMS key's public key never changes); each transaction's hash
 * is signed with `Sign` (`MessageType: "DIGEST"`, `ECDSA_SHA_256`, so KMS signs the keccak-256
 * hash as given instead of hashing it again), and the DER signature becomes an Ethereum one in
 * `kms-signature.ts`.
 *
 * Written here rather than taken from `@rumblefishdev/eth-signer-kms@4.3.1`, which was evaluated:
 * its `createSignature` and `getEthAddressFromKMS` do compile under strict TypeScript with an
 * injected `KMSClient` and ethers 6.17.0, but it does not fit cleanly. Its signer class is a
 * provider-bound ethers `AbstractSigner` that needs a `JsonRpcApiProvider` and returns no hash;
 * it requires `@aws-sdk/client-kms` without declaring it (neither dependency nor peer), so under
 * pnpm it resolves only through the hidden hoisting directory; it declares ethers `^6` as a plain
 * dependency, inviting a second copy of ethers; it pulls `asn1.js`, `bn.js` 4 and
 * `@types/ethereum-protocol` (with `bignumber.js`) at run time; it checks no key spec, retries
 * nothing and throws bare `Error`s, so every path would be wrapped anyway. What it would save is
 * the ~60 lines of `kms-signature.ts`, which are tested directly.
 *
 * Throttling and 5xx/network failures are retried per KMS call with exponential backoff and
 * full jitter, a bounded number of times, then surface as retryable AppErrors for the caller
 * (the sender's job) to retry later; every other KMS error surfaces at once, not retryable.
 */
import { GetPublicKeyCommand, KMSServiceException, SignCommand, type KMSClient } from "@aws-sdk/client-kms";
import { AppError } from "@paimon/core/errors";
import { getBytes } from "ethers";
import { backOff } from "exponential-backoff";
import { addressFromSpki, decodeDerSignature, toEthereumSignature } from "./kms-signature";
import {
  SIGNER_ERROR_CODES,
  signerError,
  toEthersTransaction,
  toSignedTransaction,
  type OperatorSigner,
  type SignerErrorCode,
  type SignedTransaction,
  type UnsignedTransaction,
} from "./signer";

export interface KmsSignerOptions {
  /**
   * The KMS client, built by the composition root with the region (and, in tests, an endpoint).
   * Its SDK retries multiply this signer's attempts; `maxAttempts: 1` leaves retrying to the
   * signer, whose bound is then exact.
   */
  readonly client: KMSClient;
  /** Key id, key ARN, alias (`alias/…`) or alias ARN of an `ECC_SECG_P256K1` `SIGN_VERIFY` key. */
  readonly keyId: string;
  /** Attempts per KMS call while it is throttled or failing (5xx, network), the first included. @default 5 */
  readonly attempts?: number;
  /** The first backoff delay, doubled per attempt with full jitter. @default 100 */
  readonly startingDelayMs?: number;
  /** The longest backoff delay. @default 2000 */
  readonly maxDelayMs?: number;
}

const KEY_SPEC = "ECC_SECG_P256K1";
const KEY_USAGE = "SIGN_VERIFY";
const SIGNING_ALGORITHM = "ECDSA_SHA_256";

export function createKmsSigner(options: KmsSignerOptions): OperatorSigner {
  const { client, keyId } = options;

  const call = <T>(operation: string, send: () => Promise<T>): Promise<T> =>
    backOff(send, {
      numOfAttempts: options.attempts ?? 5,
      startingDelay: options.startingDelayMs ?? 100,
      maxDelay: options.maxDelayMs ?? 2_000,
      jitter: "full",
      retry: (error: unknown) => kmsError(error, operation, keyId).retryable,
    }).catch((error: unknown) => {
      throw kmsError(error, operation, keyId);
    });

  const loadAddress = async (): Promise<string> => {
    const key = await call("GetPublicKey", () => client.send(new GetPublicKeyCommand({ KeyId: keyId })));
    const wrongKey =
      key.KeySpec !== KEY_SPEC ||
      key.KeyUsage !== KEY_USAGE ||
      (key.SigningAlgorithms !== undefined && !key.SigningAlgorithms.includes(SIGNING_ALGORITHM));
    if (wrongKey) {
      throw signerError(
        SIGNER_ERROR_CODES.kmsWrongKeySpec,
        `KMS key ${keyId} is ${String(key.KeySpec)} for ${String(key.KeyUsage)}, not ${KEY_SPEC} for ${KEY_USAGE}`,
        { details: { keyId, keySpec: key.KeySpec, keyUsage: key.KeyUsage } },
      );
    }
    const address = key.PublicKey && addressFromSpki(key.PublicKey);
    if (!address) {
      throw signerError(SIGNER_ERROR_CODES.kmsBadResponse, `KMS key ${keyId}: not a secp256k1 public key`, {
        details: { keyId },
      });
    }
    return address;
  };

  let cached: Promise<string> | undefined;
  const address = (): Promise<string> => {
    cached ??= loadAddress().catch((error: unknown) => {
      // A failure is not cached: the next call asks KMS again.
      cached = undefined;
      throw error;
    });
    return cached;
  };

  return {
    address,
    async signTransaction(transaction: UnsignedTransaction): Promise<SignedTransaction> {
      const unsigned = toEthersTransaction(transaction);
      const digest = unsigned.unsignedHash;
      const from = await address();
      const answer = await call("Sign", () =>
        client.send(
          new SignCommand({
            KeyId: keyId,
            Message: getBytes(digest),
            MessageType: "DIGEST",
            SigningAlgorithm: SIGNING_ALGORITHM,
          }),
        ),
      );
      if (!answer.Signature) {
        throw signerError(SIGNER_ERROR_CODES.kmsBadResponse, `KMS Sign with ${keyId} returned no signature`);
      }
      const { r, s } = decodeDerSignature(answer.Signature);
      return toSignedTransaction(unsigned, toEthereumSignature(digest, r, s, from));
    },
  };
}

/** Socket-level failures: KMS was not reached or did not answer, so asking again can help. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

const KMS_ERRORS: Readonly<Record<string, { code: SignerErrorCode; retryable: boolean }>> = {
  ThrottlingException: { code: SIGNER_ERROR_CODES.kmsThrottled, retryable: true },
  AccessDeniedException: { code: SIGNER_ERROR_CODES.kmsAccessDenied, retryable: false },
  DisabledException: { code: SIGNER_ERROR_CODES.kmsKeyDisabled, retryable: false },
  NotFoundException: { code: SIGNER_ERROR_CODES.kmsKeyNotFound, retryable: false },
  KMSInvalidStateException: { code: SIGNER_ERROR_CODES.kmsKeyInvalidState, retryable: false },
  InvalidKeyUsageException: { code: SIGNER_ERROR_CODES.kmsWrongKeySpec, retryable: false },
  // GetPublicKey's answer for a symmetric key.
  UnsupportedOperationException: { code: SIGNER_ERROR_CODES.kmsWrongKeySpec, retryable: false },
};

/** Maps whatever a KMS call threw to the signer's AppError; `retryable` also drives the backoff. */
export function kmsError(error: unknown, operation: string, keyId: string): AppError {
  if (error instanceof AppError) return error;
  const details: Record<string, unknown> = { keyId, operation };
  if (error instanceof KMSServiceException) {
    const status = error.$metadata.httpStatusCode;
    details.kmsError = error.name;
    details.httpStatus = status;
    const known = KMS_ERRORS[error.name];
    const { code, retryable } =
      known ??
      (error.$fault === "server" || (status ?? 0) >= 500
        ? { code: SIGNER_ERROR_CODES.kmsUnavailable, retryable: true }
        : status === 429
          ? { code: SIGNER_ERROR_CODES.kmsThrottled, retryable: true }
          : { code: SIGNER_ERROR_CODES.kmsRejected, retryable: false });
    return signerError(code, `KMS ${operation} with ${keyId}: ${error.name}: ${error.message}`, {
      retryable,
      cause: error,
      details,
    });
  }
  const name = error instanceof Error ? error.name : typeof error;
  const systemCode = (error as { code?: unknown } | null)?.code;
  const network = name === "TimeoutError" || (typeof systemCode === "string" && NETWORK_ERROR_CODES.has(systemCode));
  const message = error instanceof Error ? error.message : String(error);
  return signerError(
    network ? SIGNER_ERROR_CODES.kmsUnavailable : SIGNER_ERROR_CODES.kmsClientError,
    `KMS ${operation} with ${keyId} failed before KMS answered: ${name}: ${message}`,
    { retryable: network, cause: error, details: { ...details, errorCode: systemCode } },
  );
}
