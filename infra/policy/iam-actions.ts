/**
 * The IAM actions of the AWS services the platform uses, so that a pattern (`kms:Create*`,
 * `s3:*`) can be read as the actions it grants. A service marked `complete` lists every action
 * its service authorization reference names; the others list the actions the platform, its
 * add-ons and an attacker are known to use, and a pattern over them reads "at least".
 */
export interface ServiceActions {
  readonly complete: boolean;
  readonly actions: readonly string[];
}

export const IAM_ACTIONS: Readonly<Record<string, ServiceActions>> = {
  kms: {
    complete: true,
    actions: [
      "CancelKeyDeletion",
      "ConnectCustomKeyStore",
      "CreateAlias",
      "CreateCustomKeyStore",
      "CreateGrant",
      "CreateKey",
      "Decrypt",
      "DeleteAlias",
      "DeleteCustomKeyStore",
      "DeleteImportedKeyMaterial",
      "DeriveSharedSecret",
      "DescribeCustomKeyStores",
      "DescribeKey",
      "DisableKey",
      "DisableKeyRotation",
      "DisconnectCustomKeyStore",
      "EnableKey",
      "EnableKeyRotation",
      "Encrypt",
      "GenerateDataKey",
      "GenerateDataKeyPair",
      "GenerateDataKeyPairWithoutPlaintext",
      "GenerateDataKeyWithoutPlaintext",
      "GenerateMac",
      "GenerateRandom",
      "GetKeyPolicy",
      "GetKeyRotationStatus",
      "GetParametersForImport",
      "GetPublicKey",
      "ImportKeyMaterial",
      "ListAliases",
      "ListGrants",
      "ListKeyPolicies",
      "ListKeyRotations",
      "ListKeys",
      "ListResourceTags",
      "ListRetirableGrants",
      "PutKeyPolicy",
      "ReEncryptFrom",
      "ReEncryptTo",
      "ReplicateKey",
      "RetireGrant",
      "RevokeGrant",
      "RotateKeyOnDemand",
      "ScheduleKeyDeletion",
      "Sign",
      "SynchronizeMultiRegionKey",
      "TagResource",
      "UntagResource",
      "UpdateAlias",
      "UpdateCustomKeyStore",
      "UpdateKeyDescription",
      "UpdatePrimaryRegion",
      "Verify",
      "VerifyMac",
    ],
  },
  sts: {
    complete: true,
    actions: [
      "AssumeRole",
      "AssumeRoleWithSAML",
      "AssumeRoleWithWebIdentity",
      "AssumeRoot",
      "DecodeAuthorizationMessage",
      "GetAccessKeyInfo",
      "GetCallerIdentity",
      "GetFederationToken",
      "GetServiceBearerToken",
      "GetSessionToken",
      "SetContext",
      "SetSourceIdentity",
      "TagSession",
    ],
  },
  secretsmanager: {
    complete: true,
    actions: [
      "BatchGetSecretValue",
      "CancelRotateSecret",
      "CreateSecret",
      "DeleteResourcePolicy",
      "DeleteSecret",
      "DescribeSecret",
      "GetRandomPassword",
      "GetResourcePolicy",
      "GetSecretValue",
      "ListSecretVersionIds",
      "ListSecrets",
      "PutResourcePolicy",
      "PutSecretValue",
      "RemoveRegionsFromReplication",
      "ReplicateSecretToRegions",
      "RestoreSecret",
      "RotateSecret",
      "StopReplicationToReplica",
      "TagResource",
      "UntagResource",
      "UpdateSecret",
      "UpdateSecretVersionStage",
      "ValidateResourcePolicy",
    ],
  },
  iam: {
    complete: false,
    actions: [
      "AddRoleToInstanceProfile",
      "AddUserToGroup",
      "AttachGroupPolicy",
      "AttachRolePolicy",
      "AttachUserPolicy",
      "ChangePassword",
      "CreateAccessKey",
      "CreateGroup",
      "CreateInstanceProfile",
      "CreateLoginProfile",
      "CreateOpenIDConnectProvider",
      "CreatePolicy",
      "CreatePolicyVersion",
      "CreateRole",
      "CreateServiceLinkedRole",
      "CreateUser",
      "DeleteAccessKey",
      "DeleteGroup",
      "DeleteGroupPolicy",
      "DeleteInstanceProfile",
      "DeleteLoginProfile",
      "DeleteOpenIDConnectProvider",
      "DeletePolicy",
      "DeletePolicyVersion",
      "DeleteRole",
      "DeleteRolePermissionsBoundary",
      "DeleteRolePolicy",
      "DeleteServiceLinkedRole",
      "DeleteUser",
      "DeleteUserPermissionsBoundary",
      "DeleteUserPolicy",
      "DetachGroupPolicy",
      "DetachRolePolicy",
      "DetachUserPolicy",
      "GetAccountAuthorizationDetails",
      "GetGroup",
      "GetGroupPolicy",
      "GetInstanceProfile",
      "GetOpenIDConnectProvider",
      "GetPolicy",
      "GetPolicyVersion",
      "GetRole",
      "GetRolePolicy",
      "GetUser",
      "GetUserPolicy",
      "ListAttachedRolePolicies",
      "ListInstanceProfiles",
      "ListPolicies",
      "ListRolePolicies",
      "ListRoles",
      "ListUsers",
      "PassRole",
      "PutGroupPolicy",
      "PutRolePermissionsBoundary",
      "PutRolePolicy",
      "PutUserPermissionsBoundary",
      "PutUserPolicy",
      "RemoveRoleFromInstanceProfile",
      "RemoveUserFromGroup",
      "SetDefaultPolicyVersion",
      "TagRole",
      "UntagRole",
      "UpdateAccessKey",
      "UpdateAssumeRolePolicy",
      "UpdateLoginProfile",
      "UpdateOpenIDConnectProviderThumbprint",
      "UpdateRole",
      "UploadSSHPublicKey",
    ],
  },
  s3: {
    complete: false,
    actions: [
      "AbortMultipartUpload",
      "BypassGovernanceRetention",
      "CreateBucket",
      "DeleteBucket",
      "DeleteBucketOwnershipControls",
      "DeleteBucketPolicy",
      "DeleteObject",
      "DeleteObjectTagging",
      "DeleteObjectVersion",
      "GetBucketAcl",
      "GetBucketLocation",
      "GetBucketLogging",
      "GetBucketPolicy",
      "GetBucketPublicAccessBlock",
      "GetBucketVersioning",
      "GetEncryptionConfiguration",
      "GetLifecycleConfiguration",
      "GetObject",
      "GetObjectAcl",
      "GetObjectTagging",
      "GetObjectVersion",
      "GetObjectVersionAcl",
      "GetObjectVersionForReplication",
      "GetObjectVersionTagging",
      "GetReplicationConfiguration",
      "ListAllMyBuckets",
      "ListBucket",
      "ListBucketVersions",
      "ListMultipartUploadParts",
      "ObjectOwnerOverrideToBucketOwner",
      "PutAccountPublicAccessBlock",
      "PutBucketAcl",
      "PutBucketLogging",
      "PutBucketObjectLockConfiguration",
      "PutBucketOwnershipControls",
      "PutBucketPolicy",
      "PutBucketPublicAccessBlock",
      "PutBucketVersioning",
      "PutEncryptionConfiguration",
      "PutLifecycleConfiguration",
      "PutObject",
      "PutObjectAcl",
      "PutObjectLegalHold",
      "PutObjectRetention",
      "PutObjectTagging",
      "PutReplicationConfiguration",
      "ReplicateDelete",
      "ReplicateObject",
      "ReplicateTags",
      "RestoreObject",
    ],
  },
  es: {
    complete: false,
    actions: [
      "AddTags",
      "CreateDomain",
      "DeleteDomain",
      "DescribeDomain",
      "DescribeDomainConfig",
      "DescribeDomains",
      "ESHttpDelete",
      "ESHttpGet",
      "ESHttpHead",
      "ESHttpPatch",
      "ESHttpPost",
      "ESHttpPut",
      "ListDomainNames",
      "UpdateDomainConfig",
    ],
  },
  elasticache: {
    complete: false,
    actions: [
      "AddTagsToResource",
      "Connect",
      "CopySnapshot",
      "CreateSnapshot",
      "DeleteReplicationGroup",
      "DeleteSnapshot",
      "DescribeReplicationGroups",
      "DescribeSnapshots",
      "ModifyReplicationGroup",
    ],
  },
  route53: {
    complete: false,
    actions: [
      "ChangeResourceRecordSets",
      "GetChange",
      "GetHostedZone",
      "ListHostedZones",
      "ListHostedZonesByName",
      "ListResourceRecordSets",
    ],
  },
  logs: {
    complete: false,
    actions: [
      "AssociateKmsKey",
      "CreateLogGroup",
      "CreateLogStream",
      "DeleteLogGroup",
      "DeleteRetentionPolicy",
      "DescribeLogGroups",
      "DescribeLogStreams",
      "DisassociateKmsKey",
      "FilterLogEvents",
      "GetLogEvents",
      "PutLogEvents",
      "PutResourcePolicy",
      "PutRetentionPolicy",
    ],
  },
};

