// Pure computation of the official Airflow chart's values. No Outputs, no secrets: every secret is a
// Kubernetes Secret created by the component and referenced here by its fixed name.
//
// The values depend on the resolved arguments only, never on the DAG files or on a secret's content or
// revision. The chart copies `volumes`, `volumeMounts`, `airflowPodAnnotations` and `env` into every pod
// template (the migration Job's included, which is immutable), so anything that varied with a DAG file or a
// token would restart every pod and can fail the upgrade. Both are therefore delivered as whole-object volumes
// (no item list) that the kubelet refreshes in place.
import { AIRFLOW_HOME, type ResolvedAirflowKubernetesArgs } from "./args.js";

/** Names of the objects the component creates next to the release (namespace-scoped, stable). */
export const OBJECT_NAMES = {
  /** Secret with one key per connection env var (`AIRFLOW_CONN_...`). */
  connections: "airflow-pulumi-connections",
  /** Secret with `fernet-key`, `api-secret-key`, `jwt-secret` (key names fixed by the chart). */
  keys: "airflow-pulumi-keys",
  /** Secret with `connection` (metadata DB URL) and, for the bundled DB, `postgres-password`. */
  metadata: "airflow-pulumi-metadata",
  /** Secret with `connection` = `db+<metadata URL>` for the Celery result backend. */
  resultBackend: "airflow-pulumi-result-backend",
  /** ConfigMap with the rendered DAG files. */
  dags: "airflow-pulumi-dags",
} as const;

/** Key of the connections Secret: one JSON document, conn id → connection (LocalFilesystemBackend format). */
export const CONNECTIONS_FILE = "connections.json";
/** Where the connections Secret is mounted (a directory: a `subPath` mount would never update). */
export const CONNECTIONS_MOUNT = "/var/run/llm-platform/connections";
/** Airflow's file-based secrets backend; it re-reads the file on every lookup, so a rotation needs no restart. */
export const LOCAL_FILESYSTEM_BACKEND = "airflow.secrets.local_filesystem.LocalFilesystemBackend";
/** The chart's default auth manager, set explicitly: the image must carry apache-airflow-providers-fab. */
export const FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager";

/** Chart values for the official Apache Airflow chart. Deterministic: same input, same object. */
export function helmValues(resolved: ResolvedAirflowKubernetesArgs): Record<string, unknown> {
  const r = resolved;
  const home = AIRFLOW_HOME[r.distribution];
  const celery = r.executor === "CeleryExecutor";
  const backendKwargs = JSON.stringify({ connections_file_path: `${CONNECTIONS_MOUNT}/${CONNECTIONS_FILE}` });

  const values: Record<string, unknown> = {
    defaultAirflowRepository: r.image.repository,
    defaultAirflowTag: r.image.tag,
    airflowVersion: r.airflowVersion,
    images: { airflow: { repository: r.image.repository, tag: r.image.tag, pullPolicy: "IfNotPresent" } },
    airflowHome: home,
    // Astro Runtime runs as the `astro` user (uid 50000) with gid 50000 — Astronomer's own chart sets gid 50000.
    uid: 50000,
    gid: r.distribution === "astro-runtime" ? 50000 : 0,
    executor: r.executor,

    // Airflow 3 API server (replaces the webserver).
    apiServer: { enabled: true, replicas: r.apiServerReplicas },

    // Static secrets from our own Secret: Helm never sees them and they survive upgrades.
    fernetKeySecretName: OBJECT_NAMES.keys,
    apiSecretKeySecretName: OBJECT_NAMES.keys,
    jwtSecretName: OBJECT_NAMES.keys,
    data: {
      metadataSecretName: OBJECT_NAMES.metadata,
      ...(celery ? { resultBackendSecretName: OBJECT_NAMES.resultBackend } : {}),
    },
    postgresql: r.externalDatabase
      ? { enabled: false }
      : {
          enabled: true,
          auth: {
            existingSecret: OBJECT_NAMES.metadata,
            secretKeys: { adminPasswordKey: "postgres-password" },
          },
        },

    // helm.v3.Release waits for readiness; with the migration as a post-install hook that would deadlock
    // (pods wait for migrations that only run after they are ready), so the job is a plain resource that
    // Helm waits on (waitForJobs). The chart docs require exactly this for `helm install --wait`.
    migrateDatabaseJob: { enabled: true, useHelmHooks: false, applyCustomEnv: false },
    // The default-user job takes its password from values; users are created out of band (README).
    createUserJob: { enabled: false, useHelmHooks: false, applyCustomEnv: false },

    // DAGs come from our ConfigMap, mounted whole (no item list, no subPath) at the DAGs folder of every
    // Airflow container; connections from our Secret, mounted whole as a directory. Adding a DAG file or
    // rotating a token changes only those objects; the kubelet swaps the files in place.
    dags: { persistence: { enabled: false }, gitSync: { enabled: false } },
    volumes: [
      { name: "dags", configMap: { name: OBJECT_NAMES.dags } },
      { name: "connections", secret: { secretName: OBJECT_NAMES.connections } },
    ],
    volumeMounts: [
      { name: "dags", mountPath: `${home}/dags`, readOnly: true },
      { name: "connections", mountPath: CONNECTIONS_MOUNT, readOnly: true },
    ],
    env: Object.keys(r.env)
      .sort()
      .map((name) => ({ name, value: r.env[name] ?? "" })),

    config: {
      core: { load_examples: "False", auth_manager: FAB_AUTH_MANAGER },
      // New files in the (ConfigMap-backed) DAGs folder are discovered within a minute instead of five.
      dag_processor: { refresh_interval: "60" },
      // Connections from the mounted file, for the API server/scheduler and for task workers (Airflow 3
      // workers read their own setting).
      secrets: { backend: LOCAL_FILESYSTEM_BACKEND, backend_kwargs: backendKwargs },
      workers: { secrets_backend: LOCAL_FILESYSTEM_BACKEND, secrets_backend_kwargs: backendKwargs },
    },

    statsd: { enabled: !r.isPreview },
    triggerer: { enabled: true, persistence: { enabled: !r.isPreview } },
    // Chart 1.22 key (`workers.persistence.*` is deprecated); with LocalExecutor it decides whether the
    // scheduler is a StatefulSet with a volume.
    workers: { celery: { persistence: { enabled: !r.isPreview } } },
  };
  return deepMerge(values, r.extraValues);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Objects merge recursively; arrays and scalars from `override` replace. Inputs are not mutated. */
export function deepMerge(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    const current = out[k];
    out[k] = isPlainObject(current) && isPlainObject(v) ? deepMerge(current, v) : v;
  }
  return out;
}
