// Inputs of the `mwaa` target and their resolved, validated form.
// Config is read once at the entrypoint (infra/index.ts) and injected here; nothing in this module reads
// Pulumi config or files. Secrets arrive as `pulumi.Input<string>` (normally an Output from
// `config.requireSecret`) and only ever reach Secrets Manager secret versions.
import type * as pulumi from "@pulumi/pulumi";

import { validateKeyPrefix, validateObjectPaths } from "./dagObjects.js";
import { fail } from "./errors.js";
import { DEFAULT_VPC_CIDR, subnetCidrs, type SubnetCidrs } from "./network.js";
import { MWAA_CONSTRAINED_PACKAGES, requirementsTxt, validatePins } from "./requirements.js";
import { airflowConfigurationOptions, CONNECTIONS_PREFIX_ROOT } from "./secretsBackend.js";
import {
  resolveConnectionIds,
  type AirflowConnectionArgs,
  type ResolvedConnectionIds,
} from "../shared/connections.js";

export { MwaaArgsError } from "./errors.js";

/** MWAA environment classes (the service accepts xlarge/2xlarge even where the provider docs omit them). */
export const MWAA_ENVIRONMENT_CLASSES = [
  "mw1.micro",
  "mw1.small",
  "mw1.medium",
  "mw1.large",
  "mw1.xlarge",
  "mw1.2xlarge",
] as const;
export type MwaaEnvironmentClass = (typeof MWAA_ENVIRONMENT_CLASSES)[number];

/** Log types of an MWAA environment; log groups are `airflow-<environmentName>-<Type>`. */
export const MWAA_LOG_TYPES = ["dagProcessing", "scheduler", "task", "webserver", "worker"] as const;
export type MwaaLogType = (typeof MWAA_LOG_TYPES)[number];

export const MWAA_LOG_LEVELS = ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] as const;
export type MwaaLogLevel = (typeof MWAA_LOG_LEVELS)[number];

/** One log type's setting. */
export interface MwaaLogSetting {
  readonly enabled: boolean;
  readonly level: MwaaLogLevel;
}

/** How the Airflow UI is reached: through the VPC only, or from the internet (sign-in is IAM either way). */
export type MwaaWebserverAccessMode = "PRIVATE_ONLY" | "PUBLIC_ONLY";

/**
 * An existing network: the VPC and two private subnets in different AZs with outbound access (NAT or VPC
 * endpoints). The subnets are ForceNew on the environment: changing them replaces it.
 */
export interface MwaaExistingNetwork {
  readonly vpcId: pulumi.Input<string>;
  readonly privateSubnetIds: readonly [pulumi.Input<string>, pulumi.Input<string>];
}

/** A network the component creates: a VPC, 2 public + 2 private subnets in two AZs, IGW, NAT, routes. */
export interface MwaaCreatedNetwork {
  /** VPC range, /16 to /22; default {@link DEFAULT_VPC_CIDR}. Subnets: see `subnetCidrs`. */
  readonly vpcCidr?: string;
  /**
   * NAT gateways: 1 (default; one NAT for both AZs, ≈ $0.045/h plus data processing) or 2 (one per AZ,
   * so egress survives the loss of an AZ; for production).
   */
  readonly natGateways?: 1 | 2;
  /**
   * The two AZs, e.g. `["us-east-1a", "us-east-1b"]`. Default: the first two (by name) that
   * `aws.getAvailabilityZones({state: "available"})` returns without opt-in. Pin them when the default
   * pair is one MWAA does not support in your region.
   */
  readonly availabilityZones?: readonly [string, string];
}

export type MwaaNetwork = MwaaExistingNetwork | MwaaCreatedNetwork;

/** Whether `network` names existing resources (rather than asking for a new VPC). */
export function isExistingNetwork(network: MwaaNetwork): network is MwaaExistingNetwork {
  return "vpcId" in network && network.vpcId !== undefined;
}

/**
 * Arguments of {@link MwaaAirflow}.
 *
 * Everything secret is passed as a Pulumi input and ends up only in Secrets Manager secret versions
 * (encrypted in Pulumi state); the environment's configuration names the secrets' prefix, never a value.
 */
