import { beforeAll, describe, expect, it } from "vitest";
import { recordComponents, policyOf, type Recorded } from "../../testing/record";
import { dataKeyPolicy } from "../keys/policies";
import { BackupBucket } from "./index";

const keyArn = "arn:aws:kms:ap-southeast-1:123456789012:key/data";

let recorded: Recorded;
beforeAll(async () => {
  recorded = await recordComponents(() => {
    new BackupBucket("backups", {
      bucketName: "paimon-test-backups",
      kmsKeyArn: keyArn,
      retentionDays: { postgres: 30, redis: 7, secrets: 90 },
      noncurrentVersionRetentionDays: 14,
    });
    new BackupBucket("exports", {
      bucketName: "paimon-test-exports",
      kmsKeyArn: keyArn,
      retentionDays: { redis: 7 },
      elastiCacheExportRegion: "ap-southeast-1",
    });
  });
});

describe("BackupBucket", () => {
  it("then every kind of public access is blocked and ACLs are disabled", () => {
    expect(
      recorded.named("backups-public-access", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(
      recorded.named("backups-ownership", "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"],
    ).toEqual({ objectOwnership: "BucketOwnerEnforced" });
  });

  it("then objects are versioned and encrypted with the data key by default", () => {
    expect(
      recorded.named("backups-versioning", "aws:s3/bucketVersioning:BucketVersioning").inputs[
        "versioningConfiguration"
      ],
    ).toEqual({
      status: "Enabled",
    });
    const encryption = recorded.named(
      "backups-encryption",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    );
    expect(encryption.inputs["rules"]).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
        bucketKeyEnabled: true,
      },
    ]);
  });

  it("then each backup kind expires after its §7.1 retention, under its own prefix", () => {
    const rules = recorded.named(
      "backups-lifecycle",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    ).inputs["rules"] as {
      id: string;
      filter: { prefix?: string };
      expiration: { days?: number };
      noncurrentVersionExpiration?: { noncurrentDays: number };
    }[];
    const byPrefix = Object.fromEntries(
      rules.filter((r) => r.filter.prefix).map((r) => [r.filter.prefix ?? "", r.expiration.days] as const),
    );
    expect(byPrefix).toEqual({ "postgres/": 30, "redis/": 7, "secrets/": 90 });
    expect(
      rules.filter((r) => r.filter.prefix).every((r) => r.noncurrentVersionExpiration?.noncurrentDays === 14),
    ).toBe(true);
    expect(rules.find((r) => r.id === "housekeeping")).toMatchObject({
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      expiration: { expiredObjectDeleteMarker: true },
    });
  });

  it("then the bucket policy refuses plain HTTP, TLS below 1.2, and uploads under another key", () => {
    const policy = recorded.named("backups-policy", "aws:s3/bucketPolicy:BucketPolicy");
    const statements = policyOf(policy).Statement;
    expect(statements.every((s) => s["Effect"] === "Deny")).toBe(true);
    expect(statements.map((s) => s["Condition"])).toEqual([
      { Bool: { "aws:SecureTransport": "false" } },
      { NumericLessThan: { "s3:TlsVersion": "1.2" } },
      { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
      { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn } },
    ]);
    expect(policy.options?.dependsOn).toEqual([expect.stringContaining("backups-public-access")]);
  });

  it("then the bucket cannot be destroyed while it holds backups", () => {
    expect(recorded.named("backups-bucket", "aws:s3/bucket:Bucket").inputs).toMatchObject({
      bucket: "paimon-test-backups",
      forceDestroy: false,
    });
  });
});

