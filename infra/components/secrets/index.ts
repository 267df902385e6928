import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Where a secret's value comes from. */
export type SecretSource =
  /** Composed from created resources, or taken from Pulumi secret config. */
  | { readonly value: pulumi.Input<string> }
  /** Generated here, `length` characters, and never shown anywhere. */
  | { readonly generate: number }
  /** Put by an operator (`aws secretsmanager put-secret-value`); Pulumi creates the empty secret. */
  | { readonly outOfBand: string }
  /**
   * Composed from another secret's value (a URL around a generated password), so the two can
   * never disagree. `from` names a secret of the same set with a `value` or `generate` source.
   */
  | {
      readonly from: string;
      readonly compose: (value: pulumi.Output<string>) => pulumi.Input<string>;
    };

export interface PlatformSecretsArgs {
  /** Secrets live under `<prefix>/<name>`, e.g. `paimon/staging/database-url`. */
  readonly prefix: string;
  /** Account, partition and region, for the ARN pattern the readers' policies name. */
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
  /** Encrypts every secret (never the AWS-managed key). */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Days a deleted secret can still be restored. */
  readonly recoveryWindowDays: number;
  /** The secrets, by name (kebab-case: the keys of the synced Kubernetes secret). */
  readonly secrets: Readonly<Record<string, SecretSource>>;
  /**
   * `protect` each secret: Pulumi refuses to delete or replace it until a reviewed change lifts it.
   * @default false
   */
  readonly protect?: boolean;
}

/** The ARN pattern of every secret under `prefix`: what a reader of the whole stack's secrets is granted. */
export function secretArnPattern(
  scope: { partition: string; region: string; accountId: string },
  prefix: string,
): string {
  return `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.accountId}:secret:${prefix}/*`;
}

/** What is wrong with a set of secrets, one line per secret naming its key; empty when nothing is. */
export function secretsProblems(secrets: Readonly<Record<string, SecretSource>>): string[] {
  return Object.entries(secrets).flatMap(([key, source]) => {
    if (!/^[a-z][a-z0-9-]*$/.test(key)) {
      return [`secrets.${key}: names are kebab-case (they become Kubernetes secret keys)`];
    }
    if (!("from" in source)) return [];
    const origin = secrets[source.from];
    return origin !== undefined && ("value" in origin || "generate" in origin)
      ? []
      : [
          `secrets.${key}: derives from ${JSON.stringify(source.from)}, which must be a secret of this set ` +
            "with a value or generate source (not set out of band, not itself derived)",
        ];
  });
}

/**
 * The seed's §2.4 `paimon-secrets`, done properly: each key is a Secrets Manager secret under
 * the stack's prefix, KMS-encrypted, versioned by AWS, synced into the cluster by External
 * Secrets. No value is ever in the repository, a snapshot, or a log.
 */
export class PlatformSecrets extends pulumi.ComponentResource {
  /** ARN of each secret, by name. */
  readonly arns: Readonly<Record<string, pulumi.Output<string>>>;
  /** Secret names (`<prefix>/<name>`), by name. */
  readonly names: Readonly<Record<string, string>>;
  /** `arn:…:secret:<prefix>/*`: what a reader of the whole stack's secrets is granted. */
  readonly arnPattern: string;

  constructor(name: string, args: PlatformSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:security:PlatformSecrets", name, {}, opts);
    const problems = secretsProblems(args.secrets);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("; "), this);
    const child = { parent: this };
    const arns: Record<string, pulumi.Output<string>> = {};
    const names: Record<string, string> = {};
    // Values the program knows, by name; derived secrets come last, after the values they read.
    const values: Record<string, pulumi.Output<string>> = {};
    const order = ([key, source]: [string, SecretSource]) => `${"from" in source ? 1 : 0}${key}`;
    for (const [key, source] of Object.entries(args.secrets).sort((a, b) => (order(a) < order(b) ? -1 : 1))) {
      const secretName = `${args.prefix}/${key}`;
      const secret = new aws.secretsmanager.Secret(
        `${name}-${key}`,
        {
          name: secretName,
          description: "outOfBand" in source ? `Set out of band: ${source.outOfBand}` : `Paimon ${key}`,
          kmsKeyId: args.kmsKeyArn,
          recoveryWindowInDays: args.recoveryWindowDays,
        },
        { ...child, protect: args.protect ?? false },
      );
      if ("value" in source) values[key] = pulumi.output(source.value);
      if ("generate" in source) {
        values[key] = new random.RandomPassword(
          `${name}-${key}`,
          { length: source.generate, special: false },
          child,
        ).result;
      }
      if ("from" in source) {
        const origin = values[source.from];
        // Checked above; the order guarantees the value it derives from is known by now.
        if (origin === undefined) throw new pulumi.ResourceError(`secrets.${key}: ${source.from} has no value`, this);
        values[key] = pulumi.output(source.compose(origin));
      }
      const value = values[key];
      if (value !== undefined) {
        new aws.secretsmanager.SecretVersion(
          `${name}-${key}`,
          { secretId: secret.id, secretString: pulumi.secret(value) },
          child,
        );
      }
      arns[key] = secret.arn;
      names[key] = secretName;
    }
    this.arns = arns;
    this.names = names;
    this.arnPattern = secretArnPattern(args, args.prefix);
    this.registerOutputs({ arns: this.arns });
  }
}
