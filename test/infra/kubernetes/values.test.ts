// Pure helpers: argument resolution and chart values (given/want tables, no Pulumi runtime).
import { describe, expect, it } from "vitest";

import {
  AirflowKubernetesArgsError,
  resolveArgs,
  type AirflowKubernetesArgs,
} from "../../../infra/kubernetes/args.js";
import { deepMerge, helmValues } from "../../../infra/kubernetes/values.js";
import { checkHelmValues } from "../../../infra/policy/rules/config.js";

const base: AirflowKubernetesArgs = {
  namespace: "airflow-dev",
  dagFiles: { "a.py": "" },
  anyscaleApiToken: "t",
};
const values = (args: Partial<AirflowKubernetesArgs>) => helmValues(resolveArgs({ ...base, ...args }));
const astroImage = {
  repository: "astrocrpublic.azurecr.io/runtime",
  tag: "3.3-3",
  airflowVersion: "3.3.1",
};

describe("resolveArgs", () => {
  it("applies the documented defaults", () => {
    expect(resolveArgs(base)).toMatchObject({
      distribution: "apache",
      image: { repository: "apache/airflow", tag: "3.3.1", airflowVersion: "3.3.1" },
      airflowVersion: "3.3.1",
      executor: "LocalExecutor",
      chart: { version: "1.22.0", repo: "https://airflow.apache.org" },
      anyscaleConnId: "anyscale_conn",
      slackConnId: "slack_alerts",
      hasSlackWebhook: false,
      externalDatabase: false,
      apiServerReplicas: 1,
      helmTimeoutSeconds: 900,
    });
  });

  it.each<[string, Partial<AirflowKubernetesArgs>, string]>([
    ["namespace", { namespace: "Airflow_Dev" }, "`namespace`"],
    ["distribution", { distribution: "bitnami" as never }, "`distribution`"],
    [
      "image tag latest",
      { image: { repository: "r", tag: "latest", airflowVersion: "3.3.1" } },
      "`image.tag`",
    ],
    [
      "image repository",
      { image: { repository: " ", tag: "1", airflowVersion: "3.3.1" } },
      "`image.repository`",
    ],
    [
      "image without its Airflow version",
      { image: { repository: "r", tag: "1" } },
      "`image.airflowVersion` is required",
    ],
    [
      "image carrying another Airflow",
      { image: { repository: "astrocrpublic.azurecr.io/runtime", tag: "3.3-2", airflowVersion: "3.3.0" } },
      '`image.airflowVersion` "3.3.0" (astrocrpublic.azurecr.io/runtime:3.3-2) differs from `airflowVersion` "3.3.1"',
    ],
    [
      "astro-runtime without an image",
      { distribution: "astro-runtime" },
      '`image` is required with distribution "astro-runtime"',
    ],
    ["airflowVersion 2.x", { airflowVersion: "2.11.0" }, "`airflowVersion`"],
    ["executor", { executor: "CeleryKubernetesExecutor" as never }, "`executor`"],
    ["chart version", { chart: { version: "latest" } }, "`chart.version`"],
    ["chart repo", { chart: { repo: "http://insecure" } }, "`chart.repo`"],
    ["conn id", { anyscaleConnId: "anyscale-conn" }, "`anyscaleConnId`"],
    [
      "same conn ids",
      { anyscaleConnId: "x", slackConnId: "X", slackWebhookUrl: "u" },
      "name the same connection",
    ],
    [
      "extra conn id",
      { extraConnections: { "zendesk-default": "{}" } },
      "`extraConnections.zendesk-default`",
    ],
    [
      "extra conn clashing with slack api",
      { slackApiToken: "t", extraConnections: { SLACK_API_DEFAULT: "{}" } },
      "name the same connection (AIRFLOW_CONN_SLACK_API_DEFAULT)",
    ],
    ["replicas", { apiServerReplicas: 0 }, "`apiServerReplicas`"],
    ["timeout", { helmTimeoutSeconds: 5 }, "`helmTimeoutSeconds`"],
    ["env name", { env: { "BAD-NAME": "x" } }, "`env` key"],
    ["env connection", { env: { AIRFLOW_CONN_X: "x://" } }, "`env.AIRFLOW_CONN_X`"],
  ])("rejects bad %s naming the field", (_label, given, want) => {
    expect(() => resolveArgs({ ...base, ...given })).toThrow(AirflowKubernetesArgsError);
    expect(() => resolveArgs({ ...base, ...given })).toThrow(want);
  });
});