export interface MwaaAirflowArgs extends AirflowConnectionArgs {
  /** MWAA environment name: `^[a-zA-Z][0-9a-zA-Z-_]*$`, ≤ 80 chars. Log groups are `airflow-<name>-*`. */
  readonly environmentName: string;
  /**
   * Airflow version, pinned so every stack runs the same one; default {@link DEFAULT_AIRFLOW_VERSION}.
   * Any `3.x.y` is accepted; MWAA ships images for {@link MWAA_AIRFLOW_3_VERSIONS} (check the MWAA
   * "Apache Airflow versions" page before pinning another).
   */
  readonly airflowVersion?: string;
  /** Environment class; default `mw1.small`. `mw1.micro` runs 1 scheduler, 1 webserver, 1 worker, no autoscaling. */
  readonly environmentClass?: MwaaEnvironmentClass;
  /** Minimum workers (1–25); default 1. Must be 1 for mw1.micro. */
  readonly minWorkers?: number;
  /** Maximum workers (1–25, ≥ minWorkers); default 10. Must be 1 for mw1.micro. */
  readonly maxWorkers?: number;
  /** Schedulers (2–5); default 2. Must be 1 for mw1.micro. */
  readonly schedulers?: number;
  /** Minimum webservers (2–5); default 2. Must be 1 for mw1.micro. */
  readonly minWebservers?: number;
  /** Maximum webservers (2–5, ≥ minWebservers); default 2. Must be 1 for mw1.micro. */
  readonly maxWebservers?: number;
  /**
   * Default `PRIVATE_ONLY`. Note: MWAA also installs requirements.txt on the webserver, which in
   * PRIVATE_ONLY mode needs a route to PyPI (the created network's NAT provides one).
   */
  readonly webserverAccessMode?: MwaaWebserverAccessMode;
  /** Per log type overrides of {@link DEFAULT_LOGGING}. */
  readonly logging?: Partial<Record<MwaaLogType, MwaaLogSetting>>;
  /** Existing VPC and private subnets, or settings of the network to create. Absent: create with defaults. */
  readonly network?: MwaaNetwork;
  /** Weekly maintenance window start, e.g. `SUN:03:30` (UTC, on the hour or half hour). Default: MWAA picks. */
  readonly weeklyMaintenanceWindowStart?: string;
  /** Customer-managed KMS key for the source bucket; default SSE-S3 (AES256). */
  readonly bucketKmsKeyArn?: pulumi.Input<string>;
  /**
   * requirements.txt pins of packages Airflow's constraints do NOT govern, package → exact version; in practice
   * `providerPinsFromLock(<python/requirements.lock>, MWAA_PINNED_PACKAGES)` at the entrypoint, so MWAA installs
   * what the tests ran against. `apache-airflow*` names are refused (the constraints decide them).
   */
  readonly providerPins: Readonly<Record<string, string>>;
  /** Packages listed without a version (the constraints decide); default {@link MWAA_CONSTRAINED_PACKAGES}. */
  readonly constrainedPackages?: readonly string[];
  /** Further requirements.txt content: `providers` pins are added to (and override) `providerPins`. */
  readonly requirements?: { readonly providers?: Readonly<Record<string, string>> };
  /**
   * Files of the DAGs folder: path relative to it (e.g. `llm_data_update.py`, `llm_workloads/storage.py`,
   * `.airflowignore`) → content, uploaded under `dags/`. Paths must be known now; contents may be outputs.
   * DAG objects are not inputs of the environment: changing a DAG never updates the environment.
   */
  readonly dagFiles: Readonly<Record<string, pulumi.Input<string>>>;
  /** Further objects outside `dags/`: bucket key (e.g. `anyscale/jobs/finetune.yaml`) → content. */
  readonly extraObjects?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Secrets Manager prefix of the connections; default `airflow/connections/<environmentName>`. Must start
   * with `airflow/connections/`. Per-environment prefixes let dev and prod share one AWS account without
   * overwriting each other's secrets, and each execution role can read only its own prefix.
   */
  readonly connectionsPrefix?: string;
  /** Further Airflow configuration options (no secrets: MWAA shows them in its console and API). */
  readonly extraAirflowConfigurationOptions?: Readonly<Record<string, string>>;
  /** ARNs of buckets the DAGs' Python tasks read and write (object read/write/delete + list); may be empty. */
  readonly artifactBucketArns?: readonly pulumi.Input<string>[];
  /** Short-lived stack: the bucket is emptied on destroy and secrets are deleted without a recovery window. */
  readonly isPreview?: boolean;
  /** Tags for every taggable resource. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Airflow 3.3.x: the version the DAGs are rendered and tested against (.venv has 3.3.1). */
export const DEFAULT_AIRFLOW_VERSION = "3.3.1";

/** Airflow 3 versions MWAA ships images for (aws/amazon-mwaa-docker-images, 2026-08). */
export const MWAA_AIRFLOW_3_VERSIONS = ["3.0.6", "3.2.1", "3.3.1"] as const;

/**
 * Default logging. What an operator needs to debug a failing DAG: task logs at INFO (the task's own
 * output), and the DAG processor (import/parse errors), scheduler (why a task does not start) and worker
 * (crashes, OOM kills) at WARNING, so problems show while routine chatter stays out of CloudWatch, which
 * bills per GB ingested. Webserver logs are off: they are access logs, rarely needed, and noisy.
 */
export const DEFAULT_LOGGING: Readonly<Record<MwaaLogType, MwaaLogSetting>> = {
  dagProcessing: { enabled: true, level: "WARNING" },
  scheduler: { enabled: true, level: "WARNING" },
  task: { enabled: true, level: "INFO" },
  webserver: { enabled: false, level: "WARNING" },
  worker: { enabled: true, level: "WARNING" },
};

/** The resolved network: existing ids, or what to create (CIDRs computed). */
export type ResolvedMwaaNetwork =
  | {
      readonly kind: "existing";
      readonly vpcId: pulumi.Input<string>;
      readonly privateSubnetIds: readonly [pulumi.Input<string>, pulumi.Input<string>];
    }
  | {
      readonly kind: "created";
      readonly vpcCidr: string;
      readonly subnets: SubnetCidrs;
      readonly natGateways: 1 | 2;
      readonly availabilityZones: readonly [string, string] | undefined;
    };

/** Args with defaults applied and validated. Secrets and file contents stay outside. */
export interface ResolvedMwaaAirflowArgs extends ResolvedConnectionIds {
  readonly environmentName: string;
  readonly airflowVersion: string;
  readonly environmentClass: MwaaEnvironmentClass;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly schedulers: number;
  readonly minWebservers: number;
  readonly maxWebservers: number;
  readonly webserverAccessMode: MwaaWebserverAccessMode;
  readonly logging: Readonly<Record<MwaaLogType, MwaaLogSetting>>;
  readonly network: ResolvedMwaaNetwork;
  readonly weeklyMaintenanceWindowStart: string | undefined;
  /** `providerPins` merged with `requirements.providers`. */
  readonly pins: Readonly<Record<string, string>>;
  /** The requirements.txt text. */
  readonly requirementsTxt: string;
  readonly connectionsPrefix: string;
  readonly airflowConfigurationOptions: Readonly<Record<string, string>>;
  /** DAG file paths (relative to `dags/`), sorted. */
  readonly dagPaths: readonly string[];
  /** Extra object keys, sorted. */
  readonly extraObjectKeys: readonly string[];
  readonly isPreview: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

/** Prefix of the DAGs folder in the bucket (`dagS3Path`). */
export const DAG_S3_PATH = "dags/";
/** Key of requirements.txt in the bucket (`requirementsS3Path`). */
export const REQUIREMENTS_KEY = "requirements.txt";

const ENVIRONMENT_NAME = /^[a-zA-Z][0-9a-zA-Z-_]*$/;
const AIRFLOW_3_VERSION = /^3\.\d+\.\d+$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9_+=.@-]+$/;
const MAINTENANCE_WINDOW = /^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$/;

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`\`${field}\` must be an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

interface Capacity {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly schedulers: number;
  readonly minWebservers: number;
  readonly maxWebservers: number;
}

/** Worker/scheduler/webserver counts for the class, with MWAA's ranges enforced. */
function resolveCapacity(args: MwaaAirflowArgs, environmentClass: MwaaEnvironmentClass): Capacity {
  const fields = ["minWorkers", "maxWorkers", "schedulers", "minWebservers", "maxWebservers"] as const;
  if (environmentClass === "mw1.micro") {
    // micro is one combined scheduler/worker node with one webserver: nothing to scale.
    for (const f of fields) {
      const v = args[f];
      if (v !== undefined && v !== 1) {
        fail(
          `\`${f}\` must be 1 (or unset) for mw1.micro, which does not autoscale and runs one scheduler and one webserver; got ${String(v)}`,
        );
      }
    }
    return { minWorkers: 1, maxWorkers: 1, schedulers: 1, minWebservers: 1, maxWebservers: 1 };
  }
  const minWorkers = integerIn("minWorkers", args.minWorkers ?? 1, 1, 25);
  const maxWorkers = integerIn("maxWorkers", args.maxWorkers ?? Math.max(10, minWorkers), 1, 25);
  if (maxWorkers < minWorkers) fail(`\`maxWorkers\` (${maxWorkers}) must be ≥ minWorkers (${minWorkers})`);
  const schedulers = integerIn("schedulers", args.schedulers ?? 2, 2, 5);
  const minWebservers = integerIn("minWebservers", args.minWebservers ?? 2, 2, 5);
  const maxWebservers = integerIn("maxWebservers", args.maxWebservers ?? Math.max(2, minWebservers), 2, 5);
  if (maxWebservers < minWebservers) {
    fail(`\`maxWebservers\` (${maxWebservers}) must be ≥ minWebservers (${minWebservers})`);
  }
  return { minWorkers, maxWorkers, schedulers, minWebservers, maxWebservers };
}

