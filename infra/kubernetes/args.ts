// Inputs of the `kubernetes` target and their resolved, validated form.
// Config is read once at the entrypoint (infra/index.ts) and injected here; nothing in this module reads
// Pulumi config. Secrets arrive as `pulumi.Input<string>` (normally an Output from `config.requireSecret`).
import type * as pulumi from "@pulumi/pulumi";
import {
  resolveConnectionIds,
  type AirflowConnectionArgs,
  type ResolvedConnectionIds,
} from "../shared/connections.js";

/** Which Airflow distribution image runs the components. */
export type AirflowDistribution = "astro-runtime" | "apache";

/** Executors the chart supports for Airflow 3 (CeleryKubernetes/LocalKubernetes are Airflow 2 only). */
export const AIRFLOW_EXECUTORS = ["LocalExecutor", "CeleryExecutor", "KubernetesExecutor"] as const;
export type AirflowExecutor = (typeof AIRFLOW_EXECUTORS)[number];

/** A container image reference; pin `tag` (or use an immutable digest tag) so every stack runs the same code. */
export interface AirflowImage {
  /** Registry and repository, e.g. `astrocrpublic.azurecr.io/runtime` or `ghcr.io/acme/airflow`. */
  readonly repository: string;
  /** Image tag, e.g. `3.3.1-llm1`. */
  readonly tag: string;
  /**
   * The Airflow version inside the image. Must equal `airflowVersion` (the chart branches on it, the DAGs
   * are tested on it). Required for images other than {@link DEFAULT_IMAGES}: a tag alone does not say it
   * (Astro Runtime `3.3-2` carries Airflow 3.3.0).
   */
  readonly airflowVersion?: string;
}

/** The Helm chart installed by the component (the official Apache Airflow chart, pinned). */
export interface AirflowChart {
  /** Chart version; pinned so a preview stack and prod render the same templates. */
  readonly version: string;
  /** Helm repository URL. */
  readonly repo: string;
}

/**
 * Arguments of {@link AstroKubernetesAirflow}.
 *
 * Everything secret is passed as a Pulumi input and ends up only in Kubernetes Secrets created by the
 * component (encrypted in Pulumi state); Helm values reference those Secrets by name.
 */
export interface AirflowKubernetesArgs extends AirflowConnectionArgs {
  /** Namespace created for this stack (DNS-1123 label, e.g. `airflow-dev`, `airflow-pr-42`). Deleted on destroy. */
  readonly namespace: string;
  /**
   * Airflow distribution; default `apache` (the official image, what infra/kubernetes/image/Dockerfile builds
   * on), or `astro-runtime` (then `image` with its `airflowVersion` is required).
   */
  readonly distribution?: AirflowDistribution;
  /**
   * Image for all Airflow components. Default: the stock image of `distribution`
   * ({@link DEFAULT_IMAGES}). In practice a project image built FROM it that adds
   * `astro-provider-anyscale`, the Slack provider, the FAB provider and `llm-workloads` (see README).
   */
  readonly image?: AirflowImage;
  /** Airflow version inside `image` (the chart branches on it); default {@link DEFAULT_AIRFLOW_VERSION}. */
  readonly airflowVersion?: string;
  /** Airflow executor; default `LocalExecutor` (no Redis/Celery workers — cheapest for previews). */
  readonly executor?: AirflowExecutor;
  /** Helm chart override; default {@link DEFAULT_CHART}. */
  readonly chart?: Partial<AirflowChart>;
  /**
   * Rendered files to serve from the DAGs folder: path relative to the DAGs folder (e.g.
   * `llm_finetune.py`, `anyscale/jobs/finetune.yaml`) → file content. Shipped as one ConfigMap. Paths must be
   * known when the component is constructed; contents may be outputs (the infra program renders them from the
   * compute configs' `name:version` outputs), in which case the size limit is checked when they resolve.
   */
  readonly dagFiles: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * External metadata database URL (a secret), e.g. `postgresql://user:pass@host:5432/airflow?sslmode=require`.
   * When absent, the chart's bundled PostgreSQL runs in the namespace with a generated password.
   */
  readonly metadataDatabaseUrl?: pulumi.Input<string>;
  /** Number of API server replicas; default 1. */
  readonly apiServerReplicas?: number;
  /** Cheaper settings for PR previews (no statsd, no persistent volumes for workers/triggerer). */
  readonly isPreview?: boolean;
  /** Non-secret extra environment variables for every Airflow container. Checked for secret-looking values. */
  readonly env?: Readonly<Record<string, string>>;
  /** Seconds Helm waits for the release (pods ready, migration job complete); default 900. */
  readonly helmTimeoutSeconds?: number;
  /** Escape hatch: extra chart values deep-merged last. Checked for secret-looking values. */
  readonly extraValues?: Readonly<Record<string, unknown>>;
}

