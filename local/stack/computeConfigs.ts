// The compute configs infra provisions, created in the emulator the way infra creates them on Anyscale: the
// dev stack's `llm-platform:computeConfigs` (Pulumi.dev.yaml), turned into REST bodies by infra's own
// toCreateRequest and sent with infra's client. The rendered DAGs reference them by key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { createAnyscaleClient } from "../../infra/anyscale/client.js";
import { toCreateRequest, type ComputeConfigLimits } from "../../infra/anyscale/computeConfigSpec.js";

export const STACK_FILE = "Pulumi.dev.yaml";
const KEY = "llm-platform:computeConfigs";

interface Entry {
  spec: { cloud?: string } & Record<string, unknown>;
  limits?: ComputeConfigLimits;
}

export function devComputeConfigs(repo: string): Record<string, Entry> {
  const file = join(repo, STACK_FILE);
  const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
  const configs = doc.config?.[KEY];
  if (!configs || typeof configs !== "object") throw new Error(`${file}: config.${KEY}: missing`);
  return configs as Record<string, Entry>;
}

/** Cloud names the configs use (the emulator is seeded with them). */
export function cloudNames(configs: Record<string, Entry>): string[] {
  return [...new Set(Object.values(configs).map((c) => c.spec.cloud ?? "default"))].sort();
}

export async function createComputeConfigs(
  emulator: { url: string; token: string },
  configs: Record<string, Entry>,
  cloudIds: Record<string, string>,
): Promise<string[]> {
  const client = createAnyscaleClient({ host: emulator.url, token: emulator.token });
  const created: string[] = [];
  for (const [name, entry] of Object.entries(configs).sort(([a], [b]) => a.localeCompare(b))) {
    const cloudId = cloudIds[entry.spec.cloud ?? "default"];
    if (!cloudId) throw new Error(`${STACK_FILE}: ${KEY}.${name}.spec.cloud: unknown cloud`);
    // toCreateRequest validates the spec (infra's schema), so the YAML is passed as it is.
    const spec = entry.spec as Parameters<typeof toCreateRequest>[1];
    await client.createComputeConfig(toCreateRequest(name, spec, { cloudId }, entry.limits ?? {}));
    created.push(name);
  }
  return created;
}