function resolveLogging(logging: MwaaAirflowArgs["logging"]): Record<MwaaLogType, MwaaLogSetting> {
  const out = { ...DEFAULT_LOGGING };
  for (const [type, setting] of Object.entries(logging ?? {})) {
    if (!(MWAA_LOG_TYPES as readonly string[]).includes(type)) {
      fail(`\`logging\` key ${JSON.stringify(type)} must be one of ${MWAA_LOG_TYPES.join(", ")}`);
    }
    if (setting === undefined) continue;
    if (typeof setting.enabled !== "boolean") fail(`\`logging.${type}.enabled\` must be a boolean`);
    if (!(MWAA_LOG_LEVELS as readonly string[]).includes(setting.level)) {
      fail(
        `\`logging.${type}.level\` must be one of ${MWAA_LOG_LEVELS.join(", ")}; got ${JSON.stringify(setting.level)}`,
      );
    }
    out[type as MwaaLogType] = { enabled: setting.enabled, level: setting.level };
  }
  return out;
}

function resolveNetwork(network: MwaaNetwork | undefined): ResolvedMwaaNetwork {
  const n = network ?? {};
  if (isExistingNetwork(n)) {
    const mixed = ["vpcCidr", "natGateways", "availabilityZones"].filter((k) => k in n);
    if (mixed.length > 0) {
      fail(`\`network.${mixed[0]!}\` only applies to a created network; with \`network.vpcId\` remove it`);
    }
    const ids = n.privateSubnetIds as readonly unknown[] | undefined;
    if (!Array.isArray(ids) || ids.length !== 2) {
      fail("`network.privateSubnetIds` must be two private subnets in different availability zones");
    }
    const [a, b] = n.privateSubnetIds;
    if (typeof a === "string" && a === b) {
      fail(`\`network.privateSubnetIds\` must name two different subnets; got ${JSON.stringify(a)} twice`);
    }
    return { kind: "existing", vpcId: n.vpcId, privateSubnetIds: n.privateSubnetIds };
  }
  if ("privateSubnetIds" in n) fail("`network.privateSubnetIds` needs `network.vpcId` as well");
  const vpcCidr = n.vpcCidr ?? DEFAULT_VPC_CIDR;
  const natGateways = n.natGateways ?? 1;
  if (natGateways !== 1 && natGateways !== 2) {
    fail(`\`network.natGateways\` must be 1 or 2; got ${String(natGateways)}`);
  }
  const azs = n.availabilityZones;
  if (azs !== undefined) {
    const [a, b] = azs;
    if (azs.length !== 2 || !a || !b || a === b) {
      fail(`\`network.availabilityZones\` must be two different zones; got ${JSON.stringify(azs)}`);
    }
  }
  return { kind: "created", vpcCidr, subnets: subnetCidrs(vpcCidr), natGateways, availabilityZones: azs };
}

