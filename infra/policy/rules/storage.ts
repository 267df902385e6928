import type { PolicyResource } from "@pulumi/policy";
import { attachedTo, get, isEveryone, resourceRule, stackRule, statementsOf } from "../rule";

const BUCKET = "aws:s3/bucket:Bucket";
const buckets = (resources: readonly PolicyResource[]) => resources.filter((resource) => resource.type === BUCKET);

/** A stack rule: every bucket has an attached resource of `type` that passes `ok`. */
function everyBucketHas(
  resources: readonly PolicyResource[],
  type: string,
  ok: (attached: PolicyResource) => boolean,
  missing: string,
): { message: string; urn: string }[] {
  return buckets(resources)
    .filter((bucket) => !attachedTo(resources, bucket, type, "bucket").some(ok))
    .map((bucket) => ({ message: `bucket ${bucket.name}: ${missing}`, urn: bucket.urn }));
}

export const storageRules = [
  resourceRule({
    name: "CKV_AWS_53-s3-public-access-blocked",
    description: "Bucket public access blocks set all four flags (CKV_AWS_53–56).",
    enforcement: "mandatory",
    types: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    check: ({ props }) =>
      ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]
        .filter((flag) => props[flag] !== true)
        .map((flag) => `${flag} is not true`),
  }),
  stackRule({
    name: "CKV2_AWS_6-s3-bucket-public-access-block",
    description: "Every bucket has a public access block with all four flags.",
    enforcement: "mandatory",
    check: (resources) =>
      everyBucketHas(
        resources,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        (block) =>
          ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every(
            (flag) => block.props[flag] === true,
          ),
        "no complete public access block",
      ),
  }),
  stackRule({
    name: "CKV_AWS_145-s3-kms-encryption",
    description: "Every bucket encrypts objects by default with a KMS key.",
    enforcement: "mandatory",
    check: (resources) =>
      everyBucketHas(
        resources,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        (sse) =>
          ((sse.props["rules"] as unknown[] | undefined) ?? []).some(
            (rule) =>
              String(get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")).startsWith("aws:kms") &&
              !!get(rule, "applyServerSideEncryptionByDefault", "kmsMasterKeyId"),
          ),
        "no default SSE-KMS encryption with a customer key",
      ),
  }),
  stackRule({
    name: "CKV_AWS_21-s3-versioning",
    description: "Every bucket is versioned: a bad writer cannot destroy a backup.",
    enforcement: "mandatory",
    check: (resources) =>
      everyBucketHas(
        resources,
        "aws:s3/bucketVersioning:BucketVersioning",
        (versioning) => get(versioning.props, "versioningConfiguration", "status") === "Enabled",
        "versioning is not enabled",
      ),
  }),
  stackRule({
    name: "CKV2_AWS_61-s3-lifecycle",
    description: "Every bucket expires what it holds (§7.1 retention).",
    enforcement: "advisory",
    check: (resources) =>
      everyBucketHas(
        resources,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        () => true,
        "no lifecycle configuration",
      ),
  }),
  stackRule({
    name: "paimon-s3-tls-only",
    description: "Every bucket's policy denies requests that are not TLS.",
    enforcement: "mandatory",
    check: (resources) =>
      everyBucketHas(
        resources,
        "aws:s3/bucketPolicy:BucketPolicy",
        (policy) =>
          statementsOf(policy.props["policy"]).some(
            (statement) =>
              statement.Effect === "Deny" && get(statement.Condition, "Bool", "aws:SecureTransport") === "false",
          ),
        "its policy does not deny plain HTTP",
      ),
  }),
  resourceRule({
    name: "paimon-s3-policy-no-public-grant",
    description: "No bucket policy grants anything to everyone.",
    enforcement: "mandatory",
    types: ["aws:s3/bucketPolicy:BucketPolicy"],
    check: ({ props }) =>
      statementsOf(props["policy"])
        .filter((statement) => statement.Effect === "Allow" && isEveryone(statement.Principal))
        .map((statement) => `statement ${statement.Sid ?? "?"} allows ${statement.Action.join(", ")} to everyone`),
  }),
  resourceRule({
    name: "paimon-s3-backups-kept",
    description: "Backup buckets cannot be emptied by `pulumi destroy` in production.",
    enforcement: "mandatory",
    productionOnly: true,
    types: [BUCKET],
    check: ({ props }) => (props["forceDestroy"] === true ? "forceDestroy is true" : undefined),
  }),
];
