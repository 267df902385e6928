import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dataKeyPolicy, signingKeyPolicy, type KeyPolicyScope } from "./policies";

/** The key spec of the fund operator's key: secp256k1, the curve of BSC (and Ethereum) accounts. */
export const SIGNING_KEY_SPEC = "ECC_SECG_P256K1";

export interface KeysArgs {
  /** Alias prefix, e.g. `paimon-staging`: aliases are `alias/<prefix>-data` and `alias/<prefix>-operator-signing`. */
  readonly aliasPrefix: string;
  /** Account, partition and region the keys live in. */
  readonly scope: KeyPolicyScope;
  /**
   * Waiting period, in days, between scheduling the data key's deletion and its deletion.
   * AWS allows 7–30. @default 30
   */
  readonly dataKeyDeletionWindowDays?: number;
  /** The same for the signing key; keep it at 30. @default 30 */
  readonly signingKeyDeletionWindowDays?: number;
  /**
   * IAM role ARNs allowed to sign with the operator key (`kms:Sign`, `kms:GetPublicKey`).
   * Only the rebalance worker's role belongs here.
   * @default [] — nobody can sign until that role exists.
   */
  readonly signerRoleArns?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The platform's KMS keys:
 * - the data key (symmetric, rotated yearly) encrypts the backup bucket, logs, and later the
 *   databases, caches, cluster secrets and Secrets Manager;
 * - the operator signing key (secp256k1, SIGN_VERIFY) signs the fund's transactions. AWS cannot
 *   rotate asymmetric keys, and a new key would be a new on-chain operator address, so it is
 *   protected from deletion in Pulumi and in its own key policy instead.
 */
export class Keys extends pulumi.ComponentResource {
  readonly dataKeyArn: pulumi.Output<string>;
  readonly dataKeyId: pulumi.Output<string>;
  readonly signingKeyArn: pulumi.Output<string>;
  readonly signingKeyId: pulumi.Output<string>;

  constructor(name: string, args: KeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:security:Keys", name, {}, opts);
    const dataWindow = args.dataKeyDeletionWindowDays ?? 30;
    const signingWindow = args.signingKeyDeletionWindowDays ?? 30;
    for (const [field, value] of [
      ["dataKeyDeletionWindowDays", dataWindow],
      ["signingKeyDeletionWindowDays", signingWindow],
    ] as const) {
      if (!Number.isInteger(value) || value < 7 || value > 30) {
        throw new pulumi.ResourceError(`${field}: ${value} is outside the 7–30 days AWS allows`, this);
      }
    }
    const child = { parent: this };

    const dataKey = new aws.kms.Key(
      `${name}-data`,
      {
        description: `${args.aliasPrefix} data encryption (backups, logs, data stores, secrets)`,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: dataWindow,
        policy: JSON.stringify(dataKeyPolicy(args.scope)),
      },
      child,
    );
    new aws.kms.Alias(`${name}-data`, { name: `alias/${args.aliasPrefix}-data`, targetKeyId: dataKey.keyId }, child);

    const signers = pulumi.output(args.signerRoleArns ?? []);
    const signingKey = new aws.kms.Key(
      `${name}-operator-signing`,
      {
        description: `${args.aliasPrefix} fund operator transaction signing (secp256k1); never rotate, never delete`,
        keyUsage: "SIGN_VERIFY",
        customerMasterKeySpec: SIGNING_KEY_SPEC,
        // AWS rotates only symmetric keys; rotating this one by hand would change the operator address.
        enableKeyRotation: false,
        deletionWindowInDays: signingWindow,
        policy: signers.apply((arns) => JSON.stringify(signingKeyPolicy(args.scope, arns))),
      },
      { ...child, protect: true },
    );
    new aws.kms.Alias(
      `${name}-operator-signing`,
      { name: `alias/${args.aliasPrefix}-operator-signing`, targetKeyId: signingKey.keyId },
      child,
    );

    this.dataKeyArn = dataKey.arn;
    this.dataKeyId = dataKey.keyId;
    this.signingKeyArn = signingKey.arn;
    this.signingKeyId = signingKey.keyId;
    this.registerOutputs({
      dataKeyArn: this.dataKeyArn,
      signingKeyArn: this.signingKeyArn,
      signingKeyId: this.signingKeyId,
    });
  }
}
