// Writes `Pulumi.pr-<n>.yaml` for a preview stack: the plain configuration of the preview host's stack file
// (Pulumi.previews.yaml), without its secure values. Run by the pull-request workflow from the repository
// root instead of `pulumi config cp`, which would copy the host's (or dev's) secrets into the PR's stack.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { parse, stringify } from "yaml";

import { classifyStack } from "../config/load.js";
import { PREVIEW_TEMPLATE_FILE } from "../plan/stackFile.js";

/** The preview's stack-file text: the template's `config:` minus every `{secure: …}` entry. */
export function previewStackFile(templateText: string, stack: string): string {
  if (classifyStack(stack).kind !== "preview") {
    throw new Error(`${stack} is not a preview stack (pr-<number>)`);
  }
  const doc = parse(templateText) as { config?: Record<string, unknown> } | null;
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc?.config ?? {})) {
    const secure = v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in v;
    if (!secure) config[k] = v;
  }
  return (
    `# Written by infra/preview/writeConfig.ts from ${PREVIEW_TEMPLATE_FILE} (plain values only). Do not commit.\n` +
    stringify({ config })
  );
}

/** CLI: `tsx infra/preview/writeConfig.ts pr-123` in the repository root. */
function main(argv: readonly string[]): number {
  const stack = argv[0] ?? "";
  const root = process.cwd();
  const template = path.join(root, PREVIEW_TEMPLATE_FILE);
  if (!existsSync(template)) {
    process.stderr.write(`${PREVIEW_TEMPLATE_FILE} not found in ${root}\n`);
    return 1;
  }
  try {
    const text = previewStackFile(readFileSync(template, "utf8"), stack);
    writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
    process.stdout.write(`wrote Pulumi.${stack}.yaml from ${PREVIEW_TEMPLATE_FILE}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) process.exitCode = main(process.argv.slice(2));
