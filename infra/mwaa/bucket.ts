// Settings of the MWAA source bucket as plain data: the TLS-only bucket policy, default encryption and the
// lifecycle rule. The component attaches them as the separate companion resources @pulumi/aws 7 uses;
// the policy pack's `checkS3Buckets` rule looks for exactly these companions.
import type * as pulumi from "@pulumi/pulumi";

import type { PolicyDocument } from "./iam.js";

/** Days a replaced or deleted object version is kept before S3 expires it. */
export const NONCURRENT_VERSION_DAYS = 30;

/** Days after which an unfinished multipart upload is aborted (its parts are billed until then). */
export const ABORT_MULTIPART_DAYS = 7;

/**
 * Deny every S3 action to everyone on the bucket and its objects unless the request uses TLS. A Deny with
 * `Principal: "*"` is not a public grant, so it is compatible with BlockPublicPolicy.
 */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** One default-encryption rule: SSE-S3 (AES256), or SSE-KMS with a bucket key when a key is given. */
export function serverSideEncryptionRule(kmsKeyArn?: pulumi.Input<string>): {
  applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId?: pulumi.Input<string> };
  bucketKeyEnabled?: boolean;
} {
  if (kmsKeyArn === undefined) return { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } };
  // The bucket key cuts KMS requests (and their cost) for the many small DAG objects.
  return {
    applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
    bucketKeyEnabled: true,
  };
}

/**
 * Lifecycle rules. Versioning is required by MWAA, so every DAG upload and every deleted preview DAG
 * leaves a noncurrent version behind; expiring them after {@link NONCURRENT_VERSION_DAYS} days keeps the
 * bucket from growing (and billing) forever while leaving a month to roll back. Delete markers left
 * without versions are removed too.
 */
export function lifecycleRules(): Array<{
  id: string;
  status: "Enabled";
  filter: Record<string, never>;
  noncurrentVersionExpiration?: { noncurrentDays: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
  expiration?: { expiredObjectDeleteMarker: boolean };
}> {
  return [
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
      abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_DAYS },
      expiration: { expiredObjectDeleteMarker: true },
    },
  ];
}
