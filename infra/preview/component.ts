// `PreviewDeployerRole`: the IAM role of pull-request previews, declared by the preview host stack.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { previewDeployerPolicy, previewDeployerTrustPolicy } from "./deployerRole.js";

export interface PreviewDeployerRoleArgs {
  /** The preview host's source bucket (its `dags/` is what the previews' environment runs). */
  readonly bucketArn: pulumi.Input<string>;
  /** `owner/repo` whose workflows may assume the role. */
  readonly githubRepository: string;
  /** GitHub deployment environment (with required reviewers) the job must run in. */
  readonly githubEnvironment: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export class PreviewDeployerRole extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: PreviewDeployerRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llmops:preview:PreviewDeployerRole", name, {}, opts);
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this });
    const role = new aws.iam.Role(
      name,
      {
        description: "pull-request previews: preview-prefixed DAG objects of the preview host bucket only",
        assumeRolePolicy: pulumi.jsonStringify(
          pulumi.all([partition.partition, identity.accountId]).apply(([p, accountId]) =>
            previewDeployerTrustPolicy({
              partition: p,
              accountId,
              repository: args.githubRepository,
              environment: args.githubEnvironment,
            }),
          ),
        ),
        maxSessionDuration: 3600,
        tags: { ...args.tags },
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      name,
      {
        role: role.id,
        policy: pulumi.jsonStringify(pulumi.output(args.bucketArn).apply(previewDeployerPolicy)),
      },
      { parent: this },
    );
    this.arn = role.arn;
    this.registerOutputs({ arn: this.arn });
  }
}