function resolveConnectionsPrefix(prefix: string | undefined, environmentName: string): string {
  const value = prefix ?? `${CONNECTIONS_PREFIX_ROOT}${environmentName}`;
  const rest = value.startsWith(CONNECTIONS_PREFIX_ROOT) ? value.slice(CONNECTIONS_PREFIX_ROOT.length) : "";
  if (rest === "" || !rest.split("/").every((s) => PREFIX_SEGMENT.test(s))) {
    fail(
      `\`connectionsPrefix\` must be "${CONNECTIONS_PREFIX_ROOT}<name>" (segments of letters, digits and _+=.@-, no trailing '/'); got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function resolveTags(tags: MwaaAirflowArgs["tags"]): Readonly<Record<string, string>> {
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (k === "" || k.length > 128 || k.startsWith("aws:")) {
      fail(`\`tags\` key ${JSON.stringify(k)} must be 1–128 characters and not start with "aws:"`);
    }
    if (typeof v !== "string" || v.length > 256) fail(`\`tags.${k}\` must be a string of ≤ 256 characters`);
  }
  return tags ?? {};
}

/** Apply defaults and validate; throws `MwaaArgsError` naming the offending field. */
export function resolveArgs(args: MwaaAirflowArgs): ResolvedMwaaAirflowArgs {
  const environmentName = args.environmentName;
  if (
    typeof environmentName !== "string" ||
    !ENVIRONMENT_NAME.test(environmentName) ||
    environmentName.length > 80
  ) {
    fail(
      `\`environmentName\` must start with a letter, contain only letters, digits, '-' and '_', and be ≤ 80 chars; got ${JSON.stringify(environmentName)}`,
    );
  }
  const airflowVersion = args.airflowVersion ?? DEFAULT_AIRFLOW_VERSION;
  if (!AIRFLOW_3_VERSION.test(airflowVersion)) {
    fail(
      `\`airflowVersion\` must be an Airflow 3 version like "${DEFAULT_AIRFLOW_VERSION}" (MWAA ships ${MWAA_AIRFLOW_3_VERSIONS.join(", ")}); got ${JSON.stringify(airflowVersion)}`,
    );
  }
  const environmentClass = args.environmentClass ?? "mw1.small";
  if (!(MWAA_ENVIRONMENT_CLASSES as readonly string[]).includes(environmentClass)) {
    fail(
      `\`environmentClass\` must be one of ${MWAA_ENVIRONMENT_CLASSES.join(", ")}; got ${JSON.stringify(environmentClass)}`,
    );
  }
  const capacity = resolveCapacity(args, environmentClass);
  const webserverAccessMode = args.webserverAccessMode ?? "PRIVATE_ONLY";
  if (webserverAccessMode !== "PRIVATE_ONLY" && webserverAccessMode !== "PUBLIC_ONLY") {
    fail(
      `\`webserverAccessMode\` must be "PRIVATE_ONLY" or "PUBLIC_ONLY"; got ${JSON.stringify(webserverAccessMode)}`,
    );
  }
  const weeklyMaintenanceWindowStart = args.weeklyMaintenanceWindowStart;
  if (weeklyMaintenanceWindowStart !== undefined && !MAINTENANCE_WINDOW.test(weeklyMaintenanceWindowStart)) {
    fail(
      `\`weeklyMaintenanceWindowStart\` must look like "SUN:03:30" (day, UTC hour, :00 or :30); got ${JSON.stringify(weeklyMaintenanceWindowStart)}`,
    );
  }

  validatePins(args.providerPins, "providerPins");
  const extraPins = args.requirements?.providers ?? {};
  validatePins(extraPins, "requirements.providers");
  const pins = { ...args.providerPins, ...extraPins };
  validatePins(pins, "requirements.providers");

  const connections = resolveConnectionIds(args, fail);
  const { connectionIds } = connections;
  const connectionsPrefix = resolveConnectionsPrefix(args.connectionsPrefix, environmentName);

  const dagPaths = validateObjectPaths(args.dagFiles, "dagFiles");
  validateKeyPrefix(DAG_S3_PATH, "dagS3Path");
  const extraObjectKeys = validateObjectPaths(args.extraObjects ?? {}, "extraObjects");
  for (const key of extraObjectKeys) {
    if (key.startsWith(DAG_S3_PATH) || key === REQUIREMENTS_KEY) {
      fail(
        `\`extraObjects[${JSON.stringify(key)}]\` would collide with the component's own objects (${DAG_S3_PATH}*, ${REQUIREMENTS_KEY}); DAG files belong in \`dagFiles\``,
      );
    }
  }

  return {
    environmentName,
    airflowVersion,
    environmentClass,
    ...capacity,
    webserverAccessMode,
    logging: resolveLogging(args.logging),
    network: resolveNetwork(args.network),
    weeklyMaintenanceWindowStart,
    pins,
    requirementsTxt: requirementsTxt(
      airflowVersion,
      pins,
      args.constrainedPackages ?? MWAA_CONSTRAINED_PACKAGES,
    ),
    ...connections,
    connectionsPrefix,
    airflowConfigurationOptions: airflowConfigurationOptions(
      connectionsPrefix,
      connectionIds,
      args.extraAirflowConfigurationOptions,
    ),
    dagPaths,
    extraObjectKeys,
    isPreview: args.isPreview ?? false,
    tags: resolveTags(args.tags),
  };
}
