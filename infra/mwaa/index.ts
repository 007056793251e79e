// `mwaa` target of the infra program: infra/stack.ts constructs `new MwaaAirflow(name, args)` when the
// stack config says `target: mwaa`, and `DagObjects` alone for a PR preview into the base stack's bucket.
// infra/index.ts reads python/requirements.lock and passes `providerPinsFromLock(...)` in.
export {
  DAG_S3_PATH,
  DEFAULT_AIRFLOW_VERSION,
  DEFAULT_LOGGING,
  isExistingNetwork,
  MWAA_AIRFLOW_3_VERSIONS,
  MWAA_ENVIRONMENT_CLASSES,
  MWAA_LOG_LEVELS,
  MWAA_LOG_TYPES,
  MwaaArgsError,
  REQUIREMENTS_KEY,
  resolveArgs,
  type MwaaAirflowArgs,
  type MwaaCreatedNetwork,
  type MwaaEnvironmentClass,
  type MwaaExistingNetwork,
  type MwaaLogLevel,
  type MwaaLogSetting,
  type MwaaLogType,
  type MwaaNetwork,
  type MwaaWebserverAccessMode,
  type ResolvedMwaaAirflowArgs,
  type ResolvedMwaaNetwork,
} from "./args.js";
export {
  ABORT_MULTIPART_DAYS,
  lifecycleRules,
  NONCURRENT_VERSION_DAYS,
  serverSideEncryptionRule,
  tlsOnlyBucketPolicy,
} from "./bucket.js";
export { loggingConfiguration, MWAA_AIRFLOW_TYPE, MwaaAirflow } from "./component.js";
export {
  contentTypeFor,
  DAG_OBJECTS_TYPE,
  DagObjects,
  objectPathProblem,
  objectResourceName,
  objectResourceNames,
  validateKeyPrefix,
  validateObjectPaths,
  type DagObjectsArgs,
} from "./dagObjects.js";
export {
  environmentArn,
  EXECUTION_ROLE_SIDS,
  executionRolePolicy,
  executionRoleTrustPolicy,
  MWAA_TRUST_PRINCIPALS,
  type ExecutionRolePolicyInput,
  type PolicyDocument,
  type PolicyStatement,
} from "./iam.js";
export {
  cidrSubnet,
  DEFAULT_VPC_CIDR,
  formatCidr,
  natGatewayFor,
  parseCidr,
  pickAvailabilityZones,
  subnetCidrs,
  VPC_PREFIX_RANGE,
  type Ipv4Cidr,
  type SubnetCidrs,
} from "./network.js";
export {
  constraintsUrl,
  LockFileError,
  isConstraintGoverned,
  MWAA_CONSTRAINED_PACKAGES,
  MWAA_PINNED_PACKAGES,
  MWAA_PYTHON_VERSION,
  normalizePackageName,
  providerPinsFromLock,
  requirementsTxt,
  validateConstrainedNames,
  validatePins,
} from "./requirements.js";
export {
  airflowConfigurationOptions,
  CONNECTIONS_PREFIX_ROOT,
  connectionsLookupPattern,
  escapeRegex,
  MWAA_CONFIG_KEY,
  SECRETS_BACKEND_KEYS,
  SECRETS_MANAGER_BACKEND,
  secretsBackendOptions,
} from "./secretsBackend.js";
