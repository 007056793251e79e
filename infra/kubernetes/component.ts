// `kubernetes` target: Airflow 3 (Astro Runtime by default) on the user's cluster via the official chart.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { describeFindings, findSecretLikeValues } from "../policy/rules/secretPatterns.js";
import {
  AirflowKubernetesArgsError,
  RELEASE_NAME,
  resolveArgs,
  type AirflowKubernetesArgs,
  type ResolvedAirflowKubernetesArgs,
} from "./args.js";
import {
  anyscaleConnectionJson,
  connectionsFileJson,
  slackApiConnectionJson,
  slackWebhookConnectionJson,
} from "../shared/connections.js";
import { dagConfigMap, DagFilesError, type DagConfigMap } from "./dagFiles.js";
import { CONNECTIONS_FILE, helmValues, OBJECT_NAMES } from "./values.js";

/** Pulumi type token of the component. */
export const AIRFLOW_KUBERNETES_TYPE = "llmops:kubernetes:AstroKubernetesAirflow";

/** Base64 (as produced by RandomBytes) → the url-safe alphabet a Fernet key uses. */
export function toFernetKey(base64: string): string {
  return base64.replace(/\+/g, "-").replace(/\//g, "_");
}

/** Metadata DB URL of the chart's bundled PostgreSQL (service `<release>-postgresql` in the namespace). */
export function bundledDatabaseUrl(namespace: string, password: string): string {
  return `postgresql://postgres:${encodeURIComponent(password)}@${RELEASE_NAME}-postgresql.${namespace}:5432/postgres?sslmode=disable`;
}

/**
 * Airflow 3 on Kubernetes: a namespace, the official Apache Airflow Helm chart (pinned) running the
 * Astro Runtime 3 image (or the Apache image), generated API/JWT/Fernet secrets, the Anyscale and Slack
 * connections as a Kubernetes Secret, and the rendered DAGs as a ConfigMap mounted at the DAGs folder.
 */
export class AstroKubernetesAirflow extends pulumi.ComponentResource {
  /** The namespace everything lives in. */
  public readonly namespace!: pulumi.Output<string>;
  /** Helm release name (`airflow`). */
  public readonly releaseName!: pulumi.Output<string>;
  /** Helm release status (`deployed` once pods are ready and the migration job finished). */
  public readonly releaseStatus!: pulumi.Output<string>;
  /** Service of the Airflow 3 API server/UI (port 8080); reach it with `kubectl port-forward`. */
  public readonly apiServerService!: pulumi.Output<string>;
  /** Name of the ConfigMap holding the DAG files. */
  public readonly dagsConfigMap!: pulumi.Output<string>;
  /** Bytes of DAG files in the ConfigMap (limit 1 MiB). */
  public readonly dagsBytes!: pulumi.Output<number>;

  constructor(name: string, args: AirflowKubernetesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(AIRFLOW_KUBERNETES_TYPE, name, {}, opts);
    if (opts?.urn) return;

    let resolved: ResolvedAirflowKubernetesArgs;
    let dags: DagConfigMap;
    // Plain contents are checked in full now; output contents get their paths checked now (with empty
    // stand-ins) and their size once they resolve.
    const plainFiles = Object.values(args.dagFiles).every((v) => typeof v === "string");
    try {
      resolved = resolveArgs(args);
      dags = dagConfigMap(
        plainFiles
          ? (args.dagFiles as Readonly<Record<string, string>>)
          : Object.fromEntries(Object.keys(args.dagFiles).map((p) => [p, ""])),
      );
    } catch (err) {
      if (err instanceof AirflowKubernetesArgsError || err instanceof DagFilesError) {
        throw new pulumi.ResourceError(err.message, this);
      }
      throw err;
    }
    const extraFindings = [
      ...findSecretLikeValues(resolved.extraValues, "extraValues"),
      ...findSecretLikeValues(resolved.env, "env"),
    ];
    if (extraFindings.length > 0) {
      throw new pulumi.ResourceError(
        `secret-looking values in plain chart values (${describeFindings(extraFindings)}); pass secrets as Pulumi secrets`,
        this,
      );
    }

    const labels = { "app.kubernetes.io/part-of": "llm-platform", "app.kubernetes.io/managed-by": "pulumi" };
    const ns = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: resolved.namespace, labels } },
      { parent: this },
    );
    const namespace = ns.metadata.name;
    const meta = (objectName: string) => ({ name: objectName, namespace, labels });
    // Named objects: a replacement (the default for ConfigMap/Secret data changes unless the provider sets
    // enableConfigMapMutable/enableSecretMutable) must delete the old object before creating the new one.
    const named: pulumi.CustomResourceOptions = { parent: this, deleteBeforeReplace: true };

    // Generated secrets: random provider results are secret outputs, stored encrypted in state.
    const apiSecretKey = new random.RandomPassword(
      `${name}-api-secret-key`,
      { length: 48, special: false },
      { parent: this },
    );
    const jwtSecret = new random.RandomPassword(
      `${name}-jwt-secret`,
      { length: 64, special: false },
      { parent: this },
    );
    const fernetBytes = new random.RandomBytes(`${name}-fernet-key`, { length: 32 }, { parent: this });
    const keys = new k8s.core.v1.Secret(
      `${name}-keys`,
      {
        metadata: meta(OBJECT_NAMES.keys),
        type: "Opaque",
        stringData: {
          "api-secret-key": pulumi.secret(apiSecretKey.result),
          "jwt-secret": pulumi.secret(jwtSecret.result),
          "fernet-key": pulumi.secret(fernetBytes.base64.apply(toFernetKey)),
        },
      },
      named,
    );

    // Metadata database: the external URL, or the bundled PostgreSQL with a generated password.
    let metadataUrl: pulumi.Output<string>;
    const metadataData: Record<string, pulumi.Input<string>> = {};
    if (args.metadataDatabaseUrl !== undefined) {
      metadataUrl = pulumi.secret(pulumi.output(args.metadataDatabaseUrl));
    } else {
      const dbPassword = new random.RandomPassword(
        `${name}-db-password`,
        { length: 32, special: false },
        { parent: this },
      );
      metadataUrl = pulumi.secret(
        pulumi.all([namespace, dbPassword.result]).apply(([n, p]) => bundledDatabaseUrl(n, p)),
      );
      metadataData["postgres-password"] = pulumi.secret(dbPassword.result);
    }
    metadataData["connection"] = metadataUrl;
    const metadata = new k8s.core.v1.Secret(
      `${name}-metadata`,
      { metadata: meta(OBJECT_NAMES.metadata), type: "Opaque", stringData: metadataData },
      named,
    );
    const dependsOn: pulumi.Resource[] = [keys, metadata];
    if (resolved.executor === "CeleryExecutor") {
      dependsOn.push(
        new k8s.core.v1.Secret(
          `${name}-result-backend`,
          {
            metadata: meta(OBJECT_NAMES.resultBackend),
            type: "Opaque",
            stringData: { connection: pulumi.secret(metadataUrl.apply((u) => `db+${u}`)) },
          },
          named,
        ),
      );
    }

    // Connections: never in Helm values. One file (LocalFilesystemBackend) in a Secret mounted whole: a
    // rotated token reaches the running pods through the kubelet's in-place refresh, with no pod restart.
    const connectionValues: Record<string, pulumi.Input<string>> = {
      [resolved.anyscaleConnId]: pulumi.output(args.anyscaleApiToken).apply(anyscaleConnectionJson),
    };
    if (args.slackWebhookUrl !== undefined) {
      connectionValues[resolved.slackConnId] = pulumi
        .output(args.slackWebhookUrl)
        .apply(slackWebhookConnectionJson);
    }
    if (args.slackApiToken !== undefined) {
      connectionValues[resolved.slackApiConnId] = pulumi
        .output(args.slackApiToken)
        .apply(slackApiConnectionJson);
    }
    for (const [connId, connection] of Object.entries(args.extraConnections ?? {})) {
      connectionValues[connId] = connection;
    }
    const connections = new k8s.core.v1.Secret(
      `${name}-connections`,
      {
        metadata: meta(OBJECT_NAMES.connections),
        type: "Opaque",
        stringData: {
          [CONNECTIONS_FILE]: pulumi.secret(pulumi.all(connectionValues).apply(connectionsFileJson)),
        },
      },
      named,
    );
    dependsOn.push(connections);

    // DAG files: a stable ConfigMap name and no item list keep Helm values (and so the pods) unchanged when a
    // DAG file is added, changed or removed.
    const dagData: pulumi.Output<DagConfigMap> = plainFiles
      ? pulumi.output(dags)
      : pulumi.output(args.dagFiles as Record<string, pulumi.Input<string>>).apply((files) => {
          try {
            return dagConfigMap(files);
          } catch (err) {
            if (err instanceof DagFilesError) throw new pulumi.ResourceError(err.message, this);
            throw err;
          }
        });
    const dagsConfigMap = new k8s.core.v1.ConfigMap(
      `${name}-dags`,
      { metadata: meta(OBJECT_NAMES.dags), data: dagData.data },
      named,
    );
    dependsOn.push(dagsConfigMap);

    // Plain values from the resolved arguments alone: no DAG file and no secret revision reaches a pod template.
    const values = helmValues(resolved);
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: RELEASE_NAME,
        namespace,
        chart: "airflow",
        version: resolved.chart.version,
        repositoryOpts: { repo: resolved.chart.repo },
        values,
        skipAwait: false,
        waitForJobs: true,
        timeout: resolved.helmTimeoutSeconds,
        maxHistory: 10,
      },
      { parent: this, dependsOn },
    );

    this.namespace = namespace;
    this.releaseName = release.name;
    this.releaseStatus = release.status.apply((s) => s.status);
    this.apiServerService = pulumi.output(`${RELEASE_NAME}-api-server`);
    this.dagsConfigMap = dagsConfigMap.metadata.name;
    this.dagsBytes = dagData.totalBytes;
    this.registerOutputs({
      namespace: this.namespace,
      releaseName: this.releaseName,
      releaseStatus: this.releaseStatus,
      apiServerService: this.apiServerService,
      dagsConfigMap: this.dagsConfigMap,
      dagsBytes: this.dagsBytes,
    });
  }
}
