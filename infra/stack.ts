// Declares one stack from its validated configuration: the Anyscale compute configs, the rendered DAGs wired
// to their `name:version` outputs, and the Airflow target (MWAA, a DAG-only MWAA preview, or Kubernetes).
// Everything it needs is injected (config, secrets, definitions, files); it reads no Pulumi config itself.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ANYSCALE_CONN_ID } from "../pipelines/src/render/dag.js";
import { ARTIFACT_ROOT } from "../pipelines/definitions/shared/platform.js";
import {
  computeConfigReferences,
  renderAllSync,
  type LoadedDefinition,
  type RenderOptions,
} from "../pipelines/src/render/index.js";
import { AnyscaleComputeConfig, computeConfigNameVersions } from "./anyscale/computeConfigResource.js";
import { StackConfigError, type StackConfig } from "./config/load.js";
import type { StackSecrets } from "./config/read.js";
import { PROJECT } from "./config/schema.js";
import { anyscaleFiles, dagBundle } from "./delivery/bundle.js";
import { AstroKubernetesAirflow } from "./kubernetes/index.js";
import { DagObjects, MwaaAirflow } from "./mwaa/index.js";
import { PreviewDeployerRole } from "./preview/component.js";

/** What the program needs besides config: the pipelines, the workload package and the provider pins. */
export interface StackInputs {
  readonly config: StackConfig;
  readonly secrets: StackSecrets;
  readonly definitions: readonly LoadedDefinition[];
  /** `llm_workloads/<path>` → content (see delivery/bundle.ts). */
  readonly workloadFiles: Readonly<Record<string, string>>;
  /** MWAA requirements.txt pins (package → version), from python/requirements.lock. */
  readonly providerPins: Readonly<Record<string, string>>;
}

/** The stack outputs (none of them secret). */
export interface StackOutputs {
  readonly target: string;
  /** `environment` or `preview of <base stack>`. */
  readonly kind: string;
  readonly dagIds: readonly string[];
  /** Logical compute-config key → `name:version` the DAGs reference. */
  readonly computeConfigs: pulumi.Output<Record<string, string>>;
  /** Files delivered to the DAGs folder. */
  readonly dagFileCount: number;
  /** MWAA: the source bucket (previews of this stack upload into it). */
  readonly dagsBucketName?: pulumi.Output<string>;
  /** MWAA: the Airflow UI. Kubernetes: the API server service to port-forward. */
  readonly airflowUrl?: pulumi.Output<string>;
  readonly namespace?: pulumi.Output<string>;
  /** Preview host: the role `pr-<n>` previews deploy with (the `preview` environment's AWS_PREVIEW_ROLE_ARN). */
  readonly previewDeployerRoleArn?: pulumi.Output<string>;
}

/** Fails (before any resource exists) when a pipeline references a compute config the stack does not declare. */
export function checkComputeConfigCoverage(config: StackConfig, defs: readonly LoadedDefinition[]): void {
  const problems: string[] = [];
  for (const [k, files] of computeConfigReferences(defs)) {
    if (config.computeConfigs[k] === undefined) {
      problems.push(
        `${PROJECT}:computeConfigs.${k} is missing: ${files.join(", ")} run on compute config "${k}", so the stack must declare it`,
      );
    }
  }
  if (problems.length > 0) throw new StackConfigError(config.stack, problems);
}

/** Fully qualified stack reference for the preview base (`org/project/stack`). */
export function previewBaseStackName(base: string, organization: string, project: string): string {
  return base.includes("/") ? base : `${organization}/${project}/${base}`;
}

/** Tags on every taggable AWS resource. */
export function stackTags(config: StackConfig): Record<string, string> {
  return { project: PROJECT, stack: config.stack, "managed-by": "pulumi", ...config.tags };
}

/**
 * The bundle files the Kubernetes DAGs ConfigMap carries: those at the root of the DAGs folder (the rendered
 * DAGs). The `.airflowignore` of the bundle only keeps `llm_workloads/` out of parsing, which is not shipped
 * there, so it is dropped too (the ConfigMap adds its own).
 */