/** Why an action matters to an auditor, when it does; Checkov's IAM checks name these families. */
export type ActionRisk =
  | "privilege-escalation" // CKV_AWS_286: the holder can give itself more
  | "data-exfiltration" // CKV_AWS_288: the holder reads data or secrets
  | "credentials-exposure" // CKV_AWS_287: the holder obtains credentials
  | "signing" // the fund operator's key signs on-chain transactions
  | "destructive" // the holder can delete or disable what protects data
  | "permissions-management"; // CKV_AWS_289: the holder rewrites policies

export const ACTION_RISKS: Readonly<Record<string, ActionRisk>> = {
  "iam:PassRole": "privilege-escalation",
  "iam:CreatePolicyVersion": "privilege-escalation",
  "iam:SetDefaultPolicyVersion": "privilege-escalation",
  "iam:AttachRolePolicy": "privilege-escalation",
  "iam:AttachUserPolicy": "privilege-escalation",
  "iam:AttachGroupPolicy": "privilege-escalation",
  "iam:PutRolePolicy": "privilege-escalation",
  "iam:PutUserPolicy": "privilege-escalation",
  "iam:PutGroupPolicy": "privilege-escalation",
  "iam:UpdateAssumeRolePolicy": "privilege-escalation",
  "iam:AddUserToGroup": "privilege-escalation",
  "iam:CreateLoginProfile": "privilege-escalation",
  "iam:UpdateLoginProfile": "privilege-escalation",
  "iam:CreateRole": "privilege-escalation",
  "sts:AssumeRole": "privilege-escalation",
  "kms:CreateGrant": "privilege-escalation",
  "kms:PutKeyPolicy": "privilege-escalation",
  "iam:CreateAccessKey": "credentials-exposure",
  "sts:GetFederationToken": "credentials-exposure",
  "sts:GetSessionToken": "credentials-exposure",
  "kms:Decrypt": "data-exfiltration",
  "kms:ReEncryptFrom": "data-exfiltration",
  "secretsmanager:GetSecretValue": "data-exfiltration",
  "secretsmanager:BatchGetSecretValue": "data-exfiltration",
  "s3:GetObject": "data-exfiltration",
  "s3:GetObjectVersion": "data-exfiltration",
  "es:ESHttpGet": "data-exfiltration",
  "kms:Sign": "signing",
  "kms:ScheduleKeyDeletion": "destructive",
  "kms:DisableKey": "destructive",
  "kms:DeleteImportedKeyMaterial": "destructive",
  "s3:DeleteBucket": "destructive",
  "s3:DeleteObjectVersion": "destructive",
  "s3:PutBucketVersioning": "destructive",
  "s3:PutLifecycleConfiguration": "destructive",
  "s3:BypassGovernanceRetention": "destructive",
  "secretsmanager:DeleteSecret": "destructive",
  "s3:PutBucketPolicy": "permissions-management",
  "s3:DeleteBucketPolicy": "permissions-management",
  "s3:PutBucketAcl": "permissions-management",
  "s3:PutBucketPublicAccessBlock": "permissions-management",
  "secretsmanager:PutResourcePolicy": "permissions-management",
};

