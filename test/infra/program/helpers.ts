// Helpers for the whole-program tests: plan a stack under mocks and look at what it registered.
import { readFileSync } from "node:fs";
import path from "node:path";

import { parse } from "yaml";

import * as pulumi from "@pulumi/pulumi";

import { redacted } from "../../../infra/plan/format.js";
import { installPlanMocks, settle } from "../../../infra/plan/mocks.js";
import type { PlannedResource } from "../../../infra/plan/mocks.js";
import { planStack, type PlanResult } from "../../../infra/plan/run.js";
import { readPlanConfig } from "../../../infra/plan/stackFile.js";
import { REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";
import type { RuleResource } from "../../../infra/policy/rules/types.js";

export { REPO_ROOT };
export const P = "llm-platform";

export interface Planned extends PlanResult {
  byType(type: string): PlannedResource[];
  one(type: string): PlannedResource;
}

function wrap(result: PlanResult): Planned {
  const byType = (type: string) => result.resources.filter((r) => r.type === type);
  return {
    ...result,
    byType,
    one(type) {
      const all = byType(type);
      if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
      return all[0]!;
    },
  };
}

/** Plan a committed stack file (as `npm run plan` does). */
export async function planFile(stack: string): Promise<Planned> {
  return wrap(await planStack(REPO_ROOT, stack));
}

type ConfigEdit = (raw: Record<string, string>, secretKeys: Set<string>) => void;

/** The configuration `npm run plan` would use for `stack` (a preview: dev's), edited. */
function editedConfig(
  stack: string,
  edit: ConfigEdit,
): { raw: Record<string, string>; secretKeys: string[] } {
  const base = readPlanConfig(REPO_ROOT, stack.startsWith("pr-") ? "dev" : stack);
  const raw = { ...base.raw };
  const secretKeys = new Set(base.secretKeys);
  edit(raw, secretKeys);
  return { raw, secretKeys: [...secretKeys] };
}

/** Plan `stack` with its stack file's (or dev's) configuration, edited. */
export async function planWith(stack: string, edit: ConfigEdit): Promise<Planned> {
  return wrap(await planStack(REPO_ROOT, stack, editedConfig(stack, edit)));
}

/** The policy rules' view of planned resources (redacted props; the URN is synthetic but unique). */
export function ruleResources(resources: readonly PlannedResource[]): RuleResource[] {
  return resources.map((r) => ({
    urn: `urn:pulumi:test::${P}::${r.type}::${r.name}`,
    type: r.type,
    name: r.name,
    props: { ...(redacted(r.inputs) as Record<string, unknown>), id: r.id },
  }));
}

/** A stack file's `config:` as YAML data (to compare the plan with what the file says). */
export function stackFileConfig(stack: string): Record<string, unknown> {
  const doc = parse(readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return doc.config;
}

/** Run the program on an edited configuration; returns its error and whatever it registered meanwhile. */
export async function attempt(
  stack: string,
  edit: ConfigEdit,
): Promise<{ error: Error | undefined; registered: PlannedResource[] }> {
  const { raw, secretKeys } = editedConfig(stack, edit);
  const registered = await installPlanMocks(P, stack);
  pulumi.runtime.setAllConfig(raw, secretKeys);
  const { default: program } = await import("../../../infra/index.js");
  let error: Error | undefined;
  try {
    await program();
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  }
  await settle();
  return { error, registered };
}