/** Chart choice (see README): the official chart, pinned. 1.22.0 is the latest release (2026-06-13). */
export const DEFAULT_CHART: AirflowChart = { version: "1.22.0", repo: "https://airflow.apache.org" };

/** Airflow 3.3.x: the version the DAGs are rendered and tested against (.venv has 3.3.1). */
export const DEFAULT_AIRFLOW_VERSION = "3.3.1";

/**
 * Stock images, only where the tag says the Airflow version: `apache/airflow:<version>`. The official image
 * ships the FAB provider the chart's auth manager needs (its default extras include `fab`; documented, not
 * observed here). It lacks astro-provider-anyscale and `llm_workloads`: real stacks pass the project image
 * (infra/kubernetes/image/Dockerfile). There is no Astro Runtime default: Runtime tags name only the Airflow
 * minor (`3.3-2` carries 3.3.0), so a Runtime image must come with its `airflowVersion`.
 */
export const DEFAULT_IMAGES: Readonly<Partial<Record<AirflowDistribution, Required<AirflowImage>>>> = {
  apache: {
    repository: "apache/airflow",
    tag: DEFAULT_AIRFLOW_VERSION,
    airflowVersion: DEFAULT_AIRFLOW_VERSION,
  },
};

/** AIRFLOW_HOME inside each distribution's image; the DAGs folder is `<home>/dags`. */
export const AIRFLOW_HOME: Readonly<Record<AirflowDistribution, string>> = {
  "astro-runtime": "/usr/local/airflow",
  apache: "/opt/airflow",
};

/** Helm release name; fixed so in-namespace object names (`airflow-api-server`, ...) are stable. */
export const RELEASE_NAME = "airflow";

/** Args with defaults applied and validated; plain data only (secrets stay outside). */
export interface ResolvedAirflowKubernetesArgs extends ResolvedConnectionIds {
  readonly namespace: string;
  readonly distribution: AirflowDistribution;
  readonly image: Required<AirflowImage>;
  readonly airflowVersion: string;
  readonly executor: AirflowExecutor;
  readonly chart: AirflowChart;
  readonly externalDatabase: boolean;
  readonly apiServerReplicas: number;
  readonly isPreview: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly helmTimeoutSeconds: number;
  readonly extraValues: Readonly<Record<string, unknown>>;
}

