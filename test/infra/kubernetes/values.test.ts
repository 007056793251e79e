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
const items = [{ key: "a.py", path: "a.py" }];
const values = (args: Partial<AirflowKubernetesArgs>, revision?: string) =>
  helmValues({ resolved: resolveArgs({ ...base, ...args }), dagItems: items, connectionsRevision: revision });

describe("resolveArgs", () => {
  it("applies the documented defaults", () => {
    expect(resolveArgs(base)).toMatchObject({
      distribution: "astro-runtime",
      image: { repository: "astrocrpublic.azurecr.io/runtime", tag: "3.3-2" },
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
    ["image tag latest", { image: { repository: "r", tag: "latest" } }, "`image.tag`"],
    ["image repository", { image: { repository: " ", tag: "1" } }, "`image.repository`"],
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
      {},
      {
        images: {
          airflow: {
            repository: "astrocrpublic.azurecr.io/runtime",
            tag: "3.3-2",
            pullPolicy: "IfNotPresent",
          },
        },
        defaultAirflowRepository: "astrocrpublic.azurecr.io/runtime",
        defaultAirflowTag: "3.3-2",
        airflowHome: "/usr/local/airflow",
        gid: 50000,
        volumeMounts: [{ name: "dags", mountPath: "/usr/local/airflow/dags", readOnly: true }],
      },
    ],
    [
      "apache",
      { distribution: "apache" },
      {
        images: { airflow: { repository: "apache/airflow", tag: "3.3.1", pullPolicy: "IfNotPresent" } },
        airflowHome: "/opt/airflow",
        gid: 0,
        volumeMounts: [{ name: "dags", mountPath: "/opt/airflow/dags", readOnly: true }],
      },
    ],
    [
      "custom image + KubernetesExecutor",
      { image: { repository: "ghcr.io/acme/airflow", tag: "sha-abc123" }, executor: "KubernetesExecutor" },
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
      { statsd: { enabled: false }, triggerer: { enabled: true, persistence: { enabled: false } } },
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

  it("exposes each optional connection only when configured, in a stable order", () => {
    const envNames = (v: Record<string, unknown>) =>
      (v["secret"] as Array<{ envName: string }>).map((s) => s.envName);
    expect(envNames(values({}))).toEqual(["AIRFLOW_CONN_ANYSCALE_CONN"]);
    expect(envNames(values({ slackWebhookUrl: "u", slackConnId: "ops_slack" }))).toEqual([
      "AIRFLOW_CONN_ANYSCALE_CONN",
      "AIRFLOW_CONN_OPS_SLACK",
    ]);
    expect(
      envNames(
        values({
          slackWebhookUrl: "u",
          slackApiToken: "t",
          extraConnections: { zendesk_default: "{}", a_first: "{}" },
        }),
      ),
    ).toEqual([
      "AIRFLOW_CONN_ANYSCALE_CONN",
      "AIRFLOW_CONN_SLACK_ALERTS",
      "AIRFLOW_CONN_SLACK_API_DEFAULT",
      "AIRFLOW_CONN_A_FIRST",
      "AIRFLOW_CONN_ZENDESK_DEFAULT",
    ]);
  });

  it("ties the pod annotation to the connections revision only", () => {
    expect(values({}, "41")["airflowPodAnnotations"]).toEqual({ "llm-platform/connections-revision": "41" });
    expect(values({})["airflowPodAnnotations"]).toEqual({});
    // A DAG change alters the ConfigMap, not the values: same inputs → identical values (no rollout).
    expect(JSON.stringify(values({}, "41"))).toBe(JSON.stringify(values({}, "41")));
  });

  it("deep-merges extraValues last without mutating the defaults", () => {
    const v = values({ extraValues: { apiServer: { replicas: 3 }, config: { core: { parallelism: "8" } } } });
    expect(v["apiServer"]).toEqual({ enabled: true, replicas: 3 });
    expect(v["config"]).toEqual({
      core: { load_examples: "False", parallelism: "8" },
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
