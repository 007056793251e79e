// Compute configs as code: a strict zod schema for the Anyscale compute-config YAML (exactly the fields of the
// `anyscale` SDK's `ComputeConfig` model, snake_case keys as in `anyscale compute-config create -f cc.yaml`),
// a separate schema for the two cluster-lifetime limits that only the REST API takes
// (`CreateComputeTemplateConfig.idle_termination_minutes` / `maximum_uptime_minutes`; the SDK model refuses
// them), and the pure mapping of both to the REST body of `POST /api/v2/compute_templates/`.
// The mapping mirrors anyscale 0.26.112 `compute_config/_private/compute_config_sdk.py`
// (`_convert_single_deployment_compute_config_to_api_model`), so a config made here reads back identically
// through `anyscale.compute_config.get`.
import { z } from "zod";

export const MarketTypeSchema = z.enum(["ON_DEMAND", "SPOT", "PREFER_SPOT"]);
export type MarketType = z.infer<typeof MarketTypeSchema>;

const ResourceDictSchema = z.record(z.string().min(1), z.number().nonnegative());
const StringDictSchema = z.record(z.string().min(1), z.string());
const JsonObjectSchema = z.record(z.string(), z.unknown());

/** Head node: the instance type is required (we do not fetch the cloud's default compute config). */
export const HeadNodeSpecSchema = z.strictObject({
  instance_type: z.string().min(1, "instance_type must not be empty"),
  /** Logical Ray resources; CPU/GPU/memory/object_store_memory map to typed fields, others to custom_resources. */
  resources: ResourceDictSchema.optional(),
  labels: StringDictSchema.optional(),
  advanced_instance_config: JsonObjectSchema.optional(),
  flags: JsonObjectSchema.optional(),
});
export type HeadNodeSpec = z.infer<typeof HeadNodeSpecSchema>;

export const WorkerNodeGroupSpecSchema = z
  .strictObject({
    /** Unique within the config; defaults to the instance type (as the SDK does). */
    name: z.string().min(1).optional(),
    instance_type: z.string().min(1, "instance_type must not be empty"),
    min_nodes: z.number().int().nonnegative().default(0),
    max_nodes: z.number().int().min(1).default(10),
    market_type: MarketTypeSchema.default("ON_DEMAND"),
    resources: ResourceDictSchema.optional(),
    labels: StringDictSchema.optional(),
    advanced_instance_config: JsonObjectSchema.optional(),
    flags: JsonObjectSchema.optional(),
  })
  .refine((w) => w.max_nodes >= w.min_nodes, {
    message: "max_nodes must be greater than or equal to min_nodes",
    path: ["max_nodes"],
  });
export type WorkerNodeGroupSpec = z.infer<typeof WorkerNodeGroupSpecSchema>;

export const ComputeConfigSpecSchema = z
  .strictObject({
    /** Cloud NAME (resolved to `cloud_id` through `POST /api/v2/clouds/find_by_name`). */
    cloud: z.string().min(1, "cloud must not be empty"),
    /** Cloud resource name (customer-hosted clouds with several resources). */
    cloud_resource: z.string().min(1).optional(),
    head_node: HeadNodeSpecSchema,
    /** `[]` = head-node-only cluster; omitted = no worker groups (set auto_select_worker_config to autoscale). */
    worker_nodes: z.array(WorkerNodeGroupSpecSchema).optional(),
    min_resources: ResourceDictSchema.optional(),
    max_resources: ResourceDictSchema.optional(),
    zones: z.array(z.string().min(1)).min(1, "zones must not be empty (omit it instead)").optional(),
    enable_cross_zone_scaling: z.boolean().default(false),
    advanced_instance_config: JsonObjectSchema.optional(),
    flags: JsonObjectSchema.optional(),
    auto_select_worker_config: z.boolean().default(false),
  })
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    (spec.worker_nodes ?? []).forEach((w, i) => {
      const name = w.name ?? w.instance_type;
      if (names.has(name)) {
        ctx.addIssue({
          code: "custom",
          message: `worker group name "${name}" is used more than once (names default to instance_type)`,
          path: ["worker_nodes", i, "name"],
        });
      }
      names.add(name);
    });
    if (spec.worker_nodes !== undefined && spec.auto_select_worker_config) {
      ctx.addIssue({
        code: "custom",
        message: "auto_select_worker_config must be false when worker_nodes is given",
        path: ["auto_select_worker_config"],
      });
    }
  });

