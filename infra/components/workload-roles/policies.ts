import type * as aws from "@pulumi/aws";

/**
 * What each workload may do, and nothing more. Pure functions of ARNs, so that every grant is
 * reviewed as data and tested without the engine.
 */

const document = (...statements: aws.iam.PolicyStatement[]): aws.iam.PolicyDocument => ({
  Version: "2012-10-17",
  Statement: statements,
});

/** Writing encrypted objects under the data key: what every backup job needs of KMS. */
const encryptWithDataKey = (dataKeyArn: string): aws.iam.PolicyStatement => ({
  Sid: "EncryptWithDataKey",
  Effect: "Allow",
  Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
  Resource: dataKeyArn,
});

/** Put-only access to one prefix of the backup bucket: a backup job can add, never read or delete. */
function writeBackups(bucketArn: string, prefix: string): aws.iam.PolicyStatement[] {
  return [
    {
      Sid: "WriteOwnPrefix",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: `${bucketArn}/${prefix}/*`,
    },
    {
      Sid: "ListOwnPrefix",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [`${prefix}/*`] } },
    },
  ];
}

/** The rebalance worker signs the fund's transactions with the operator key, and only that. */
export function rebalanceWorkerPolicy(signingKeyArn: string): aws.iam.PolicyDocument {
  return document({
    Sid: "SignWithOperatorKey",
    Effect: "Allow",
    Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
    Resource: signingKeyArn,
  });
}

/** The daily pg_dump job (on top of RDS point-in-time recovery). */
export function postgresBackupPolicy(bucketArn: string, dataKeyArn: string): aws.iam.PolicyDocument {
  return document(...writeBackups(bucketArn, "postgres"), encryptWithDataKey(dataKeyArn));
}

/** The daily TimescaleDB dump job. */
export function timescaleBackupPolicy(bucketArn: string, dataKeyArn: string): aws.iam.PolicyDocument {
  return document(...writeBackups(bucketArn, "timescaledb"), encryptWithDataKey(dataKeyArn));
}

/**
 * The hourly Redis backup. ElastiCache refuses BGSAVE, so the job takes snapshots through the
 * API and deletes those older than the retention: create on the one replication group, and
 * describe / delete / tag only snapshots named after this stack.
 */
export function redisSnapshotPolicy(replicationGroupArn: string, snapshotArnPrefix: string): aws.iam.PolicyDocument {
  return document(
    {
      Sid: "SnapshotTheReplicationGroup",
      Effect: "Allow",
      Action: ["elasticache:CreateSnapshot", "elasticache:AddTagsToResource"],
      Resource: [replicationGroupArn, `${snapshotArnPrefix}*`],
    },
    {
      Sid: "ExpireOwnSnapshots",
      Effect: "Allow",
      Action: ["elasticache:DescribeSnapshots", "elasticache:DeleteSnapshot"],
      Resource: `${snapshotArnPrefix}*`,
    },
    {
      Sid: "SeeTheReplicationGroup",
      Effect: "Allow",
      Action: "elasticache:DescribeReplicationGroups",
      Resource: replicationGroupArn,
    },
  );
}

/** The daily encrypted export of the stack's secrets (§7.1: Secrets, daily, 90 days). */
export function secretsBackupPolicy(
  secretArnPattern: string,
  bucketArn: string,
  dataKeyArn: string,
): aws.iam.PolicyDocument {
  return document(
    {
      Sid: "ReadStackSecrets",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
      Resource: secretArnPattern,
    },
    {
      Sid: "ListSecrets",
      Effect: "Allow",
      Action: "secretsmanager:ListSecrets",
      // ListSecrets supports no resource-level permission; it returns names, never values.
      Resource: "*",
    },
    ...writeBackups(bucketArn, "secrets"),
    encryptWithDataKey(dataKeyArn),
  );
}

/** External Secrets syncs `paimon/<stack>/*` into the cluster, and nothing else. */
export function externalSecretsPolicy(secretArnPattern: string, dataKeyArn: string): aws.iam.PolicyDocument {
  return document(
    {
      Sid: "ReadStackSecrets",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      Resource: secretArnPattern,
    },
    { Sid: "DecryptStackSecrets", Effect: "Allow", Action: "kms:Decrypt", Resource: dataKeyArn },
  );
}

/** The log shipper writes documents into the log domain's indices. */
export function logShipperPolicy(domainArn: string): aws.iam.PolicyDocument {
  return document({
    Sid: "WriteLogDomain",
    Effect: "Allow",
    Action: ["es:ESHttpPost", "es:ESHttpPut", "es:ESHttpGet", "es:ESHttpHead"],
    Resource: [domainArn, `${domainArn}/*`],
  });
}

/** The EBS CSI driver may use the data key to encrypt volumes (the managed policy covers EC2). */
export function ebsCsiKmsPolicy(dataKeyArn: string): aws.iam.PolicyDocument {
  return document(
    {
      Sid: "CreateGrantsForAttachedVolumes",
      Effect: "Allow",
      Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      Resource: dataKeyArn,
      Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
    },
    {
      Sid: "EncryptVolumes",
      Effect: "Allow",
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: dataKeyArn,
    },
  );
}

/**
 * cert-manager answers the origin's DNS-01 challenges in Route 53: TXT records named
 * `_acme-challenge.<host>` in the one zone, upserted and deleted, nothing else. Finding the
 * zone by name (`ListHostedZonesByName`) and polling a change (`GetChange`) support no narrower
 * resource; they return zone names and change status, never records.
 * @param recordNames the challenge records, e.g. `_acme-challenge.origin-api.paimon.fund`
 */
export function certManagerDns01Policy(
  partition: string,
  hostedZoneId: string,
  recordNames: readonly string[],
): aws.iam.PolicyDocument {
  const zone = `arn:${partition}:route53:::hostedzone/${hostedZoneId}`;
  return document(
    {
      Sid: "WriteChallengeRecords",
      Effect: "Allow",
      Action: "route53:ChangeResourceRecordSets",
      Resource: zone,
      Condition: {
        "ForAllValues:StringEquals": {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames": [...recordNames],
          "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
          "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
        },
      },
    },
    { Sid: "ReadZoneRecords", Effect: "Allow", Action: "route53:ListResourceRecordSets", Resource: zone },
    {
      Sid: "WatchChallengeChanges",
      Effect: "Allow",
      Action: "route53:GetChange",
      Resource: `arn:${partition}:route53:::change/*`,
    },
    { Sid: "FindTheZone", Effect: "Allow", Action: "route53:ListHostedZonesByName", Resource: "*" },
  );
}

/**
 * The log domain's security provisioner (the domain's master user) finds the domain's endpoint
 * and writes roles and role mappings through the security plugin's API, and nothing else: no
 * index, no document.
 */
export function logDomainSecurityPolicy(domainArn: string): aws.iam.PolicyDocument {
  return document(
    { Sid: "FindTheDomain", Effect: "Allow", Action: "es:DescribeDomain", Resource: domainArn },
    {
      Sid: "WriteSecurityConfiguration",
      Effect: "Allow",
      Action: "es:ESHttpPut",
      Resource: `${domainArn}/_plugins/_security/api/*`,
    },
  );
}