/** An argument problem; the component re-raises it as a `pulumi.ResourceError` tied to itself. */
export class AirflowKubernetesArgsError extends Error {
  override readonly name = "AirflowKubernetesArgsError";
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SEMVER = /^\d+\.\d+\.\d+$/;

/** Apply defaults and validate; throws {@link AirflowKubernetesArgsError} naming the offending field. */
export function resolveArgs(args: AirflowKubernetesArgs): ResolvedAirflowKubernetesArgs {
  const fail = (msg: string): never => {
    throw new AirflowKubernetesArgsError(msg);
  };
  if (!DNS_LABEL.test(args.namespace)) {
    fail(
      `\`namespace\` must be a DNS-1123 label (lowercase letters, digits, '-', ≤63 chars); got ${JSON.stringify(args.namespace)}`,
    );
  }
  const distribution = args.distribution ?? "apache";
  if (distribution !== "astro-runtime" && distribution !== "apache") {
    fail(`\`distribution\` must be "astro-runtime" or "apache"; got ${JSON.stringify(distribution)}`);
  }
  const image =
    args.image ??
    DEFAULT_IMAGES[distribution] ??
    fail(
      `\`image\` is required with distribution "${distribution}": its tags do not say the Airflow version inside (Astro Runtime 3.3-2 carries 3.3.0); pass { repository, tag, airflowVersion }`,
    );
  if (image.repository.trim() === "" || /\s/.test(image.repository)) {
    fail(
      `\`image.repository\` must be a non-empty image repository; got ${JSON.stringify(image.repository)}`,
    );
  }
  if (image.tag.trim() === "" || image.tag === "latest" || /\s/.test(image.tag)) {
    fail(`\`image.tag\` must be a pinned tag (not empty, not "latest"); got ${JSON.stringify(image.tag)}`);
  }
  const airflowVersion = args.airflowVersion ?? DEFAULT_AIRFLOW_VERSION;
  if (!SEMVER.test(airflowVersion) || !airflowVersion.startsWith("3.")) {
    fail(
      `\`airflowVersion\` must be an Airflow 3 version like "3.3.1"; got ${JSON.stringify(airflowVersion)}`,
    );
  }
  const imageAirflowVersion =
    image.airflowVersion ??
    fail(
      `\`image.airflowVersion\` is required: the Airflow version inside ${image.repository}:${image.tag} (it must equal \`airflowVersion\`)`,
    );
  if (imageAirflowVersion !== airflowVersion) {
    fail(
      `\`image.airflowVersion\` ${JSON.stringify(imageAirflowVersion)} (${image.repository}:${image.tag}) differs from \`airflowVersion\` ${JSON.stringify(airflowVersion)}: the chart, the image and the tested DAGs must agree`,
    );
  }
  const executor = args.executor ?? "LocalExecutor";
  if (!(AIRFLOW_EXECUTORS as readonly string[]).includes(executor)) {
    fail(`\`executor\` must be one of ${AIRFLOW_EXECUTORS.join(", ")}; got ${JSON.stringify(executor)}`);
  }
  const chart: AirflowChart = { ...DEFAULT_CHART, ...args.chart };
  if (!SEMVER.test(chart.version)) {
    fail(
      `\`chart.version\` must be a pinned chart version like "1.22.0"; got ${JSON.stringify(chart.version)}`,
    );
  }
  if (!/^https:\/\//.test(chart.repo)) {
    fail(`\`chart.repo\` must be an https URL; got ${JSON.stringify(chart.repo)}`);
  }
  const connections = resolveConnectionIds(args, fail);
  const apiServerReplicas = args.apiServerReplicas ?? 1;
  if (!Number.isInteger(apiServerReplicas) || apiServerReplicas < 1 || apiServerReplicas > 10) {
    fail(`\`apiServerReplicas\` must be an integer from 1 to 10; got ${String(apiServerReplicas)}`);
  }
  const helmTimeoutSeconds = args.helmTimeoutSeconds ?? 900;
  if (!Number.isInteger(helmTimeoutSeconds) || helmTimeoutSeconds < 60) {
    fail(`\`helmTimeoutSeconds\` must be an integer ≥ 60; got ${String(helmTimeoutSeconds)}`);
  }
  const env = args.env ?? {};
  for (const name of Object.keys(env)) {
    if (!ENV_NAME.test(name))
      fail(`\`env\` key ${JSON.stringify(name)} is not a valid environment variable name`);
    if (name.startsWith("AIRFLOW_CONN_")) {
      fail(`\`env.${name}\`: connections must not be plain env values; pass them as secrets (see README)`);
    }
  }
  return {
    namespace: args.namespace,
    distribution,
    image: { repository: image.repository, tag: image.tag, airflowVersion: imageAirflowVersion },
    airflowVersion,
    executor,
    chart,
    ...connections,
    externalDatabase: args.metadataDatabaseUrl !== undefined,
    apiServerReplicas,
    isPreview: args.isPreview ?? false,
    env,
    helmTimeoutSeconds,
    extraValues: args.extraValues ?? {},
  };
}
