// The MWAA execution role as plain policy documents. Built here as objects (not with the
// `aws.iam.getPolicyDocument` invoke) so the tests and the policy pack's rule see the real statements:
// under mocks an invoke only returns what the mock returns.

/** One IAM policy statement (the subset of the grammar this module emits). */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?:
    | "*"
    | { readonly Service?: string | readonly string[]; readonly AWS?: string; readonly Federated?: string };
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

/** Services that assume the execution role: the MWAA control plane and the environment's containers. */
export const MWAA_TRUST_PRINCIPALS = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"] as const;

/** Trust policy of the execution role. */
export function executionRoleTrustPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "MwaaAssumeRole",
        Effect: "Allow",
        Principal: { Service: [...MWAA_TRUST_PRINCIPALS] },
        Action: "sts:AssumeRole",
      },
    ],
  };
}

/** Inputs of {@link executionRolePolicy}; all plain strings (the component resolves Outputs first). */
export interface ExecutionRolePolicyInput {
  /** ARN partition; default `aws`. */
  readonly partition?: string;
  readonly region: string;
  readonly accountId: string;
  /** MWAA environment name (the log groups are `airflow-<name>-*`). */
  readonly environmentName: string;
  /** ARN of the source bucket (DAGs, requirements.txt). */
  readonly bucketArn: string;
  /** Secrets Manager prefix of this environment's connections (`airflow/connections/<env>`). */
  readonly connectionsPrefix: string;
  /** Buckets the DAGs' Python tasks read and write (training data, adapters, reports); may be empty. */
  readonly artifactBucketArns: readonly string[];
  /** Customer-managed KMS key of the source bucket, when it is not SSE-S3 (AES256). */
  readonly bucketKmsKeyArn?: string | undefined;
}

/** The Sids {@link executionRolePolicy} emits, in order (the artifact and KMS ones only when configured). */
export const EXECUTION_ROLE_SIDS = {
  publishMetrics: "PublishMetrics",
  readSourceBucket: "ReadSourceBucket",
  writeLogs: "WriteEnvironmentLogs",
  accountWide: "AccountWideReadsAndMetrics",
  celeryQueue: "CeleryQueue",
  celeryQueueKms: "CeleryQueueAwsOwnedKey",
  readConnections: "ReadConnectionSecrets",
  sourceBucketKms: "DecryptSourceBucket",
  artifactObjects: "ArtifactObjects",
  artifactList: "ArtifactBucketList",
  denyListAllBuckets: "DenyListAllMyBuckets",
} as const;

/** ARN of an MWAA environment. */
export function environmentArn(partition: string, region: string, accountId: string, name: string): string {
  return `arn:${partition}:airflow:${region}:${accountId}:environment/${name}`;
}

/**
 * Least-privilege permissions of the execution role: the statements of the MWAA user guide's execution
 * role page (as aws-ia/terraform-aws-mwaa builds them) minus its extras (batch, ssm, lambda logs,
 * `airflow:CreateWebLoginToken`), plus read access to this environment's connection secrets only and
 * object access to the artifact buckets. The only wildcard actions are the guide's own
 * (`s3:GetObject*`, `s3:GetBucket*`, `s3:List*`, `kms:GenerateDataKey*`).
 */
export function executionRolePolicy(input: ExecutionRolePolicyInput): PolicyDocument {
  const p = input.partition ?? "aws";
  const { region, accountId: acct } = input;
  const S = EXECUTION_ROLE_SIDS;
  const statements: PolicyStatement[] = [
    {
      // AWS's sample execution role carries this explicit deny: s3:List* below would otherwise let the
      // role enumerate every bucket of the account.
      Sid: S.denyListAllBuckets,
      Effect: "Deny",
      Action: ["s3:ListAllMyBuckets"],
      Resource: [input.bucketArn, `${input.bucketArn}/*`],
    },
    {
      Sid: S.publishMetrics,
      Effect: "Allow",
      Action: ["airflow:PublishMetrics"],
      Resource: environmentArn(p, region, acct, input.environmentName),
    },
    {
      // MWAA syncs dags/ and reads requirements.txt (and checks the bucket's settings) with these.
      Sid: S.readSourceBucket,
      Effect: "Allow",
      Action: ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
      Resource: [input.bucketArn, `${input.bucketArn}/*`],
    },
    {
      Sid: S.writeLogs,
      Effect: "Allow",
      Action: [
        "logs:CreateLogStream",
        "logs:CreateLogGroup",
        "logs:PutLogEvents",
        "logs:GetLogEvents",
        "logs:GetLogRecord",
        "logs:GetLogGroupFields",
        "logs:GetQueryResults",
      ],
      Resource: `arn:${p}:logs:${region}:${acct}:log-group:airflow-${input.environmentName}-*`,
    },
    {
      // These three actions support no resource-level permissions: "*" is the only valid Resource.
      Sid: S.accountWide,
      Effect: "Allow",
      Action: ["logs:DescribeLogGroups", "cloudwatch:PutMetricData", "s3:GetAccountPublicAccessBlock"],
      Resource: "*",
    },
    {
      // The Celery queue lives in an MWAA-owned service account, hence the wildcard account.
      Sid: S.celeryQueue,
      Effect: "Allow",
      Action: [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ],
      Resource: `arn:${p}:sqs:${region}:*:airflow-celery-*`,
    },
    {
      // The queue is encrypted with an AWS-owned key in an account we cannot name, so the grant is
      // "any key NOT in this account", and only when SQS makes the call in this region.
      Sid: S.celeryQueueKms,
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
      NotResource: `arn:${p}:kms:*:${acct}:key/*`,
      Condition: { StringLike: { "kms:ViaService": [`sqs.${region}.amazonaws.com`] } },
    },
    {
      // The secrets backend reads only this environment's prefix; the trailing * covers the 6-character
      // suffix Secrets Manager appends to every secret ARN.
      Sid: S.readConnections,
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      Resource: `arn:${p}:secretsmanager:${region}:${acct}:secret:${input.connectionsPrefix}/*`,
    },
  ];
  if (input.bucketKmsKeyArn !== undefined) {
    statements.push({
      Sid: S.sourceBucketKms,
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:DescribeKey"],
      Resource: input.bucketKmsKeyArn,
      Condition: { StringLike: { "kms:ViaService": [`s3.${region}.amazonaws.com`] } },
    });
  }
  if (input.artifactBucketArns.length > 0) {
    const arns = [...input.artifactBucketArns].sort();
    statements.push(
      {
        Sid: S.artifactObjects,
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: arns.map((a) => `${a}/*`),
      },
      { Sid: S.artifactList, Effect: "Allow", Action: ["s3:ListBucket"], Resource: arns },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}
