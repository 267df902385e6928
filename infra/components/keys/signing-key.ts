import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assertDeletionWindow } from "./data-key";
import { signingKeyPolicy, type KeyPolicyScope } from "./policies";

/** The standby Region's copy of the operator key: same key material, so the same address. */
export interface SigningKeyReplicaArgs {
  /** The standby Region (`paimon:dr.region`). */
  readonly region: string;
  /**
   * The standby stack's rebalance worker role, which may sign with the replica once the standby
   * stack has created it (by ARN, pinned in a condition: it does not exist until then).
   */
  readonly standbySignerRoleArns: readonly string[];
}

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
  /**
   * Keep a replica in the standby Region. The key is then a multi-Region key: the contract
   * knows the operator by the key's address, and only a replica of the same key material keeps
   * that address when the primary Region is lost. Whether a key is multi-Region is fixed when it
   * is created (changing it replaces the key, which would change the address).
   */
  readonly replica?: SigningKeyReplicaArgs;
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
  /** The standby Region's replica, when there is one. */
  readonly replicaArn?: pulumi.Output<string>;

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
        // Set only where there is a replica: an absent multiRegion is the provider's false, and
        // writing it out would read as a replacing change of every existing key.
        ...(args.replica ? { multiRegion: true } : {}),
        policy: signers.apply((arns) =>
          JSON.stringify(signingKeyPolicy(args.scope, arns, { replicaRegion: args.replica?.region })),
        ),
      },
      { ...child, protect: true },
    );
    const alias = `alias/${args.aliasPrefix}-operator-signing`;
    new aws.kms.Alias(`${name}-operator-signing`, { name: alias, targetKeyId: key.keyId }, child);
    this.keyArn = key.arn;
    this.keyId = key.keyId;

    if (args.replica) {
      const { region, standbySignerRoleArns } = args.replica;
      const replica = new aws.kms.ReplicaKey(
        `${name}-operator-signing-replica`,
        {
          region,
          primaryKeyArn: key.arn,
          description: `${args.aliasPrefix} fund operator signing key, standby replica (${region}); never delete`,
          deletionWindowInDays: window,
          policy: JSON.stringify(signingKeyPolicy({ ...args.scope, region }, [], { standbySignerRoleArns })),
        },
        { ...child, protect: true },
      );
      new aws.kms.Alias(`${name}-operator-signing-replica`, { region, name: alias, targetKeyId: replica.keyId }, child);
      this.replicaArn = replica.arn;
    }
    this.registerOutputs({ keyArn: this.keyArn, keyId: this.keyId, replicaArn: this.replicaArn });
  }
}
