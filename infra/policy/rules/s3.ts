// S3 buckets must be versioned, encrypted, public-access-blocked and TLS-only.
// With @pulumi/aws 7 these are separate resources that point at the bucket, so this is a stack-level
// check: each bucket needs a companion of each kind (inline legacy settings are accepted too).
import { getPath, parseJsonish, stringList, type RuleResource, type Violation } from "./types.js";

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const VERSIONING_TYPES = [
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketVersioningV2:BucketVersioningV2",
];
const SSE_TYPES = [
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
const PAB_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy";
const SSE_ALGORITHMS = new Set(["AES256", "aws:kms", "aws:kms:dsse"]);

/** Whether a companion resource (versioning, PAB, ...) configures `bucket`. */
export function refersToBucket(companion: RuleResource, bucket: RuleResource): boolean {
  if (companion.propertyDependencies?.["bucket"]?.includes(bucket.urn)) return true;
  const target = companion.props["bucket"];
  if (typeof target !== "string" || target === "") return false;
  return target === bucket.props["bucket"] || target === bucket.props["id"];
}

function versioned(bucket: RuleResource, companions: RuleResource[]): boolean {
  if (getPath(bucket.props, "versioning", "enabled") === true) return true;
  if (getPath(bucket.props, "versionings", 0, "enabled") === true) return true;
  return companions.some(
    (c) =>
      VERSIONING_TYPES.includes(c.type) &&
      getPath(c.props, "versioningConfiguration", "status") === "Enabled",
  );
}

function sseAlgorithmOk(rule: unknown): boolean {
  const algorithm = getPath(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm");
  return typeof algorithm === "string" && SSE_ALGORITHMS.has(algorithm);
}

function encrypted(bucket: RuleResource, companions: RuleResource[]): boolean {
  if (sseAlgorithmOk(getPath(bucket.props, "serverSideEncryptionConfiguration", "rule"))) return true;
  return companions.some((c) => {
    if (!SSE_TYPES.includes(c.type)) return false;
    const rules = c.props["rules"];
    return Array.isArray(rules) && rules.length > 0 && rules.every(sseAlgorithmOk);
  });
}

function publicAccessBlocked(companions: RuleResource[]): boolean {
  return companions.some(
    (c) =>
      c.type === PAB_TYPE &&
      ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every(
        (k) => c.props[k] === true,
      ),
  );
}

/** A bucket policy statement that denies every S3 action to everyone unless the request uses TLS. */
export function isDenyInsecureTransport(statement: unknown): boolean {
  if (getPath(statement, "Effect") !== "Deny") return false;
  const principal = getPath(statement, "Principal");
  const everyone = principal === "*" || stringList(getPath(principal, "AWS")).includes("*");
  const actions = stringList(getPath(statement, "Action"));
  const secure = getPath(statement, "Condition", "Bool", "aws:SecureTransport");
  return everyone && actions.includes("s3:*") && (secure === "false" || secure === false);
}

function tlsOnly(companions: RuleResource[]): boolean {
  return companions.some((c) => {
    if (c.type !== POLICY_TYPE) return false;
    const statements = getPath(parseJsonish(c.props["policy"]), "Statement");
    return Array.isArray(statements) && statements.some(isDenyInsecureTransport);
  });
}

/** Check every bucket in the stack; one violation per missing guarantee. */
export function checkS3Buckets(resources: readonly RuleResource[]): Violation[] {
  const violations: Violation[] = [];
  for (const bucket of resources.filter((r) => BUCKET_TYPES.includes(r.type))) {
    const companions = resources.filter((r) => r !== bucket && refersToBucket(r, bucket));
    const missing: string[] = [];
    if (!versioned(bucket, companions)) missing.push("versioning (BucketVersioning status Enabled)");
    if (!encrypted(bucket, companions))
      missing.push("default encryption (BucketServerSideEncryptionConfiguration)");
    if (!publicAccessBlocked(companions)) missing.push("a BucketPublicAccessBlock with all four flags true");
    if (!tlsOnly(companions)) missing.push("a BucketPolicy denying s3:* when aws:SecureTransport is false");
    for (const m of missing)
      violations.push({ urn: bucket.urn, message: `S3 bucket "${bucket.name}" lacks ${m}` });
  }
  return violations;
}
