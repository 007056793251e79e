// The lifecycle of an AnyscaleComputeConfig as plain functions taking a client, so they run directly against the
// emulator in tests; the Pulumi dynamic provider (computeConfigResource.ts) only wraps them.
//
// Semantics (Anyscale compute configs are immutable, versioned and archived rather than deleted):
// - create: resolve the cloud by name, then register the config; an existing (unarchived) name gets a new
//   version, unless its latest version already holds exactly this config, which is then adopted.
// - diff: a change of `name` or `spec.cloud` replaces (a new lineage; names are scoped per cloud); any other spec
//   or `limits` change is an update. `host` is where to call, not part of the config, so it never causes a change.
// - update: registers a new version under the same name (outputs get the new version and `name:version`).
// - delete: archives the config (Anyscale archives every version of the name). 404 counts as already gone; a
//   409 (a cluster still uses it) fails with the API's reason.
// - read (refresh): a version that is archived or removed outside Pulumi reads as gone.
import type * as pulumi from "@pulumi/pulumi";
import {
  AnyscaleApiError,
  canonicalJson,
  createAnyscaleClient,
  sameComputeConfig,
  type AnyscaleClient,
  type ComputeTemplate,
} from "./client.js";
import {
  ComputeConfigLimitsSchema,
  ComputeConfigSpecSchema,
  toCreateRequest,
  validateComputeConfigName,
  type ComputeConfigLimits,
  type ComputeConfigSpec,
} from "./computeConfigSpec.js";
import type { ComputeConfigState } from "./computeConfigResource.js";

export type LifecycleClient = AnyscaleClient;

/** Inputs as the provider receives them (after check). */
export interface ComputeConfigInputs {
  name: string;
  spec: ComputeConfigSpec;
  /** REST-only cluster-lifetime limits (absent = the API's defaults). */
  limits?: ComputeConfigLimits;
  host?: string;
}

/** Build a client at run time: the token comes from ANYSCALE_CLI_TOKEN here and nowhere else. */
export function clientFromEnv(host?: string): LifecycleClient {
  return createAnyscaleClient({ host });
}

/** Validate inputs; failures name the field. Defaults are applied so diffs compare like with like. */
export function checkComputeConfig(
  _olds: unknown,
  news: unknown,
): pulumi.dynamic.CheckResult<ComputeConfigInputs> {
  const n = (news ?? {}) as Record<string, unknown>;
  const failures: pulumi.dynamic.CheckFailure[] = [];
  if (typeof n.name !== "string") {
    failures.push({ property: "name", reason: "name is required (a string)" });
  } else {
    try {
      validateComputeConfigName(n.name);
    } catch (e) {
      failures.push({ property: "name", reason: (e as Error).message });
    }
  }
  const parsed = ComputeConfigSpecSchema.safeParse(n.spec);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      failures.push({ property: ["spec", ...i.path.map(String)].join("."), reason: i.message });
    }
  }
  const limits = ComputeConfigLimitsSchema.safeParse(n.limits ?? {});
  if (!limits.success) {
    for (const i of limits.error.issues) {
      failures.push({ property: ["limits", ...i.path.map(String)].join("."), reason: i.message });
    }
  }
  if (n.host !== undefined && typeof n.host !== "string") {
    failures.push({ property: "host", reason: "host must be a URL string" });
  }
  if (failures.length > 0 || !parsed.success || !limits.success) return { failures };
  const inputs: ComputeConfigInputs = { name: n.name as string, spec: parsed.data };
  if (Object.keys(limits.data).length > 0) inputs.limits = limits.data;
  if (typeof n.host === "string") inputs.host = n.host;
  return { inputs };
}

/** Dotted paths of the spec fields that differ (defaults applied on both sides). */
export function changedSpecFields(olds: unknown, news: unknown, prefix = "spec"): string[] {
  if (canonicalJson(olds) === canonicalJson(news)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(olds) && isObj(news)) {
    const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].sort();
    return keys.flatMap((k) => changedSpecFields(olds[k], news[k], `${prefix}.${k}`));
  }
  if (Array.isArray(olds) && Array.isArray(news) && olds.length === news.length) {
    return olds.flatMap((o, i) => changedSpecFields(o, news[i], `${prefix}[${i}]`));
  }
  return [prefix];
}

export interface ComputeConfigDiff extends pulumi.dynamic.DiffResult {
  /** Which fields changed, e.g. `spec.worker_nodes[0].max_nodes` (for previews and logs). */
  readonly changedFields: string[];
}

