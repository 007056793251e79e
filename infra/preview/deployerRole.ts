// The AWS role pull-request previews deploy with, created by the preview host stack (`Pulumi.previews.yaml`).
// A preview writes only its own DAG files into the host's bucket, so the role may touch only objects whose
// key carries a preview prefix (`dags/pr_<n>__…`, `anyscale/{jobs,services}/pr_<n>__…`) in that one bucket:
// nothing of dev's (its bucket, environment, execution role, connections, artifacts) is reachable with it.
// Plain policy documents, so tests and the policy pack see the real statements.
import type { PolicyDocument } from "../mwaa/iam.js";

/** GitHub's OIDC issuer (the provider must exist in the account: `token.actions.githubusercontent.com`). */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** Object keys a preview may write, relative to the host bucket (DagObjects keys of `pr-<n>` stacks). */
export const PREVIEW_KEY_PATTERNS = ["dags/pr_*", "anyscale/jobs/pr_*", "anyscale/services/pr_*"] as const;

/**
 * Trust: only GitHub Actions jobs of `repository` running in the deployment environment `environment` (the one
 * with required reviewers), through the account's GitHub OIDC provider.
 */
export function previewDeployerTrustPolicy(input: {
  readonly partition: string;
  readonly accountId: string;
  readonly repository: string;
  readonly environment: string;
}): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GitHubPreviewEnvironment",
        Effect: "Allow",
        Principal: {
          Federated: `arn:${input.partition}:iam::${input.accountId}:oidc-provider/${GITHUB_OIDC_HOST}`,
        },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com",
            [`${GITHUB_OIDC_HOST}:sub`]: `repo:${input.repository}:environment:${input.environment}`,
          },
        },
      },
    ],
  };
}

/** Permissions: preview-prefixed objects of the host bucket, and listing of those prefixes only. */
export function previewDeployerPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PreviewObjects",
        Effect: "Allow",
        Action: [
          "s3:GetObject",
          "s3:GetObjectVersion",
          "s3:GetObjectTagging",
          "s3:PutObject",
          "s3:PutObjectTagging",
          "s3:DeleteObject",
        ],
        Resource: PREVIEW_KEY_PATTERNS.map((k) => `${bucketArn}/${k}`),
      },
      {
        Sid: "ListPreviewPrefixes",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: bucketArn,
        Condition: { StringLike: { "s3:prefix": [...PREVIEW_KEY_PATTERNS] } },
      },
    ],
  };
}
