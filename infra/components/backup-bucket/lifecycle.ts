import type * as aws from "@pulumi/aws";

type LifecycleRule = aws.types.input.s3.BucketLifecycleConfigurationRule;

/**
 * One expiry rule per backup kind, on the kind's own prefix (`postgres/`, `redis/`, …), so each
 * keeps exactly the §7.1 retention; plus a housekeeping rule for abandoned uploads and the delete
 * markers that expiries leave in a versioned bucket.
 */
export function backupLifecycleRules(
  retentionDays: Readonly<Record<string, number>>,
  noncurrentVersionRetentionDays: number,
): LifecycleRule[] {
  const kinds = Object.keys(retentionDays).sort();
  return [
    ...kinds.map((kind): LifecycleRule => ({
      id: `expire-${kind}`,
      status: "Enabled",
      filter: { prefix: `${kind}/` },
      expiration: { days: retentionDays[kind] as number },
      noncurrentVersionExpiration: { noncurrentDays: noncurrentVersionRetentionDays },
    })),
    {
      id: "housekeeping",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      expiration: { expiredObjectDeleteMarker: true },
    },
  ];
}
