// Pulumi resource for an Anyscale compute config. The provider is a thin wrapper: every lifecycle step lives in
// plain exported functions (computeConfigLifecycle.ts) that take a client, so they are tested against the emulator
// without Pulumi. The API token is read from the environment inside each provider call, at run time only: it is
// never captured in the serialized provider closure and never written to inputs or state.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import type * as LifecycleModule from "./computeConfigLifecycle.js";
import type { ComputeConfigInputs } from "./computeConfigLifecycle.js";
import type { ComputeConfigLimits, ComputeConfigSpec, ComputeConfigSpecInput } from "./computeConfigSpec.js";

/** Arguments of {@link AnyscaleComputeConfig}. */
export interface AnyscaleComputeConfigArgs {
  /** Compute-config name (no `:`); every change of `spec` registers a new version under this name. */
  readonly name: pulumi.Input<string>;
  /** The compute config, in the SDK's `ComputeConfig` / `anyscale compute-config` YAML shape (ComputeConfigSpecSchema). */
  readonly spec: pulumi.Input<ComputeConfigSpecInput | ComputeConfigSpec>;
  /**
   * Cluster-lifetime limits the REST API takes but the SDK's `ComputeConfig` model does not (so they are not part
   * of `spec`); a change registers a new version.
   */
  readonly limits?: pulumi.Input<ComputeConfigLimits>;
  /** API base URL; defaults to `ANYSCALE_HOST` at run time, then https://console.anyscale.com. */
  readonly host?: pulumi.Input<string>;
}

/** Provider inputs/outputs as stored in state (no secrets). */
export interface ComputeConfigState {
  name: string;
  spec: ComputeConfigSpec;
  limits?: ComputeConfigLimits;
  host?: string;
  cloudId: string;
  computeConfigId: string;
  version: number;
  nameVersion: string;
}

/** Where the provider process finds the lifecycle code and the TypeScript loader (plain strings: serializable). */
const LIFECYCLE_URL = new URL("./computeConfigLifecycle.ts", import.meta.url).href;
const TSX_API_URL = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href;

type Lifecycle = typeof LifecycleModule;

/**
 * The dynamic provider. Pulumi serializes this closure and runs it in a separate Node process, so it captures
 * only two strings and reaches its code through a dynamic import built with `Function` (kept out of reach of
 * bundlers/test transformers, which would otherwise capture their own import machinery). When that process
 * cannot load TypeScript itself, the import goes through tsx's `tsImport`. Each method builds its client from
 * the environment at run time, so the token never enters the serialized closure, the inputs or the state.
 */
export function makeComputeConfigProvider(
  lifecycleUrl: string = LIFECYCLE_URL,
  tsxApiUrl: string = TSX_API_URL,
): pulumi.dynamic.ResourceProvider {
  const load = async (): Promise<Lifecycle> => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a real import() the serializer can carry
    const dynamicImport = new Function("u", "return import(u)") as (u: string) => Promise<unknown>;
    try {
      return (await dynamicImport(lifecycleUrl)) as Lifecycle;
    } catch {
      const tsx = (await dynamicImport(tsxApiUrl)) as {
        tsImport: (specifier: string, parent: string) => Promise<unknown>;
      };
      return (await tsx.tsImport(lifecycleUrl, lifecycleUrl)) as Lifecycle;
    }
  };
  return {
    async check(olds: unknown, news: unknown) {
      return (await load()).checkComputeConfig(olds, news);
    },
    async diff(_id: string, olds: ComputeConfigState, news: ComputeConfigInputs) {
      return (await load()).diffComputeConfig(olds, news);
    },
    async create(inputs: ComputeConfigInputs) {
      const l = await load();
      return l.createComputeConfig(l.clientFromEnv(inputs.host), inputs);
    },
    async update(_id: string, olds: ComputeConfigState, news: ComputeConfigInputs) {
      const l = await load();
      return l.updateComputeConfig(l.clientFromEnv(news.host), olds, news);
    },
    async delete(id: string, props: ComputeConfigState) {
      const l = await load();
      await l.deleteComputeConfig(l.clientFromEnv(props.host), id, props);
    },
    async read(id: string, props: ComputeConfigState) {
      const l = await load();
      return l.readComputeConfig(l.clientFromEnv(props?.host), id, props);
    },
  };
}

/** One provider instance, so Pulumi serializes it once per program. */
export const computeConfigProvider = makeComputeConfigProvider();

/**
 * An Anyscale compute config managed as code. Create registers version 1 (or the next version when the name
 * already exists); a change of `spec` registers a new version (same name); delete archives the config (all its
 * versions, as Anyscale does); refresh notices a config archived or removed outside Pulumi.
 */
export class AnyscaleComputeConfig extends pulumi.dynamic.Resource {
  /** `name:version`, the reference jobs and services use. */
  declare public readonly nameVersion: pulumi.Output<string>;
  /** Version number assigned by Anyscale. */
  declare public readonly version: pulumi.Output<number>;
  /** Id of this version (`cpt_...`). */
  declare public readonly computeConfigId: pulumi.Output<string>;
  /** Id of the resolved cloud (`cld_...`). */
  declare public readonly cloudId: pulumi.Output<string>;

  constructor(name: string, args: AnyscaleComputeConfigArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      computeConfigProvider,
      name,
      {
        name: args.name,
        spec: args.spec,
        limits: args.limits,
        host: args.host,
        nameVersion: undefined,
        version: undefined,
        computeConfigId: undefined,
        cloudId: undefined,
      },
      opts,
      "anyscale",
      "ComputeConfig",
    );
  }
}

/**
 * `{ logicalKey: "name:version" }` for the renderer's `RenderOptions.computeConfigs`, from the stack's configs.
 * Keys are sorted so the rendered output does not depend on declaration order.
 */
export function computeConfigNameVersions(
  configs: Readonly<Record<string, AnyscaleComputeConfig>>,
): pulumi.Output<Record<string, string>> {
  const keys = Object.keys(configs).sort();
  return pulumi
    .all(keys.map((k) => configs[k]!.nameVersion))
    .apply((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]!])));
}
