// The stack configuration: one zod schema for every key under the `llm-platform:` namespace.
// Values arrive as Pulumi hands them to the program: strings, with structured values JSON-encoded (as
// `pulumi config set --path` / YAML objects are). `parseStackConfig` (config/load.ts) decodes and validates
// them; nothing here reads Pulumi config.
import { z } from "zod";

import { ComputeConfigLimitsSchema, ComputeConfigSpecSchema } from "../anyscale/computeConfigSpec.js";
import { AIRFLOW_EXECUTORS } from "../kubernetes/args.js";

/** Pulumi project name: the config namespace (`llm-platform:<key>`). */
export const PROJECT = "llm-platform";

/** Keys whose values are secrets: read only with `requireSecret`/`getSecret`, refused in plain text. */
export const SECRET_KEYS = [
  "anyscaleApiToken",
  "slackWebhookUrl",
  "slackApiToken",
  "airflowConnections",
  "metadataDatabaseUrl",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

const nonEmpty = z.string().trim().min(1, "must not be empty");
const semver3 = z.string().regex(/^3\.\d+\.\d+$/, 'must be an Airflow 3 version like "3.3.1"');
const awsId = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `must be an id like "${prefix}-0123456789abcdef0"`);

const LogLevelSchema = z.enum(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]);
const LogSettingSchema = z.strictObject({ enabled: z.boolean(), level: LogLevelSchema });

/** Existing network: the VPC and two private subnets in different AZs with outbound access. */
const ExistingNetworkSchema = z.strictObject({
  vpcId: awsId("vpc"),
  privateSubnetIds: z
    .tuple([awsId("subnet"), awsId("subnet")])
    .refine(([a, b]) => a !== b, "must name two different subnets"),
});
/** Network created by the stack. */
const CreatedNetworkSchema = z.strictObject({
  vpcCidr: z
    .string()
    .regex(
      /^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-2])$/,
      'must be an IPv4 CIDR from /16 to /22, e.g. "10.42.0.0/16"',
    )
    .optional(),
  /** 1 (one NAT for both AZs, cheaper) or 2 (one per AZ: egress survives an AZ outage). */
  natGateways: z.union([z.literal(1), z.literal(2)]).optional(),
});

export const MwaaSettingsSchema = z.strictObject({
  environmentClass: z
    .enum(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"])
    .optional(),
  minWorkers: z.number().int().min(1).max(25).optional(),
  maxWorkers: z.number().int().min(1).max(25).optional(),
  schedulers: z.number().int().min(1).max(5).optional(),
  minWebservers: z.number().int().min(1).max(5).optional(),
  maxWebservers: z.number().int().min(1).max(5).optional(),
  webserverAccessMode: z.enum(["PRIVATE_ONLY", "PUBLIC_ONLY"]).optional(),
  logging: z
    .strictObject({
      dagProcessing: LogSettingSchema.optional(),
      scheduler: LogSettingSchema.optional(),
      task: LogSettingSchema.optional(),
      webserver: LogSettingSchema.optional(),
      worker: LogSettingSchema.optional(),
    })
    .optional(),
  network: z.union([ExistingNetworkSchema, CreatedNetworkSchema]).optional(),
  weeklyMaintenanceWindowStart: z
    .string()
    .regex(/^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$/, 'must look like "SUN:03:30"')
    .optional(),
  airflowConfigurationOptions: z.record(z.string(), z.string()).optional(),
});
export type MwaaSettings = z.infer<typeof MwaaSettingsSchema>;

export const KubernetesSettingsSchema = z.strictObject({
  /** Namespace; default `airflow-<stack>`. */
  namespace: z.string().optional(),
  distribution: z.enum(["astro-runtime", "apache"]).optional(),
  /** The Airflow image; `airflowVersion` is the version inside it and must equal the stack's `airflowVersion`. */
  image: z
    .strictObject({ repository: nonEmpty, tag: nonEmpty, airflowVersion: semver3.optional() })
    .optional(),
  executor: z.enum(AIRFLOW_EXECUTORS).optional(),
  chart: z.strictObject({ version: nonEmpty.optional(), repo: nonEmpty.optional() }).optional(),
  apiServerReplicas: z.number().int().min(1).max(10).optional(),
  helmTimeoutSeconds: z.number().int().min(60).optional(),
  /** kubeconfig context to deploy into; default: the provider's default (current context / KUBECONFIG). */
  context: nonEmpty.optional(),
});
export type KubernetesSettings = z.infer<typeof KubernetesSettingsSchema>;

export const ComputeConfigEntrySchema = z.strictObject({
  /** Anyscale name; default `<stack>-<key>` so stacks sharing an Anyscale organisation never collide. */
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$/,
      "must be letters, digits, '_' or '-' (no ':'), at most 60 characters",
    )
    .optional(),
  /** Exactly the SDK's `ComputeConfig` model (`anyscale compute-config create -f` YAML). */
  spec: ComputeConfigSpecSchema,
  /** REST-only cluster-lifetime limits (`idle_termination_minutes`, `maximum_uptime_minutes`). */
  limits: ComputeConfigLimitsSchema.optional(),
});
export type ComputeConfigEntry = z.infer<typeof ComputeConfigEntrySchema>;

/** Plain (non-secret) keys. Secret keys are validated separately: their values never pass through zod errors. */
export const PlainConfigSchema = z.strictObject({
  target: z.enum(["mwaa", "kubernetes"], { error: 'must be "mwaa" or "kubernetes"' }),
  airflowVersion: semver3.optional(),
  /** Anyscale API base URL; default https://console.anyscale.com (the compute-config provider reads it). */
  anyscaleHost: z.url({ protocol: /^https?$/ }).optional(),
  computeConfigs: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "keys must be lowercase letters, digits and '-'"),
      ComputeConfigEntrySchema,
    )
    .refine((m) => Object.keys(m).length > 0, "must declare at least one compute config"),
  /**
   * Existing S3 bucket for this environment's datasets, adapters, evaluations and reports. The rendered DAGs
   * use it as their artifact root (rebased from the definitions' `s3://llm-platform-artifacts`), and the MWAA
   * execution role may read and write it. Default `llm-platform-artifacts`.
   */
  artifactBucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
    .optional(),
  /** Stack whose Airflow environment hosts `pr-<n>` previews (MWAA target); default `dev`. */
  previewBaseStack: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/, "must be a stack name")
    .optional(),
  /**
   * Makes this (mwaa, non-preview) stack the host of `pr-<n>` previews: its environment runs no DAGs of its
   * own (previews upload theirs), and it creates the role previews deploy with, trusted only for GitHub
   * Actions jobs of `githubRepository` in the deployment environment `githubEnvironment` (default `preview`).
   */
  previewHost: z
    .strictObject({
      githubRepository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must look like "owner/repo"'),
      githubEnvironment: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/, "must be a GitHub environment name")
        .optional(),
    })
    .optional(),
  mwaa: MwaaSettingsSchema.optional(),
  kubernetes: KubernetesSettingsSchema.optional(),
  tags: z
    .record(
      z.string().regex(/^[\w .:/=+@-]{1,128}$/, "tag keys must be valid AWS tag keys"),
      z.string().max(256),
    )
    .optional(),
});
export type PlainConfig = z.infer<typeof PlainConfigSchema>;

/** Keys whose values are JSON (objects, arrays, numbers) rather than plain strings. */
export const STRUCTURED_KEYS: ReadonlySet<string> = new Set([
  "computeConfigs",
  "mwaa",
  "kubernetes",
  "tags",
  "previewHost",
]);
