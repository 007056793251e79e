// Pure computation of the official Airflow chart's values. No Outputs, no secrets: every secret is a
// Kubernetes Secret created by the component and referenced here by its fixed name.
import { AIRFLOW_HOME, type ResolvedAirflowKubernetesArgs } from "./args.js";
import { connectionEnvVar } from "../shared/connections.js";
import type { KeyToPath } from "./dagFiles.js";

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

/** Pod annotation whose value changes when the connections Secret changes (rolls the pods). */
export const CONNECTIONS_REVISION_ANNOTATION = "llm-platform/connections-revision";

/** Inputs of {@link helmValues}. */
export interface HelmValuesInput {
  readonly resolved: ResolvedAirflowKubernetesArgs;
  /** Volume projection of the DAGs ConfigMap (from `dagConfigMap`). */
  readonly dagItems: readonly KeyToPath[];
  /**
   * A revision of the connections Secret (its `resourceVersion`); changing it restarts the pods so they
   * pick up a rotated token. The DAGs ConfigMap is deliberately NOT part of any annotation.
   */
  readonly connectionsRevision?: string | undefined;
}

/** Chart values for the official Apache Airflow chart. Deterministic: same input, same object. */
export function helmValues(input: HelmValuesInput): Record<string, unknown> {
  const r = input.resolved;
  const home = AIRFLOW_HOME[r.distribution];
  const celery = r.executor === "CeleryExecutor";

  const connectionEnv = r.connectionIds.map(connectionEnvVar);

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

    // DAGs come from our ConfigMap, mounted (without subPath) at the DAGs folder of every Airflow container.
    dags: { persistence: { enabled: false }, gitSync: { enabled: false } },
    volumes: [
      {
        name: "dags",
        configMap: { name: OBJECT_NAMES.dags, items: input.dagItems.map(({ key, path }) => ({ key, path })) },
      },
    ],
    volumeMounts: [{ name: "dags", mountPath: `${home}/dags`, readOnly: true }],

    // Connections as env vars from our Secret — in all Airflow containers, including task pods.
    secret: connectionEnv.map((envName) => ({
      envName,
      secretName: OBJECT_NAMES.connections,
      secretKey: envName,
    })),
    env: Object.keys(r.env)
      .sort()
      .map((name) => ({ name, value: r.env[name] ?? "" })),

    config: {
      core: { load_examples: "False" },
      // New files in the (ConfigMap-backed) DAGs folder are discovered within a minute instead of five.
      dag_processor: { refresh_interval: "60" },
    },

    statsd: { enabled: !r.isPreview },
    triggerer: { enabled: true, persistence: { enabled: !r.isPreview } },
    workers: { persistence: { enabled: !r.isPreview } },

    airflowPodAnnotations:
      input.connectionsRevision !== undefined && input.connectionsRevision !== ""
        ? { [CONNECTIONS_REVISION_ANNOTATION]: input.connectionsRevision }
        : {},
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
