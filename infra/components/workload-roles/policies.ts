import type * as aws from "@pulumi/aws";
import { DR_DRILL_SCRATCH_TAG } from "@paimon/core/workloads";

/**
 * What each workload may do, and nothing more. Pure functions of ARNs, so that every grant is
 * reviewed as data and tested without the engine.
 */

const document = (...statements: aws.iam.PolicyStatement[]): aws.iam.PolicyDocument => ({
  Version: "2012-10-17",
  Statement: statements,
});

/**
 * The data key as a backup job uses it: SSE-KMS uploads (GenerateDataKey; Decrypt for multipart
 * parts and for the read-back that verifies them), the secrets export's envelope (GenerateDataKey,
 * and Decrypt to prove it opens), and DescribeKey, which turns the key's alias — all the charts
 * can name — into the ARN the bucket policy pins.
 */
const useDataKey = (dataKeyArn: string): aws.iam.PolicyStatement => ({
  Sid: "UseDataKey",
  Effect: "Allow",
  Action: ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
  Resource: dataKeyArn,
});

/**
 * One prefix of the backup bucket: add objects, and read them back — a backup is recorded only
 * once its stored copy reads back as written. No delete: a backup job cannot remove a backup
 * (the lifecycle rules expire them).
 */
function ownPrefix(bucketArn: string, prefix: string): aws.iam.PolicyStatement[] {
  return [
    {
      Sid: "WriteOwnPrefix",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: `${bucketArn}/${prefix}/*`,
    },
    {
      Sid: "ReadBackOwnPrefix",
      Effect: "Allow",
      Action: "s3:GetObject",
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

/** The daily pg_dump job (on top of RDS point-in-time recovery): `ops backup postgres`. */
export function postgresBackupPolicy(bucketArn: string, dataKeyArn: string): aws.iam.PolicyDocument {
  return document(...ownPrefix(bucketArn, "postgres"), useDataKey(dataKeyArn));
}

/** The daily TimescaleDB dump job: `ops backup timescaledb`. */
export function timescaleBackupPolicy(bucketArn: string, dataKeyArn: string): aws.iam.PolicyDocument {
  return document(...ownPrefix(bucketArn, "timescaledb"), useDataKey(dataKeyArn));
}

/**
 * The hourly Redis backup, `ops backup redis` with REDIS_BACKUP_MODE=elasticache. ElastiCache
 * refuses BGSAVE, so the job snapshots the one replication group (CreateSnapshot names the group
 * and the new snapshot), waits on and deletes only snapshots named after this stack, and exports
 * its snapshot into the bucket's `redis/` prefix with CopySnapshot — whose target is named by the
 * export's key (`redis/<backup>/dump`), hence the second snapshot ARN. ElastiCache lets a caller
 * export only to a bucket it can see it has access to: it asks for s3:GetBucketLocation and
 * s3:ListBucket on the bucket and s3:ListAllMyBuckets, an account-level action with no resource of
 * its own (AWS documents `*` as the only resource that works), and the object access it uses on
 * the target (DeleteObject included — the bucket is versioned, so a delete leaves the version,
 * kept by the noncurrent-version rule). The export itself is written by ElastiCache's service
 * principal, which the bucket policy admits to `redis/` only.
 * @param snapshotArnPrefix `arn:…:snapshot:<stack prefix>`: the snapshots the job takes and deletes
 */
export function redisSnapshotPolicy(
  replicationGroupArn: string,
  snapshotArnPrefix: string,
  bucketArn: string,
  dataKeyArn: string,
): aws.iam.PolicyDocument {
  const snapshotArns = snapshotArnPrefix.slice(0, snapshotArnPrefix.lastIndexOf(":") + 1);
  return document(
    {
      Sid: "SnapshotTheReplicationGroup",
      Effect: "Allow",
      Action: "elasticache:CreateSnapshot",
      Resource: [replicationGroupArn, `${snapshotArnPrefix}*`],
    },
    {
      Sid: "WaitOnAndDeleteOwnSnapshots",
      Effect: "Allow",
      Action: ["elasticache:DescribeSnapshots", "elasticache:DeleteSnapshot"],
      Resource: `${snapshotArnPrefix}*`,
    },
    {
      Sid: "ExportOwnSnapshotsToTheBucket",
      Effect: "Allow",
      Action: "elasticache:CopySnapshot",
      Resource: [`${snapshotArnPrefix}*`, `${snapshotArns}redis/*`],
    },
    ...ownPrefix(bucketArn, "redis"),
    {
      Sid: "ShowElastiCacheTheBucket",
      Effect: "Allow",
      Action: ["s3:GetBucketLocation", "s3:ListBucket"],
      Resource: bucketArn,
    },
    {
      Sid: "ExportObjectAccess",
      Effect: "Allow",
      Action: "s3:DeleteObject",
      Resource: `${bucketArn}/redis/*`,
    },
    {
      Sid: "FindTheBucket",
      Effect: "Allow",
      Action: "s3:ListAllMyBuckets",
      Resource: "*",
    },
    useDataKey(dataKeyArn),
  );
}

/**
 * The daily encrypted export of the stack's secrets (the backup table: daily, 90 days), `ops
 * backup secrets`: it lists the stack's secrets, reads each one's value, seals them with the data
 * key and stores them under `secrets/`. It never writes a secret (a restore is an operator's).
 */
export function secretsBackupPolicy(
  secretArnPattern: string,
  bucketArn: string,
  dataKeyArn: string,
): aws.iam.PolicyDocument {
  return document(
    {
      Sid: "ReadStackSecrets",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: secretArnPattern,
    },
    {
      Sid: "ListSecrets",
      Effect: "Allow",
      Action: "secretsmanager:ListSecrets",
      // ListSecrets supports no resource-level permission; it returns names, never values.
      Resource: "*",
    },
    ...ownPrefix(bucketArn, "secrets"),
    useDataKey(dataKeyArn),
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

/** What the DR drill's point-in-time restore names, by ARN. */
export interface DrDrillGrants {
  /** The live instance: restored from and described, never modified, tagged or deleted. */
  readonly sourceInstanceArn: string;
  /** `arn:…:db:<prefix>`: the scratch instances, the only ones the drill creates, changes and deletes. */
  readonly scratchInstanceArnPrefix: string;
  /** The source's subnet group and parameter group, which the restore passes on to the scratch. */
  readonly subnetGroupArn: string;
  readonly parameterGroupArn: string;
  /** `arn:…:og:default:postgres-*`: the engine's default option group, which the scratch keeps. */
  readonly defaultOptionGroupArns: string;
  readonly bucketArn: string;
  readonly dataKeyArn: string;
  /** The stack's region: the data key is used through RDS there. */
  readonly region: string;
}

/**
 * The DR drill in the cluster (`ops dr-drill --rds-source`): it backs the database up as the
 * PostgreSQL backup does (its dump and manifest under `postgres/`, read back), restores the live
 * instance to that backup's point in time into a scratch instance named with the drill's prefix
 * and tagged as a drill's, watches both, then deletes the scratch — and records the drill under
 * `drills/`. The restore is allowed only with the drill's tag in the request; deleting (and
 * switching off deletion protection, should a restore carry it over) only on an instance of the
 * prefix that carries the tag, so the live instance and its replicas are out of reach twice over.
 * It describes every instance of the account and region (read-only): a drill first sweeps the
 * scratch instances earlier ones left behind, which only a listing finds, and RDS authorizes a
 * listing on `db:*` alone. The restore passes the source's VPC security groups; RDS authorizes none of those by IAM, only
 * the instance, subnet, parameter and option groups named here. The scratch's storage is
 * encrypted with the data key like the source's, which RDS uses through a grant it makes on the
 * caller's behalf: CreateGrant for AWS resources, through RDS, on that key alone.
 */
export function drDrillPolicy(grants: DrDrillGrants): aws.iam.PolicyDocument {
  const scratch = `${grants.scratchInstanceArnPrefix}*`;
  const everyInstance = `${grants.scratchInstanceArnPrefix.slice(0, grants.scratchInstanceArnPrefix.lastIndexOf(":") + 1)}*`;
  const tagged = { StringEquals: { [`aws:RequestTag/${DR_DRILL_SCRATCH_TAG.key}`]: DR_DRILL_SCRATCH_TAG.value } };
  return document(
    {
      Sid: "RestoreTheSourceIntoAScratchInstance",
      Effect: "Allow",
      Action: "rds:RestoreDBInstanceToPointInTime",
      Resource: [
        grants.sourceInstanceArn,
        scratch,
        grants.subnetGroupArn,
        grants.parameterGroupArn,
        grants.defaultOptionGroupArns,
      ],
      Condition: tagged,
    },
    {
      Sid: "TagTheScratchAsADrills",
      Effect: "Allow",
      Action: "rds:AddTagsToResource",
      Resource: scratch,
      Condition: tagged,
    },
    {
      Sid: "WatchAndFindInstances",
      Effect: "Allow",
      Action: "rds:DescribeDBInstances",
      Resource: everyInstance,
    },
    {
      Sid: "RemoveOnlyTheTaggedScratch",
      Effect: "Allow",
      Action: ["rds:ModifyDBInstance", "rds:DeleteDBInstance"],
      Resource: scratch,
      Condition: { StringEquals: { [`rds:db-tag/${DR_DRILL_SCRATCH_TAG.key}`]: DR_DRILL_SCRATCH_TAG.value } },
    },
    {
      Sid: "EncryptTheScratchThroughRds",
      Effect: "Allow",
      Action: "kms:CreateGrant",
      Resource: grants.dataKeyArn,
      Condition: {
        Bool: { "kms:GrantIsForAWSResource": "true" },
        StringEquals: { "kms:ViaService": `rds.${grants.region}.amazonaws.com` },
      },
    },
    {
      Sid: "WriteTheDrillsBackup",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: `${grants.bucketArn}/postgres/*`,
    },
    {
      Sid: "ReadBackTheDrillsBackup",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: `${grants.bucketArn}/postgres/*`,
    },
    {
      Sid: "RecordTheDrill",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: `${grants.bucketArn}/drills/*`,
    },
    useDataKey(grants.dataKeyArn),
  );
}