export function kubernetesDagPaths(bundlePaths: readonly string[]): string[] {
  return bundlePaths.filter((p) => !p.includes("/") && p !== ".airflowignore");
}

export function declareStack(inputs: StackInputs): StackOutputs {
  const { config, secrets, definitions } = inputs;
  checkComputeConfigCoverage(config, definitions);
  const preview = config.stackKind.kind === "preview";

  // Anyscale compute configs: every declared key, named per stack; archived when the stack is destroyed.
  const configs: Record<string, AnyscaleComputeConfig> = {};
  for (const [k, entry] of Object.entries(config.computeConfigs)) {
    configs[k] = new AnyscaleComputeConfig(`compute-${k}`, {
      name: entry.name,
      spec: entry.spec,
      ...(entry.limits !== undefined ? { limits: entry.limits } : {}),
      ...(config.anyscaleHost !== undefined ? { host: config.anyscaleHost } : {}),
    });
  }
  const nameVersions = computeConfigNameVersions(configs);

  // Paths do not depend on compute-config versions, so one render without them fixes the set of files (and
  // so of resources) now; the contents are rendered again once the versions are known.
  const renderOpts: RenderOptions = {
    dagIdPrefix: config.dagIdPrefix,
    storageRoot: { from: ARTIFACT_ROOT, to: `s3://${config.artifactBucket}` },
  };
  const shape = renderAllSync(definitions, renderOpts);
  const rendered = nameVersions.apply((computeConfigs) =>
    renderAllSync(definitions, { ...renderOpts, computeConfigs }),
  );
  const bundle = rendered.apply((files) => dagBundle(files, inputs.workloadFiles));
  const yaml = rendered.apply(anyscaleFiles);
  const fileOutputs = (
    paths: readonly string[],
    source: pulumi.Output<Record<string, string>>,
  ): Record<string, pulumi.Output<string>> =>
    Object.fromEntries(paths.map((p) => [p, source.apply((all) => all[p] ?? "")]));
  const bundlePaths = Object.keys(dagBundle(shape, inputs.workloadFiles));
  const yamlPaths = Object.keys(anyscaleFiles(shape));
  const dagIds = shape
    .filter((f) => f.path.startsWith("dags/"))
    .map((f) => f.path.slice("dags/".length, -".py".length));
  const dagPathSet = new Set(
    shape.filter((f) => f.path.startsWith("dags/")).map((f) => f.path.slice("dags/".length)),
  );
  const tags = stackTags(config);

  const common = {
    target: config.target,
    dagIds,
    computeConfigs: nameVersions,
  };

  if (config.target === "mwaa" && preview) {
    // DAG-only preview into the base stack's environment: prefixed DAG files (paused on creation) and the
    // YAML reference copies; the workload package and connections are the base environment's.
    const baseName = previewBaseStackName(
      config.previewBaseStack,
      pulumi.getOrganization(),
      pulumi.getProject(),
    );
    const base = new pulumi.StackReference("preview-base", { name: baseName });
    const bucket = base.requireOutput("dagsBucketName") as pulumi.Output<string>;
    const dagPaths = bundlePaths.filter((p) => p.startsWith(config.dagIdPrefix));
    const dags = new DagObjects("preview-dags", {
      bucket,
      keyPrefix: "dags/",
      files: fileOutputs(dagPaths, bundle),
    });
    new DagObjects("preview-anyscale", { bucket, keyPrefix: "", files: fileOutputs(yamlPaths, yaml) });
    return {
      ...common,
      kind: `preview of ${baseName}`,
      dagFileCount: dagPaths.length,
      dagsBucketName: pulumi.output(dags.count).apply(() => bucket),
    };
  }

  if (config.target === "mwaa") {
    const m = config.mwaa;
    // A preview host runs no DAGs of its own (they would schedule paid work in the previews' environment);
    // it keeps the workload package and .airflowignore the previews' tasks import.
    const hostPaths = config.previewHost ? bundlePaths.filter((p) => !dagPathSet.has(p)) : bundlePaths;
    const airflow = new MwaaAirflow("airflow", {
      environmentName: `${PROJECT}-${config.stack}`,
      airflowVersion: config.airflowVersion,
      ...m,
      ...(m.airflowConfigurationOptions !== undefined
        ? { extraAirflowConfigurationOptions: m.airflowConfigurationOptions }
        : {}),
      providerPins: inputs.providerPins,
      dagFiles: fileOutputs(hostPaths, bundle),
      extraObjects: config.previewHost ? {} : fileOutputs(yamlPaths, yaml),
      anyscaleApiToken: secrets.anyscaleApiToken!,
      anyscaleConnId: ANYSCALE_CONN_ID,
      ...(secrets.slackWebhookUrl !== undefined ? { slackWebhookUrl: secrets.slackWebhookUrl } : {}),
      ...(secrets.slackApiToken !== undefined ? { slackApiToken: secrets.slackApiToken } : {}),
      extraConnections: secrets.airflowConnections,
      artifactBucketArns: [`arn:aws:s3:::${config.artifactBucket}`],
      isPreview: false,
      tags,
    });
    const deployer = config.previewHost
      ? new PreviewDeployerRole("preview-deployer", {
          bucketArn: airflow.bucketArn,
          githubRepository: config.previewHost.githubRepository,
          githubEnvironment: config.previewHost.githubEnvironment,
          tags,
        })
      : undefined;
    return {
      ...common,
      kind: config.previewHost ? "preview host" : "environment",
      dagIds: config.previewHost ? [] : dagIds,
      dagFileCount: hostPaths.length,
      dagsBucketName: airflow.bucketName,
      airflowUrl: airflow.webserverUrl,
      ...(deployer !== undefined ? { previewDeployerRoleArn: deployer.arn } : {}),
    };
  }

  // Kubernetes: a full Airflow per stack; a preview is a namespace on the shared cluster, cheapest settings.
  const k = config.kubernetes;
  const provider = new k8s.Provider("k8s", {
    // DAG changes patch the ConfigMap in place (the kubelet syncs the mounted files) instead of replacing it.
    enableConfigMapMutable: true,
    ...(k.context !== undefined ? { context: k.context } : {}),
  });
  const airflow = new AstroKubernetesAirflow(
    "airflow",
    {
      namespace: k.namespace,
      airflowVersion: config.airflowVersion,
      ...(k.distribution !== undefined ? { distribution: k.distribution } : {}),
      ...(k.image !== undefined ? { image: k.image } : {}),
      ...(k.executor !== undefined ? { executor: k.executor } : {}),
      ...(k.chart !== undefined ? { chart: k.chart } : {}),
      ...(k.apiServerReplicas !== undefined ? { apiServerReplicas: k.apiServerReplicas } : {}),
      ...(k.helmTimeoutSeconds !== undefined ? { helmTimeoutSeconds: k.helmTimeoutSeconds } : {}),
      // Only the DAGs folder's own files: the ConfigMap is mounted without an item list, so it holds flat
      // names; the llm_workloads package is installed in the image (infra/kubernetes/image/Dockerfile).
      dagFiles: fileOutputs(kubernetesDagPaths(bundlePaths), bundle),
      anyscaleApiToken: secrets.anyscaleApiToken!,
      anyscaleConnId: ANYSCALE_CONN_ID,
      ...(secrets.slackWebhookUrl !== undefined ? { slackWebhookUrl: secrets.slackWebhookUrl } : {}),
      ...(secrets.slackApiToken !== undefined ? { slackApiToken: secrets.slackApiToken } : {}),
      extraConnections: secrets.airflowConnections,
      ...(secrets.metadataDatabaseUrl !== undefined
        ? { metadataDatabaseUrl: secrets.metadataDatabaseUrl }
        : {}),
      isPreview: preview,
    },
    { provider },
  );
  return {
    ...common,
    kind: preview ? "preview namespace" : "environment",
    dagFileCount: kubernetesDagPaths(bundlePaths).length,
    airflowUrl: airflow.apiServerService,
    namespace: airflow.namespace,
  };
}
