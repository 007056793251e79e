// A stack's configuration as `pulumi up` would hand it to the program, read from the repository's
// Pulumi.<stack>.yaml (plus project-level config in Pulumi.yaml), without the Pulumi CLI or the stack's key.
// Secure values cannot be decrypted here: they become placeholders marked secret, so the program takes the
// same code paths and every place a secret flows shows as [secret].
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { parse } from "yaml";

import { classifyStack } from "../config/load.js";
import { PROJECT } from "../config/schema.js";

/** The stack file whose plain configuration `pr-<n>` stacks get (the preview host's). */
export const PREVIEW_TEMPLATE_FILE = "Pulumi.previews.yaml";

/** Value the plan uses for a secret it cannot decrypt (never a real secret). */
export const PLAN_SECRET_PLACEHOLDER = "plan-placeholder-secret";

export interface PlanConfig {
  /** Fully qualified key → value as the engine passes it (structured values JSON-encoded). */
  readonly raw: Record<string, string>;
  readonly secretKeys: string[];
  /** The file the configuration came from (repo-relative). */
  readonly source: string;
  /** What the reader assumed, for the reviewer. */
  readonly notes: string[];
}

const placeholderFor = (key: string): string =>
  key.endsWith(":airflowConnections") ? "{}" : PLAN_SECRET_PLACEHOLDER;

function qualify(key: string): string {
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

function addEntries(
  entries: Record<string, unknown>,
  raw: Record<string, string>,
  secret: Set<string>,
  projectLevel: boolean,
): void {
  for (const [k, v] of Object.entries(entries)) {
    const key = qualify(k);
    let value: unknown = v;
    // Project-level config (Pulumi.yaml) may be written as {value: ...} or {default: ...}.
    if (projectLevel && v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if ("value" in o) value = o["value"];
      else if ("default" in o) value = o["default"];
      else continue;
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      raw[key] = placeholderFor(key);
      secret.add(key);
    } else if (typeof value === "string") {
      raw[key] = value;
      secret.delete(key);
    } else {
      raw[key] = JSON.stringify(value);
      secret.delete(key);
    }
  }
}

/**
 * Reads the configuration of `stack`. A `pr-<n>` stack without its own file gets the preview host's plain
 * configuration, as the pull-request workflow writes it. Required secrets that are not in the file are filled
 * with placeholders and reported in `notes` (a real `pulumi up` fails on them until they are set).
 */
export function readPlanConfig(repoRoot: string, stack: string): PlanConfig {
  const kind = classifyStack(stack);
  let file = `Pulumi.${stack}.yaml`;
  const notes: string[] = [];
  if (!existsSync(path.join(repoRoot, file))) {
    if (kind.kind !== "preview") {
      const known = readdirSync(repoRoot)
        .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
        .sort()
        .join(", ");
      throw new Error(
        `no ${file} in ${repoRoot} (stack files: ${known}; pr-<n> stacks use ${PREVIEW_TEMPLATE_FILE})`,
      );
    }
    file = PREVIEW_TEMPLATE_FILE;
    notes.push(
      `${stack} has no stack file: using the plain configuration of ${file}, as the pull-request workflow writes it (infra/preview/writeConfig.ts)`,
    );
  }
  const raw: Record<string, string> = {};
  const secret = new Set<string>();
  const project = parse(readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as {
    config?: Record<string, unknown>;
  };
  addEntries(project.config ?? {}, raw, secret, true);
  let doc: { config?: Record<string, unknown> } | null;
  try {
    doc = parse(readFileSync(path.join(repoRoot, file), "utf8")) as {
      config?: Record<string, unknown>;
    } | null;
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  addEntries(doc?.config ?? {}, raw, secret, false);
  if (file === PREVIEW_TEMPLATE_FILE && kind.kind === "preview") {
    // The workflow copies only plain values into a preview (writeConfig.ts): the host's secrets stay its own.
    for (const k of secret) delete raw[k];
    secret.clear();
  }
  for (const k of [...secret].sort()) notes.push(`${k}: secure value in ${file}, shown as [secret]`);
  // The secrets the program requires; the committed files cannot hold them for you (they are encrypted per stack).
  const target = raw[`${PROJECT}:target`];
  const needsToken = target === "kubernetes" || kind.kind === "environment";
  const required = needsToken ? ["anyscaleApiToken"] : [];
  for (const name of required) {
    const key = `${PROJECT}:${name}`;
    if (raw[key] === undefined) {
      raw[key] = placeholderFor(key);
      secret.add(key);
      notes.push(
        `${key} is not set in ${file}: the plan uses a placeholder; run \`pulumi config set --secret ${key}\` before \`pulumi up\``,
      );
    }
  }
  return { raw, secretKeys: [...secret].sort(), source: file, notes };
}