/**
 * Whether a policy's wildcard pattern (`*` any run, `?` one character) covers `value`, itself maybe
 * a pattern: a pattern covers another when it matches its text, so `a/*` covers `a/b/*`.
 */
export function globCovers(pattern: string, value: string, options: { readonly ignoreCase: boolean }): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    // `?` is one character, never the run a `*` of the covered pattern stands for.
    .replace(/\?/g, "[^*]");
  return new RegExp(`^${source}$`, options.ignoreCase ? "i" : "").test(value);
}

/** Whether an IAM action pattern covers an action (action names ignore case). */
export const patternCovers = (pattern: string, action: string): boolean =>
  globCovers(pattern, action, { ignoreCase: true });

/** What a pattern grants: the catalogued actions it covers, and whether that list may be short. */
export interface Expansion {
  readonly pattern: string;
  readonly actions: readonly string[];
  /** True when the pattern reaches a service (or every service) the catalogue lists only in part. */
  readonly atLeast: boolean;
}

export function expandAction(pattern: string): Expansion {
  const [service = "", name = ""] = pattern.includes(":") ? pattern.split(":", 2) : ["*", pattern];
  const services =
    service.includes("*") || service.includes("?")
      ? Object.keys(IAM_ACTIONS).filter((candidate) => patternCovers(service, candidate))
      : [service.toLowerCase()];
  const actions: string[] = [];
  let atLeast = service.includes("*") || service.includes("?");
  for (const candidate of services) {
    const catalogue = IAM_ACTIONS[candidate];
    if (!catalogue) {
      atLeast = true;
      continue;
    }
    if (!catalogue.complete && /[*?]/.test(name)) atLeast = true;
    for (const action of catalogue.actions) {
      if (patternCovers(name, action)) actions.push(`${candidate}:${action}`);
    }
  }
  // A literal action the catalogue does not know is still granted.
  if (!/[*?]/.test(pattern) && actions.length === 0) actions.push(pattern);
  return { pattern, actions, atLeast };
}

/** Every catalogued action a list of patterns grants (a literal unknown action as written). */
export function expandActions(patterns: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const pattern of patterns) for (const action of expandAction(pattern).actions) out.add(action);
  return out;
}

/** Whether any of `patterns` grants `action`. */
export const grants = (patterns: readonly string[], action: string): boolean =>
  patterns.some((pattern) => patternCovers(pattern, action));

/** `*` or `service:*`. */
export const isServiceWildcard = (pattern: string): boolean => pattern === "*" || /^[a-z0-9-]+:\*$/i.test(pattern);
