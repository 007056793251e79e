// IAM: no wildcard actions beyond the ones the MWAA execution-role documentation itself uses, and
// Secrets Manager access only to `airflow/connections/*`.
import { getPath, parseJsonish, stringList, type RuleResource } from "./types.js";

/** Wildcard actions in the documented MWAA execution role (MWAA user guide; aws-ia/terraform-aws-mwaa). */
export const MWAA_WILDCARD_ACTIONS = ["s3:GetObject*", "s3:GetBucket*", "s3:List*", "kms:GenerateDataKey*"];

/** Secret ARNs the platform may read: the Airflow connections prefix (SM appends a 6-char suffix). */
export const CONNECTION_SECRET_ARN =
  /^arn:aws:secretsmanager:[^:]*:[^:]*:secret:airflow\/connections\/[^*]*\*?$/;

/** Problems in one IAM policy document (JSON string or object); [] when it cannot be read (unknown). */
export function checkIamPolicyDocument(document: unknown): string[] {
  const statements = getPath(parseJsonish(document), "Statement");
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  const problems: string[] = [];
  list.forEach((statement, i) => {
    const label = typeof getPath(statement, "Sid") === "string" ? String(getPath(statement, "Sid")) : `#${i}`;
    if (getPath(statement, "Effect") !== "Allow") return;
    if (getPath(statement, "NotAction") !== undefined) {
      problems.push(`statement ${label}: Allow with NotAction grants everything else`);
    }
    const actions = stringList(getPath(statement, "Action"));
    for (const action of actions) {
      if (!action.includes("*")) continue;
      const allowed = MWAA_WILDCARD_ACTIONS.some((a) => a.toLowerCase() === action.toLowerCase());
      if (!allowed) problems.push(`statement ${label}: wildcard action "${action}" is not allowed`);
    }
    if (actions.some((a) => a.toLowerCase().startsWith("secretsmanager:"))) {
      const resources = stringList(getPath(statement, "Resource"));
      if (resources.length === 0) {
        problems.push(
          `statement ${label}: secretsmanager actions need Resource scoped to airflow/connections/*`,
        );
      }
      for (const resource of resources) {
        if (!CONNECTION_SECRET_ARN.test(resource)) {
          problems.push(
            `statement ${label}: secretsmanager access to "${resource}" (only airflow/connections/*)`,
          );
        }
      }
    }
  });
  return problems;
}

/** Where policy documents live on IAM resources, by type. Trust policies (assumeRolePolicy) are not grants. */
export function iamPolicyDocuments(resource: RuleResource): unknown[] {
  switch (resource.type) {
    case "aws:iam/policy:Policy":
    case "aws:iam/rolePolicy:RolePolicy":
    case "aws:iam/userPolicy:UserPolicy":
    case "aws:iam/groupPolicy:GroupPolicy":
      return [resource.props["policy"]];
    case "aws:iam/role:Role": {
      const inline = resource.props["inlinePolicies"];
      return Array.isArray(inline) ? inline.map((p) => getPath(p, "policy")) : [];
    }
    default:
      return [];
  }
}

/** All IAM problems of one resource. */
export function checkIamResource(resource: RuleResource): string[] {
  return iamPolicyDocuments(resource).flatMap(checkIamPolicyDocument);
}
