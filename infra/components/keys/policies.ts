import type * as aws from "@pulumi/aws";

/** Where a key lives, for the ARNs and service principals in its policy. */
export interface KeyPolicyScope {
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
}

/**
 * Administrative actions on a key: everything except using it, listed one by one. The account
 * root is given only these on the signing key, so no IAM policy in the account can grant
 * `kms:Sign` — only the key policy's own signer statement can. No wildcard: `kms:Create*` would
 * include `kms:CreateGrant`, and whoever may create a grant may grant themselves `kms:Sign`.
 * `kms:PutKeyPolicy` stays: KMS refuses a key policy that locks the account out of changing it,
 * and any change to this policy is a reviewed change the plan diff flags.
 */
export const KEY_ADMIN_ACTIONS: readonly string[] = [
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:EnableKey",
  "kms:GetKeyPolicy",
  "kms:GetPublicKey",
  "kms:ListAliases",
  "kms:ListGrants",
  "kms:ListKeyPolicies",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:RevokeGrant",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateAlias",
  "kms:UpdateKeyDescription",
];

/** What the one signer may do with the operator key: sign, and read the public key (its address). */
export const SIGNER_ACTIONS: readonly string[] = ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"];

/**
 * How a multi-Region signing key's policy names its other Region.
 *
 * - `replicaRegion` (the primary's policy): the account may replicate the key to that Region
 *   only. A key holds one replica per Region, so once the standby's replica exists nobody can
 *   make another copy of the key material elsewhere, with a policy of their own.
 * - `standbySignerRoleArns` (the replica's policy): the standby stack's rebalance worker role,
 *   which does not exist while the primary runs. A key policy cannot name a principal that does
 *   not exist (KMS refuses the policy), so the account is the principal and the condition pins
 *   the role's ARN: the role signs once the standby stack creates it and grants it `kms:Sign` in
 *   IAM, and no other role of the account can, whatever its IAM policy says.
 */
export interface SigningKeyReplication {
  readonly replicaRegion?: string | undefined;
  readonly standbySignerRoleArns?: readonly string[];
}

/** Actions that would end the signing key's life; denied to every principal. */
export const SIGNING_KEY_DESTRUCTIVE_ACTIONS: readonly string[] = ["kms:ScheduleKeyDeletion", "kms:DisableKey"];

const root = (scope: KeyPolicyScope) => `arn:${scope.partition}:iam::${scope.accountId}:root`;

/**
 * The data-encryption key: the account administers and uses it through IAM (the default key
 * policy), and CloudWatch Logs may use it for this account's log groups in this region only.
 * With `elastiCacheExportBucket`, ElastiCache's snapshot export may have S3 encrypt and read back
 * what it writes into that bucket, whose default encryption is this key: its service principal
 * is no IAM principal of the account, so only the key policy can let S3 use the key for it —
 * through S3 in this region, and for that bucket alone (its ARN is the encryption context S3 Bucket
 * Keys use).
 */
export function dataKeyPolicy(
  scope: KeyPolicyScope,
  options: { readonly elastiCacheExportBucket?: string | undefined } = {},
): aws.iam.PolicyDocument {
  const exportBucket = options.elastiCacheExportBucket;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministersAndDelegatesThroughIam",
        Effect: "Allow",
        Principal: { AWS: root(scope) },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
        Effect: "Allow",
        Principal: { Service: `logs.${scope.region}.amazonaws.com` },
        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        Resource: "*",
        Condition: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": `arn:${scope.partition}:logs:${scope.region}:${scope.accountId}:log-group:*`,
          },
        },
      },
      ...(exportBucket === undefined
        ? []
        : [
            {
              Sid: "ElastiCacheExportsEncryptThroughS3",
              Effect: "Allow" as const,
              Principal: { Service: `${scope.region}.elasticache-snapshot.amazonaws.com` },
              Action: ["kms:GenerateDataKey", "kms:Decrypt"],
              Resource: "*",
              Condition: {
                StringEquals: {
                  "kms:ViaService": `s3.${scope.region}.amazonaws.com`,
                  "kms:EncryptionContext:aws:s3:arn": `arn:${scope.partition}:s3:::${exportBucket}`,
                },
              },
            },
          ]),
    ],
  };
}

/**
 * The fund operator's signing key. The account may administer it but not use it; only the
 * listed roles (the rebalance worker's) may sign; and nobody may schedule its deletion or disable
 * it — doing either first takes a reviewed change to this policy, which the plan diff flags.
 */
export function signingKeyPolicy(
  scope: KeyPolicyScope,
  signerRoleArns: readonly string[],
  replication: SigningKeyReplication = {},
): aws.iam.PolicyDocument {
  const statements: aws.iam.PolicyStatement[] = [
    {
      Sid: "AccountAdministersButCannotSign",
      Effect: "Allow",
      Principal: { AWS: root(scope) },
      Action: [...KEY_ADMIN_ACTIONS],
      Resource: "*",
    },
    {
      Sid: "NobodyDeletesOrDisablesTheOperatorKey",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: [...SIGNING_KEY_DESTRUCTIVE_ACTIONS],
      Resource: "*",
    },
  ];
  if (signerRoleArns.length > 0) {
    statements.push({
      Sid: "RebalanceWorkerSigns",
      Effect: "Allow",
      Principal: { AWS: [...signerRoleArns].sort() },
      Action: [...SIGNER_ACTIONS],
      Resource: "*",
    });
  }
  if (replication.replicaRegion !== undefined) {
    statements.push({
      Sid: "AccountReplicatesOnlyToTheStandbyRegion",
      Effect: "Allow",
      Principal: { AWS: root(scope) },
      Action: "kms:ReplicateKey",
      Resource: "*",
      Condition: { StringEquals: { "kms:ReplicaRegion": replication.replicaRegion } },
    });
  }
  const standby = [...(replication.standbySignerRoleArns ?? [])].sort();
  if (standby.length > 0) {
    statements.push({
      Sid: "StandbyRebalanceWorkerSigns",
      Effect: "Allow",
      Principal: { AWS: root(scope) },
      Action: [...SIGNER_ACTIONS],
      Resource: "*",
      Condition: { ArnEquals: { "aws:PrincipalArn": standby } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}
