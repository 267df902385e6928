/**
 * The operator's transaction signer, one interface for every environment: AWS KMS in staging and
 * production (`kms.ts`), a private key from configuration in development and tests (`local.ts`).
 * The sender builds a fully populated transaction (it owns nonces and fees), a signer turns it
 * into signed raw bytes and their hash, and nothing here talks to a chain.
 *
 * Every failure is an `AppError` with a code from `SIGNER_ERROR_CODES`; `retryable` says whether
 * asking again can help (throttling, KMS 5xx, the network) or cannot (access denied, a disabled,
 * missing or wrong key, a malformed transaction).
 */
import { AppError } from "@paimon/core/errors";
import { getAddress, type Signature, Transaction } from "ethers";

interface TransactionFields {
  readonly chainId: bigint;
  readonly nonce: number;
  readonly gasLimit: bigint;
  /** The recipient; the operator never deploys, so there is always one. */
  readonly to: string;
  /** Hex calldata, `0x` for none. */
  readonly data: string;
  /** Wei. */
  readonly value: bigint;
}

/** A legacy transaction, signed with its chain id (EIP-155). */
export interface LegacyTransaction extends TransactionFields {
  readonly type: 0;
  readonly gasPrice: bigint;
}

/** An EIP-1559 transaction. */
export interface Eip1559Transaction extends TransactionFields {
  readonly type: 2;
  readonly maxFeePerGas: bigint;
  /** At most `maxFeePerGas`. */
  readonly maxPriorityFeePerGas: bigint;
}

/** Everything a signer needs, and nothing it has to look up. */
export type UnsignedTransaction = LegacyTransaction | Eip1559Transaction;

export interface SignedTransaction {
  /** The serialized signed transaction, ready for `eth_sendRawTransaction`. */
  readonly raw: string;
  /** Its transaction hash (keccak-256 of `raw`). */
  readonly hash: string;
}

export interface OperatorSigner {
  /** The operator's address, checksummed. */
  address(): Promise<string>;
  signTransaction(transaction: UnsignedTransaction): Promise<SignedTransaction>;
}

/** The stable codes of the signers' errors; alerts and the sender's retry decision read them. */
export const SIGNER_ERROR_CODES = {
  /** The transaction is incomplete or inconsistent; the caller's bug. Not retryable. */
  invalidTransaction: "signer_invalid_transaction",
  /** KMS kept throttling after every attempt. Retryable. */
  kmsThrottled: "kms_throttled",
  /** KMS answered 5xx or could not be reached after every attempt. Retryable. */
  kmsUnavailable: "kms_unavailable",
  /** The role may not use the key (key policy or IAM). Not retryable. */
  kmsAccessDenied: "kms_access_denied",
  /** The key is disabled. Not retryable. */
  kmsKeyDisabled: "kms_key_disabled",
  /** No key with this id, ARN or alias in the account and region. Not retryable. */
  kmsKeyNotFound: "kms_key_not_found",
  /** The key is pending deletion, pending import or otherwise unusable. Not retryable. */
  kmsKeyInvalidState: "kms_key_invalid_state",
  /** The key is not an `ECC_SECG_P256K1` `SIGN_VERIFY` key. Not retryable. */
  kmsWrongKeySpec: "kms_wrong_key_spec",
  /** KMS rejected the request for another reason, named in `details.kmsError`. Not retryable. */
  kmsRejected: "kms_rejected",
  /** The SDK failed before KMS answered for a reason other than the network (credentials, configuration). */
  kmsClientError: "kms_client_error",
  /** KMS answered something no secp256k1 key produces (bad DER, unrecoverable signature). */
  kmsBadResponse: "kms_bad_response",
  /** A local signer was configured in production, where only KMS may hold the operator key. */
  localSignerInProduction: "local_signer_in_production",
  /** The configured private key is not a secp256k1 private key. */
  localSignerInvalidKey: "local_signer_invalid_key",
} as const;
export type SignerErrorCode = (typeof SIGNER_ERROR_CODES)[keyof typeof SIGNER_ERROR_CODES];

export function signerError(
  code: SignerErrorCode,
  message: string,
  options: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
): AppError {
  const retryable = options.retryable ?? false;
  return new AppError(code, message, { ...options, retryable, status: retryable ? 503 : 500 });
}

const UINT256_MAX = 2n ** 256n - 1n;

/**
 * Checks the transaction and builds the ethers `Transaction` whose `unsignedHash` is signed. The
 * checks are the ones ethers would not make but a node would refuse on (a negative value, a
 * priority fee above the fee cap), so a bad transaction fails here and not after a KMS call.
 */
export function toEthersTransaction(transaction: UnsignedTransaction): Transaction {
  const invalid = (reason: string, cause?: unknown) =>
    signerError(SIGNER_ERROR_CODES.invalidTransaction, `cannot sign the transaction: ${reason}`, {
      cause,
      details: { nonce: transaction.nonce, chainId: String(transaction.chainId) },
    });
  const type: unknown = transaction.type;
  if (type !== 0 && type !== 2) throw invalid(`type ${String(type)} is neither 0 (legacy) nor 2 (EIP-1559)`);
  if (!Number.isSafeInteger(transaction.nonce) || transaction.nonce < 0)
    throw invalid("nonce must be a whole number ≥ 0");
  if (transaction.chainId <= 0n) throw invalid("chainId must be positive");
  const amounts: Record<string, bigint> =
    transaction.type === 0
      ? { gasLimit: transaction.gasLimit, value: transaction.value, gasPrice: transaction.gasPrice }
      : {
          gasLimit: transaction.gasLimit,
          value: transaction.value,
          maxFeePerGas: transaction.maxFeePerGas,
          maxPriorityFeePerGas: transaction.maxPriorityFeePerGas,
        };
  for (const [name, amount] of Object.entries(amounts)) {
    if (amount < 0n || amount > UINT256_MAX) throw invalid(`${name} must be a uint256`);
  }
  if (transaction.type === 2 && transaction.maxPriorityFeePerGas > transaction.maxFeePerGas) {
    throw invalid("maxPriorityFeePerGas exceeds maxFeePerGas");
  }
  try {
    const common = {
      chainId: transaction.chainId,
      nonce: transaction.nonce,
      gasLimit: transaction.gasLimit,
      to: getAddress(transaction.to),
      data: transaction.data,
      value: transaction.value,
    };
    return Transaction.from(
      transaction.type === 0
        ? { ...common, type: 0, gasPrice: transaction.gasPrice }
        : {
            ...common,
            type: 2,
            maxFeePerGas: transaction.maxFeePerGas,
            maxPriorityFeePerGas: transaction.maxPriorityFeePerGas,
          },
    );
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : "rejected by ethers", error);
  }
}

/** Attaches the signature and returns the raw bytes and hash the sender needs. */
export function toSignedTransaction(transaction: Transaction, signature: Signature): SignedTransaction {
  const signed = transaction.clone();
  signed.signature = signature;
  const hash = signed.hash;
  // A signed transaction always has a hash; ethers types it nullable for unsigned ones.
  if (hash === null) throw new AppError("internal_error", "a signed transaction has no hash");
  return { raw: signed.serialized, hash };
}
