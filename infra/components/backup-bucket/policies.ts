import type * as aws from "@pulumi/aws";

/** ElastiCache's service principal in a region: who writes a snapshot export into a bucket. */
export const elastiCacheSnapshotPrincipal = (region: string): string => `${region}.elasticache-snapshot.amazonaws.com`;

/**
 * What ElastiCache needs of the bucket to export a snapshot into it (CopySnapshot with a
 * TargetBucket), as AWS documents for buckets whose ACLs are disabled: its regional service
 * principal may write and read objects, list multipart parts, and see the bucket, its ACL and its
 * multipart uploads. Objects only under `redis/`, where the Redis backup asks for its exports.
 * CopySnapshot refuses a bucket its caller does not own, so no other account's ElastiCache can
 * use this grant.
 */
export function elastiCacheExportStatements(bucketArn: string, region: string): aws.iam.PolicyStatement[] {
  const principal = { Service: elastiCacheSnapshotPrincipal(region) };
  return [
    {
      Sid: "ElastiCacheExportsRedisSnapshots",
      Effect: "Allow",
      Principal: principal,
      Action: ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts"],
      Resource: `${bucketArn}/redis/*`,
    },
    {
      Sid: "ElastiCacheSeesTheBucket",
      Effect: "Allow",
      Principal: principal,
      Action: ["s3:ListBucket", "s3:GetBucketAcl", "s3:ListBucketMultipartUploads"],
      Resource: bucketArn,
    },
  ];
}

/**
 * The service principal names ElastiCache's export can carry in `aws:PrincipalServiceName`: the
 * regional snapshot principal the bucket admits, and ElastiCache's own. AWS documents the key as
 * the calling service principal's name, present only when a service principal calls, without
 * saying which of a service's names a regional principal's request carries: both are ElastiCache's.
 */
export const elastiCacheServiceNames = (region: string): string[] => [
  elastiCacheSnapshotPrincipal(region),
  "elasticache.amazonaws.com",
];

/**
 * The backup bucket's policy: TLS only, TLS 1.2 or newer, and no object written under any key
 * but the bucket's own KMS key — with the headers that say so: an upload naming neither is
 * refused too (`…IfExists` holds when the header is absent). With `elastiCacheExportRegion`,
 * ElastiCache's snapshot export may write under `redis/`; it sends no encryption headers (the
 * bucket's default encryption, SSE-KMS with the same key, applies to its objects), so the
 * encryption denials spare ElastiCache, and no other caller: `aws:PrincipalServiceName` joins the
 * header's key in the same `StringNotEqualsIfExists`. AWS's IAM reference ("Conditions with
 * multiple context keys or values") evaluates the keys of one operator with a logical AND and a
 * negated operator's several values with a logical NOR, and an `…IfExists` operator is true when
 * its key is absent from the request ("AWS global condition context keys"), as the service name
 * is for every caller but a service principal. So a denial holds unless the header is right, or
 * the caller is ElastiCache: an IAM role, a user, or any other AWS service is still refused.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
export function backupBucketPolicy(
  bucketArn: string,
  kmsKeyArn: string,
  options: { readonly elastiCacheExportRegion?: string | undefined } = {},
): aws.iam.PolicyDocument {
  const everything = [bucketArn, `${bucketArn}/*`];
  const exportRegion = options.elastiCacheExportRegion;
  const exceptElastiCache =
    exportRegion === undefined ? {} : { "aws:PrincipalServiceName": elastiCacheServiceNames(exportRegion) };
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: everything,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "DenyTlsOlderThan12",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: everything,
        Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
      },
      {
        Sid: "DenyOtherEncryption",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `${bucketArn}/*`,
        Condition: {
          StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms", ...exceptElastiCache },
        },
      },
      {
        Sid: "DenyOtherKmsKeys",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `${bucketArn}/*`,
        Condition: {
          StringNotEqualsIfExists: {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": kmsKeyArn,
            ...exceptElastiCache,
          },
        },
      },
      ...(exportRegion === undefined ? [] : elastiCacheExportStatements(bucketArn, exportRegion)),
    ],
  };
}