/**
 * Cluster-lifetime limits: fields of the REST `CreateComputeTemplateConfig` that the SDK's `ComputeConfig`
 * model does not take (`from_dict` fails with "unexpected keyword argument"), so they live next to the spec
 * rather than inside it and go straight into the REST body.
 */
export const ComputeConfigLimitsSchema = z.strictObject({
  /** Terminate the cluster after this many idle minutes (0 disables; the API's default is 120). */
  idle_termination_minutes: z.number().int().nonnegative().optional(),
  /** Hard cap on a cluster's lifetime in minutes. */
  maximum_uptime_minutes: z.number().int().min(1).optional(),
});
export type ComputeConfigLimits = z.infer<typeof ComputeConfigLimitsSchema>;

/** Input form (defaults optional), what authors write. */
export type ComputeConfigSpecInput = z.input<typeof ComputeConfigSpecSchema>;
/** Parsed form (defaults applied). */
export type ComputeConfigSpec = z.output<typeof ComputeConfigSpecSchema>;

/** Thrown for an invalid spec; the message names every failing field (and the source file if known). */
export class ComputeConfigSpecError extends Error {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(message);
    this.name = "ComputeConfigSpecError";
  }
}

/** Validate an unknown value (e.g. parsed YAML) as a compute-config spec; `source` names the file in errors. */
export function parseComputeConfigSpec(value: unknown, source = "compute config"): ComputeConfigSpec {
  const result = ComputeConfigSpecSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(root)",
    message: i.message,
  }));
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n");
  throw new ComputeConfigSpecError(`${source}: invalid compute config:\n${lines}`, issues);
}

/** Compute-config names are referenced as `name:version`, so `:` is not allowed in the name. */
export function validateComputeConfigName(name: string): string {
  if (name.trim() === "") throw new ComputeConfigSpecError("compute config name must not be empty", []);
  if (name.includes(":")) {
    throw new ComputeConfigSpecError(
      `compute config name "${name}" must not contain ":" (a version tag cannot be given on create)`,
      [{ path: "name", message: "contains ':'" }],
    );
  }
  return name;
}

// ---- REST wire shapes (subset of the generated Python client's models) ----

export interface RestResources {
  cpu?: number;
  gpu?: number;
  memory?: number;
  object_store_memory?: number;
  custom_resources?: Record<string, number>;
}

export interface RestComputeNodeType {
  name: string;
  instance_type: string;
  resources?: RestResources;
  labels?: Record<string, string>;
  flags?: Record<string, unknown>;
  advanced_configurations_json?: Record<string, unknown>;
}

export interface RestWorkerNodeType extends RestComputeNodeType {
  min_workers: number;
  max_workers: number;
  use_spot: boolean;
  fallback_to_ondemand: boolean;
}

export interface RestCloudDeploymentComputeConfig {
  cloud_deployment?: string;
  allowed_azs?: string[];
  head_node_type: RestComputeNodeType;
  worker_node_types?: RestWorkerNodeType[];
  auto_select_worker_config: boolean;
  flags: Record<string, unknown>;
  advanced_configurations_json?: Record<string, unknown>;
}

export interface RestComputeTemplateConfig {
  cloud_id: string;
  deployment_configs: RestCloudDeploymentComputeConfig[];
  allowed_azs?: string[];
  head_node_type: RestComputeNodeType;
  worker_node_types?: RestWorkerNodeType[];
  auto_select_worker_config: boolean;
  flags: Record<string, unknown>;
  advanced_configurations_json?: Record<string, unknown>;
  idle_termination_minutes?: number;
  maximum_uptime_minutes?: number;
}

export interface RestCreateComputeTemplate {
  name: string;
  project_id?: string;
  anonymous: boolean;
  new_version: boolean;
  config: RestComputeTemplateConfig;
}

/** The SDK makes the head node unschedulable when it is not the only node. */
const UNSCHEDULABLE_RESOURCES: RestResources = { cpu: 0, gpu: 0 };

function toRestResources(dict: Record<string, number>): RestResources {
  const { CPU, GPU, memory, object_store_memory, ...custom } = dict;
  const out: RestResources = {};
  if (CPU !== undefined) out.cpu = CPU;
  if (GPU !== undefined) out.gpu = GPU;
  if (memory !== undefined) out.memory = memory;
  if (object_store_memory !== undefined) out.object_store_memory = object_store_memory;
  if (Object.keys(custom).length > 0) out.custom_resources = custom;
  return out;
}