export function diffComputeConfig(
  olds: Pick<ComputeConfigState, "name" | "spec" | "limits">,
  news: Pick<ComputeConfigInputs, "name" | "spec" | "limits">,
): ComputeConfigDiff {
  const oldSpec = ComputeConfigSpecSchema.parse(olds.spec);
  const newSpec = ComputeConfigSpecSchema.parse(news.spec);
  const changedFields = [
    ...(olds.name !== news.name ? ["name"] : []),
    ...changedSpecFields(oldSpec, newSpec),
    ...changedSpecFields(olds.limits ?? {}, news.limits ?? {}, "limits"),
  ];
  const replaces = changedFields.filter((f) => f === "name" || f === "spec.cloud");
  return {
    changes: changedFields.length > 0,
    replaces,
    changedFields,
    // The old lineage can only be archived after the new one exists (create-before-delete).
    deleteBeforeReplace: false,
  };
}

function outputs(
  inputs: ComputeConfigInputs,
  t: ComputeTemplate | { id: string; name: string; version: number; config: { cloud_id: string } },
): ComputeConfigState {
  const out: ComputeConfigState = {
    name: inputs.name,
    spec: inputs.spec,
    cloudId: t.config.cloud_id,
    computeConfigId: t.id,
    version: t.version,
    nameVersion: `${t.name}:${t.version}`,
  };
  if (inputs.limits !== undefined) out.limits = inputs.limits;
  if (inputs.host !== undefined) out.host = inputs.host;
  return out;
}

async function resolveCloudId(client: LifecycleClient, cloud: string): Promise<string> {
  const found = await client.findCloudByName(cloud);
  if (found) return found.id;
  const names = (await client.listClouds()).map((c) => c.name).sort();
  throw new Error(
    `Anyscale cloud "${cloud}" (spec.cloud) was not found; clouds visible to this token: ${names.join(", ") || "(none)"}.`,
  );
}

/** Register a version for these inputs, adopting the latest version when it already holds this exact config. */
async function registerVersion(
  client: LifecycleClient,
  inputs: ComputeConfigInputs,
): Promise<ComputeConfigState> {
  const cloudId = await resolveCloudId(client, inputs.spec.cloud);
  const body = toCreateRequest(inputs.name, inputs.spec, { cloudId }, inputs.limits);
  const latest = await client.findComputeConfig(inputs.name, { cloudId, includeArchived: true });
  if (latest?.archived_at) {
    throw new Error(
      `Anyscale compute config "${inputs.name}" is archived in cloud "${inputs.spec.cloud}" and its name can no longer ` +
        "be used; choose another name (or unarchive it in Anyscale).",
    );
  }
  if (latest && sameComputeConfig(latest.config, body.config)) return outputs(inputs, latest);
  return outputs(inputs, await client.createComputeConfig(body));
}

export async function createComputeConfig(
  client: LifecycleClient,
  inputs: ComputeConfigInputs,
): Promise<{ id: string; outs: ComputeConfigState }> {
  const outs = await registerVersion(client, inputs);
  return { id: outs.computeConfigId, outs };
}

export async function updateComputeConfig(
  client: LifecycleClient,
  _olds: ComputeConfigState,
  news: ComputeConfigInputs,
): Promise<{ outs: ComputeConfigState }> {
  return { outs: await registerVersion(client, news) };
}

export async function deleteComputeConfig(
  client: LifecycleClient,
  _id: string,
  props: Pick<ComputeConfigState, "computeConfigId" | "nameVersion">,
): Promise<void> {
  try {
    await client.archiveComputeConfig(props.computeConfigId);
  } catch (e) {
    if (e instanceof AnyscaleApiError && e.status === 404) return; // already gone
    if (e instanceof AnyscaleApiError && e.status === 409) {
      throw new Error(`Cannot archive Anyscale compute config ${props.nameVersion}: ${e.detail}`, {
        cause: e,
      });
    }
    throw e;
  }
}

/** Refresh: the tracked version, or `{}` (gone) when it was archived or removed outside Pulumi. */
export async function readComputeConfig(
  client: LifecycleClient,
  id: string,
  props: ComputeConfigState,
): Promise<{ id?: string; props?: ComputeConfigState }> {
  const t = await client.getComputeConfig(props?.computeConfigId ?? id);
  if (!t || t.archived_at || t.deleted_at) return {};
  return {
    id,
    props: {
      ...props,
      cloudId: t.config.cloud_id,
      computeConfigId: t.id,
      version: t.version,
      nameVersion: `${t.name}:${t.version}`,
    },
  };
}
