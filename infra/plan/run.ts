// Runs the Pulumi program under mocks for one stack and collects what it would create.
import * as pulumi from "@pulumi/pulumi";

import { PROJECT } from "../config/schema.js";
import { REDACTED } from "./format.js";
import { installPlanMocks, settle, type PlannedResource } from "./mocks.js";
import { readPlanConfig } from "./stackFile.js";

export interface PlanResult {
  readonly stack: string;
  readonly source: string;
  readonly notes: string[];
  readonly resources: PlannedResource[];
  /** Stack outputs, resolved; secret outputs as [secret]. */
  readonly outputs: Record<string, unknown>;
}

async function resolveDeep(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const output = v;
    if (await pulumi.isSecret(output)) return REDACTED;
    return resolveDeep(await new Promise<unknown>((resolve) => output.apply(resolve)));
  }
  if (Array.isArray(v)) return Promise.all(v.map(resolveDeep));
  if (v !== null && typeof v === "object") {
    const entries = await Promise.all(
      Object.entries(v).map(async ([k, x]) => [k, await resolveDeep(x)] as const),
    );
    return Object.fromEntries(entries);
  }
  return v;
}

/**
 * Mocks first, then config, then the program (the order Pulumi's mocks need). `raw`/`secretKeys` override the
 * stack file (tests pass their own configuration).
 */
export async function planStack(
  repoRoot: string,
  stack: string,
  override?: { raw: Record<string, string>; secretKeys: string[] },
): Promise<PlanResult> {
  const fromFile = override === undefined ? readPlanConfig(repoRoot, stack) : undefined;
  const config = override ?? fromFile!;
  const resources = await installPlanMocks(PROJECT, stack);
  pulumi.runtime.setAllConfig(config.raw, config.secretKeys);
  const { default: program } = await import("../index.js");
  const outputs = (await resolveDeep(await program())) as Record<string, unknown>;
  await settle();
  return {
    stack,
    source: fromFile?.source ?? "(test configuration)",
    notes: fromFile?.notes ?? [],
    resources,
    outputs,
  };
}