describe("BackupBucket with ElastiCache's snapshot export", () => {
  const statements = () => policyOf(recorded.named("exports-policy", "aws:s3/bucketPolicy:BucketPolicy")).Statement;

  it("then the region's ElastiCache snapshot principal may write and read under redis/ only, and see the bucket", () => {
    const principal = { Service: "ap-southeast-1.elasticache-snapshot.amazonaws.com" };
    const allows = statements().filter((s) => s["Effect"] === "Allow");
    expect(allows).toEqual([
      {
        Sid: "ElastiCacheExportsRedisSnapshots",
        Effect: "Allow",
        Principal: principal,
        Action: ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts"],
        Resource: "<bucket:exports-bucket.arn>/redis/*",
      },
      {
        Sid: "ElastiCacheSeesTheBucket",
        Effect: "Allow",
        Principal: principal,
        Action: ["s3:ListBucket", "s3:GetBucketAcl", "s3:ListBucketMultipartUploads"],
        Resource: "<bucket:exports-bucket.arn>",
      },
    ]);
  });

  const elastiCache = ["ap-southeast-1.elasticache-snapshot.amazonaws.com", "elasticache.amazonaws.com"];

  it("then TLS is still required of it, and only the encryption-header denials spare ElastiCache, by its service names", () => {
    const denies = Object.fromEntries(
      statements()
        .filter((s) => s["Effect"] === "Deny")
        .map((s) => [String(s["Sid"]), s["Condition"]] as const),
    );
    expect(denies).toEqual({
      DenyInsecureTransport: { Bool: { "aws:SecureTransport": "false" } },
      DenyTlsOlderThan12: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
      DenyOtherEncryption: {
        StringNotEqualsIfExists: {
          "s3:x-amz-server-side-encryption": "aws:kms",
          "aws:PrincipalServiceName": elastiCache,
        },
      },
      DenyOtherKmsKeys: {
        StringNotEqualsIfExists: {
          "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn,
          "aws:PrincipalServiceName": elastiCache,
        },
      },
    });
  });

  /**
   * Whether a `StringNotEqualsIfExists` block holds for a request, as AWS evaluates one: every key
   * (AND) absent, or equal to none of its values (NOR).
   */
  const notEqualsIfExists = (block: Record<string, string | string[]>, request: Record<string, string>) =>
    Object.entries(block).every(([key, values]) => {
      const value = request[key];
      return value === undefined || !(Array.isArray(values) ? values : [values]).includes(value);
    });
  const denied = (request: Record<string, string>) =>
    statements()
      .filter((s) => s["Effect"] === "Deny" && String(s["Sid"]).startsWith("DenyOther"))
      .filter((s) =>
        notEqualsIfExists(
          (s["Condition"] as { StringNotEqualsIfExists: Record<string, string | string[]> }).StringNotEqualsIfExists,
          request,
        ),
      )
      .map((s) => String(s["Sid"]));

  it.each([
    ["an IAM role sending no encryption headers", {}],
    ["an IAM role naming SSE-S3", { "s3:x-amz-server-side-encryption": "AES256" }],
    [
      "another AWS service principal sending no encryption headers",
      { "aws:PrincipalServiceName": "cloudtrail.amazonaws.com" },
    ],
  ])("when %s uploads, then the encryption denials refuse it", (_who, request) => {
    expect(denied(request)).toEqual(["DenyOtherEncryption", "DenyOtherKmsKeys"]);
  });

  it.each([
    ...elastiCache.map((name) => [`ElastiCache as ${name}, sending no headers`, { "aws:PrincipalServiceName": name }]),
    [
      "an IAM role naming the data key",
      { "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn },
    ],
  ] as [string, Record<string, string>][])("when %s uploads, then no encryption denial refuses it", (_who, request) => {
    expect(denied(request)).toEqual([]);
  });

  it("when an IAM role names another KMS key, then the key denial refuses it", () => {
    expect(
      denied({
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:ap-southeast-1:123456789012:key/other",
      }),
    ).toEqual(["DenyOtherKmsKeys"]);
  });

  it("then the data key lets S3 encrypt ElastiCache's writes into that bucket, and nothing else of ElastiCache's", () => {
    const scope = { accountId: "123456789012", partition: "aws", region: "ap-southeast-1" };
    expect(dataKeyPolicy(scope).Statement).not.toContainEqual(
      expect.objectContaining({ Sid: "ElastiCacheExportsEncryptThroughS3" }),
    );
    expect(dataKeyPolicy(scope, { elastiCacheExportBucket: "paimon-test-exports" }).Statement).toContainEqual({
      Sid: "ElastiCacheExportsEncryptThroughS3",
      Effect: "Allow",
      Principal: { Service: "ap-southeast-1.elasticache-snapshot.amazonaws.com" },
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: "*",
      Condition: {
        StringEquals: {
          "kms:ViaService": "s3.ap-southeast-1.amazonaws.com",
          "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::paimon-test-exports",
        },
      },
    });
  });
});