function nonEmpty<T extends object>(o: T | undefined): T | undefined {
  return o !== undefined && Object.keys(o).length > 0 ? o : undefined;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Map the worker group's market type the way the SDK does. */
export function marketTypeToRest(m: MarketType): { use_spot: boolean; fallback_to_ondemand: boolean } {
  return { use_spot: m === "SPOT" || m === "PREFER_SPOT", fallback_to_ondemand: m === "PREFER_SPOT" };
}

/**
 * Build the body of `POST /api/v2/compute_templates/` (CreateComputeTemplate) for a named config, making a new
 * version when the name exists. `cloudId` is the resolved id of `spec.cloud` (the REST API takes ids only).
 */
export function toCreateRequest(
  name: string,
  specInput: ComputeConfigSpecInput | ComputeConfigSpec,
  resolved: { cloudId: string; projectId?: string },
  limitsInput: ComputeConfigLimits = {},
): RestCreateComputeTemplate {
  validateComputeConfigName(name);
  const spec = parseComputeConfigSpec(specInput, `compute config "${name}"`);
  const limitsResult = ComputeConfigLimitsSchema.safeParse(limitsInput);
  if (!limitsResult.success) {
    const issues = limitsResult.error.issues.map((i) => ({
      path: ["limits", ...i.path.map(String)].join("."),
      message: i.message,
    }));
    throw new ComputeConfigSpecError(
      `compute config "${name}": invalid limits:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n")}`,
      issues,
    );
  }
  const limits = limitsResult.data;
  const headOnly =
    (spec.worker_nodes === undefined || spec.worker_nodes.length === 0) && !spec.auto_select_worker_config;

  const flags: Record<string, unknown> = { ...(spec.flags ?? {}) };
  flags["allow-cross-zone-autoscaling"] = spec.enable_cross_zone_scaling;
  if (nonEmpty(spec.min_resources)) flags.min_resources = spec.min_resources;
  if (nonEmpty(spec.max_resources)) flags.max_resources = spec.max_resources;

  const head: RestComputeNodeType = dropUndefined({
    name: "head-node",
    instance_type: spec.head_node.instance_type,
    resources:
      spec.head_node.resources !== undefined
        ? toRestResources(spec.head_node.resources)
        : headOnly
          ? undefined
          : UNSCHEDULABLE_RESOURCES,
    labels: spec.head_node.labels,
    flags: nonEmpty(spec.head_node.flags),
    advanced_configurations_json: nonEmpty(spec.head_node.advanced_instance_config),
  });

  const workers: RestWorkerNodeType[] | undefined = spec.worker_nodes?.map((w) =>
    dropUndefined({
      name: w.name ?? w.instance_type,
      instance_type: w.instance_type,
      resources: w.resources !== undefined ? toRestResources(w.resources) : undefined,
      labels: w.labels,
      min_workers: w.min_nodes,
      max_workers: w.max_nodes,
      ...marketTypeToRest(w.market_type),
      flags: nonEmpty(w.flags),
      advanced_configurations_json: nonEmpty(w.advanced_instance_config),
    }),
  );

  const deployment: RestCloudDeploymentComputeConfig = dropUndefined({
    cloud_deployment: spec.cloud_resource,
    allowed_azs: spec.zones,
    head_node_type: head,
    worker_node_types: workers,
    auto_select_worker_config: spec.auto_select_worker_config,
    flags,
    advanced_configurations_json: nonEmpty(spec.advanced_instance_config),
  });

  const config: RestComputeTemplateConfig = dropUndefined({
    cloud_id: resolved.cloudId,
    deployment_configs: [deployment],
    // As the SDK does: the top-level fields repeat the single deployment for older readers.
    allowed_azs: deployment.allowed_azs,
    head_node_type: deployment.head_node_type,
    worker_node_types: deployment.worker_node_types,
    auto_select_worker_config: deployment.auto_select_worker_config,
    flags: deployment.flags,
    advanced_configurations_json: deployment.advanced_configurations_json,
    idle_termination_minutes: limits.idle_termination_minutes,
    maximum_uptime_minutes: limits.maximum_uptime_minutes,
  });

  return dropUndefined({
    name,
    project_id: resolved.projectId,
    anonymous: false,
    new_version: true,
    config,
  });
}
