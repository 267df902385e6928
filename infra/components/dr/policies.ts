import type * as aws from "@pulumi/aws";

/** The replication role: read versions from the source, write replicas to the destination. */
export function replicationPolicy(arns: {
  readonly source: string;
  readonly destination: string;
  readonly sourceKey: string;
  readonly destinationKey: string;
}): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadSourceConfiguration",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: arns.source,
      },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
        Resource: `${arns.source}/*`,
      },
      {
        Sid: "WriteReplicas",
        Effect: "Allow",
        Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        Resource: `${arns.destination}/*`,
      },
      { Sid: "DecryptSource", Effect: "Allow", Action: "kms:Decrypt", Resource: arns.sourceKey },
      {
        Sid: "EncryptReplicas",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:GenerateDataKey"],
        Resource: arns.destinationKey,
      },
    ],
  };
}
