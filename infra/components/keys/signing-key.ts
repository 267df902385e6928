import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assertDeletionWindow } from "./data-key";
import { signingKeyPolicy, type KeyPolicyScope } from "./policies";

/** The key spec of the fund operator's key: secp256k1, the curve of BSC (and Ethereum) accounts. */
export const SIGNING_KEY_SPEC = "ECC_SECG_P256K1";

export interface SigningKeyArgs {
  /** Alias prefix: the alias is `alias/<prefix>-operator-signing`. */
  readonly aliasPrefix: string;
  /** Account, partition and region the key lives in. */
  readonly scope: KeyPolicyScope;
  /** Waiting period for deletion; keep it at the 30-day maximum. @default 30 */
  readonly deletionWindowDays?: number;
  /**
   * IAM role ARNs allowed to sign with the operator key (`kms:Sign`, `kms:GetPublicKey`).
   * Only the rebalance worker's role belongs here.
   * @default [] — nobody can sign.
   */
  readonly signerRoleArns?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The fund operator's signing key (secp256k1, SIGN_VERIFY). AWS cannot rotate asymmetric keys,
 * and a new key would be a new on-chain operator address, so instead of rotation it is protected:
 * `protect` in Pulumi, the longest deletion window, and a key policy in which nobody may schedule
 * its deletion or disable it, the account may administer but not use it, and only the listed
 * roles may sign.
 */
export class SigningKey extends pulumi.ComponentResource {
  readonly keyArn: pulumi.Output<string>;
  readonly keyId: pulumi.Output<string>;

  constructor(name: string, args: SigningKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:security:SigningKey", name, {}, opts);
    const window = args.deletionWindowDays ?? 30;
    assertDeletionWindow(this, "deletionWindowDays", window);
    const child = { parent: this };
    const signers = pulumi.output(args.signerRoleArns ?? []);
    const key = new aws.kms.Key(
      `${name}-operator-signing`,
      {
        description: `${args.aliasPrefix} fund operator transaction signing (secp256k1); never rotate, never delete`,
        keyUsage: "SIGN_VERIFY",
        customerMasterKeySpec: SIGNING_KEY_SPEC,
        // AWS rotates only symmetric keys; rotating this one by hand would change the operator address.
        enableKeyRotation: false,
        deletionWindowInDays: window,
        policy: signers.apply((arns) => JSON.stringify(signingKeyPolicy(args.scope, arns))),
      },
      { ...child, protect: true },
    );
    new aws.kms.Alias(
      `${name}-operator-signing`,
      { name: `alias/${args.aliasPrefix}-operator-signing`, targetKeyId: key.keyId },
      child,
    );
    this.keyArn = key.arn;
    this.keyId = key.keyId;
    this.registerOutputs({ keyArn: this.keyArn, keyId: this.keyId });
  }
}
