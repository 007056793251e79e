// `kubernetes` target of the infra program: infra/stack.ts constructs
// `new AstroKubernetesAirflow(name, args, { provider })` when the stack config says `target: kubernetes`.
export {
  AIRFLOW_EXECUTORS,
  AIRFLOW_HOME,
  AirflowKubernetesArgsError,
  DEFAULT_AIRFLOW_VERSION,
  DEFAULT_CHART,
  DEFAULT_IMAGES,
  RELEASE_NAME,
  resolveArgs,
  type AirflowChart,
  type AirflowDistribution,
  type AirflowExecutor,
  type AirflowImage,
  type AirflowKubernetesArgs,
  type ResolvedAirflowKubernetesArgs,
} from "./args.js";
export {
  AIRFLOW_KUBERNETES_TYPE,
  AstroKubernetesAirflow,
  bundledDatabaseUrl,
  toFernetKey,
} from "./component.js";
export {
  anyscaleConnectionJson,
  connectionsFileJson,
  slackApiConnectionJson,
  slackWebhookConnectionJson,
} from "../shared/connections.js";
export { CONFIGMAP_MAX_BYTES, dagConfigMap, DagFilesError, type DagConfigMap } from "./dagFiles.js";
export {
  CONNECTIONS_FILE,
  CONNECTIONS_MOUNT,
  deepMerge,
  FAB_AUTH_MANAGER,
  helmValues,
  LOCAL_FILESYSTEM_BACKEND,
  OBJECT_NAMES,
} from "./values.js";