describe("helmValues", () => {
  it.each<[string, Partial<AirflowKubernetesArgs>, Record<string, unknown>]>([
    [
      "astro-runtime",
      { distribution: "astro-runtime", image: astroImage },
      {
        images: {
          airflow: {
            repository: "astrocrpublic.azurecr.io/runtime",
            tag: "3.3-3",
            pullPolicy: "IfNotPresent",
          },
        },
        defaultAirflowRepository: "astrocrpublic.azurecr.io/runtime",
        defaultAirflowTag: "3.3-3",
        airflowHome: "/usr/local/airflow",
        gid: 50000,
        volumeMounts: [
          { name: "dags", mountPath: "/usr/local/airflow/dags", readOnly: true },
          { name: "connections", mountPath: "/var/run/llm-platform/connections", readOnly: true },
        ],
      },
    ],
    [
      "apache (default)",
      {},
      {
        images: { airflow: { repository: "apache/airflow", tag: "3.3.1", pullPolicy: "IfNotPresent" } },
        airflowVersion: "3.3.1",
        airflowHome: "/opt/airflow",
        gid: 0,
        volumes: [
          { name: "dags", configMap: { name: "airflow-pulumi-dags" } },
          { name: "connections", secret: { secretName: "airflow-pulumi-connections" } },
        ],
        volumeMounts: [
          { name: "dags", mountPath: "/opt/airflow/dags", readOnly: true },
          { name: "connections", mountPath: "/var/run/llm-platform/connections", readOnly: true },
        ],
      },
    ],
    [
      "custom image + KubernetesExecutor",
      {
        image: { repository: "ghcr.io/acme/airflow", tag: "sha-abc123", airflowVersion: "3.3.1" },
        executor: "KubernetesExecutor",
      },
      {
        images: { airflow: { repository: "ghcr.io/acme/airflow", tag: "sha-abc123" } },
        executor: "KubernetesExecutor",
      },
    ],
    [
      "celery + external DB",
      { executor: "CeleryExecutor", metadataDatabaseUrl: "x" },
      {
        executor: "CeleryExecutor",
        postgresql: { enabled: false },
        data: {
          metadataSecretName: "airflow-pulumi-metadata",
          resultBackendSecretName: "airflow-pulumi-result-backend",
        },
      },
    ],
    [
      "preview",
      { isPreview: true },
      {
        statsd: { enabled: false },
        triggerer: { enabled: true, persistence: { enabled: false } },
        workers: { celery: { persistence: { enabled: false } } },
      },
    ],
    [
      "env sorted",
      { env: { B: "2", A: "1" } },
      {
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
      },
    ],
  ])("%s", (_label, given, want) => {
    expect(values(given)).toMatchObject(want);
  });

  it("always runs the migration job without Helm hooks and never the password-in-values user job", () => {
    expect(values({})).toMatchObject({
      migrateDatabaseJob: { enabled: true, useHelmHooks: false, applyCustomEnv: false },
      createUserJob: { enabled: false },
      apiServer: { enabled: true, replicas: 1 },
      dags: { persistence: { enabled: false }, gitSync: { enabled: false } },
    });
  });

  it("reads connections from the mounted file, for servers and workers, with the FAB auth manager", () => {
    const config = values({})["config"] as Record<string, Record<string, string>>;
    const kwargs = JSON.stringify({
      connections_file_path: "/var/run/llm-platform/connections/connections.json",
    });
    expect(config["secrets"]).toEqual({
      backend: "airflow.secrets.local_filesystem.LocalFilesystemBackend",
      backend_kwargs: kwargs,
    });
    expect(config["workers"]).toEqual({
      secrets_backend: "airflow.secrets.local_filesystem.LocalFilesystemBackend",
      secrets_backend_kwargs: kwargs,
    });
    expect(config["core"]?.["auth_manager"]).toBe(
      "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    );
    // Nothing per connection or per revision: no env list, no annotation.
    expect(values({ slackApiToken: "t", extraConnections: { z: "{}" } })).not.toHaveProperty("secret");
    expect(values({})).not.toHaveProperty("airflowPodAnnotations");
  });

  it("deep-merges extraValues last without mutating the defaults", () => {
    const v = values({ extraValues: { apiServer: { replicas: 3 }, config: { core: { parallelism: "8" } } } });
    expect(v["apiServer"]).toEqual({ enabled: true, replicas: 3 });
    expect(v["config"]).toMatchObject({
      core: {
        load_examples: "False",
        auth_manager: "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        parallelism: "8",
      },
      dag_processor: { refresh_interval: "60" },
    });
    expect(deepMerge({ a: { b: 1 } }, { a: { c: 2 }, d: [1] })).toEqual({ a: { b: 1, c: 2 }, d: [1] });
  });

  it("produces values the policy pack accepts", () => {
    expect(
      checkHelmValues(values({ executor: "CeleryExecutor", slackWebhookUrl: "u", metadataDatabaseUrl: "x" })),
    ).toEqual([]);
  });
});
