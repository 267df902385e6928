/**
 * The operator's signer in development and tests: a private key from configuration, held in
 * memory by an ethers `Wallet`. Production keeps the operator key in KMS only, so this signer
 * refuses to exist there (a wrong configuration fails at start, not at the first transaction).
 * It signs exactly what the KMS signer signs (`toEthersTransaction`), so the sender cannot tell
 * them apart.
 */
import type { BaseConfig } from "@paimon/core/config";
import { Wallet } from "ethers";
import {
  SIGNER_ERROR_CODES,
  signerError,
  toEthersTransaction,
  toSignedTransaction,
  type OperatorSigner,
  type SignedTransaction,
  type UnsignedTransaction,
} from "./signer";

export interface LocalSignerOptions {
  /** The operator's secp256k1 private key, 32 bytes as `0x`-prefixed hex. Never logged. */
  readonly privateKey: string;
  /** The environment the process runs in; `production` is refused. */
  readonly environment: BaseConfig["ENVIRONMENT"];
}

export function createLocalSigner(options: LocalSignerOptions): OperatorSigner {
  if (options.environment === "production") {
    throw signerError(
      SIGNER_ERROR_CODES.localSignerInProduction,
      "a local private-key signer cannot be used in production; configure the KMS signer",
    );
  }
  let wallet: Wallet;
  try {
    wallet = new Wallet(options.privateKey);
  } catch {
    // Neither the key nor ethers' error (which quotes its argument) goes into the AppError.
    throw signerError(SIGNER_ERROR_CODES.localSignerInvalidKey, "the configured private key is not a secp256k1 key");
  }
  const address = wallet.address;
  return {
    address: () => Promise.resolve(address),
    signTransaction: (transaction: UnsignedTransaction): Promise<SignedTransaction> =>
      Promise.resolve().then(() => {
        const unsigned = toEthersTransaction(transaction);
        return toSignedTransaction(unsigned, wallet.signingKey.sign(unsigned.unsignedHash));
      }),
  };
}
