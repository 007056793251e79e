// How the plan prints: secrets redacted everywhere, resources sorted by type and name (registration order
// depends on when inputs resolve), long file contents summarised in the text view.
import { createHash } from "node:crypto";

import type { PlannedResource } from "./mocks.js";

/** Pulumi's wire marker for a secret value inside mock inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** What a secret prints as. */
export const REDACTED = "[secret]";
/** Inputs that are engine plumbing, not configuration (the dynamic provider's serialized code). */
const HIDDEN_INPUTS = new Set(["__provider"]);

export function isSecretWrapper(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replace every secret by `replacement(value)`, recursively. */
export function mapSecrets(v: unknown, replacement: (secretValue: unknown) => unknown): unknown {
  if (isSecretWrapper(v)) return replacement(v.value);
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, replacement));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, replacement)]));
  }
  return v;
}

/** Inputs as a reviewer (and plain-text state) may see them: secrets redacted. */
export const redacted = (v: unknown): unknown => mapSecrets(v, () => REDACTED);
/** Inputs with secrets revealed (what only the encrypted state holds). */
export const revealed = (v: unknown): unknown => mapSecrets(v, (x) => x);

export interface PlanEntry {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

/** The `--json` shape: `{type, name, inputs}` sorted by type then name, secrets redacted. */
export function planEntries(resources: readonly PlannedResource[]): PlanEntry[] {
  return resources
    .map((r) => ({
      type: r.type,
      name: r.name,
      inputs: Object.fromEntries(
        Object.entries(redacted(r.inputs) as Record<string, unknown>)
          .filter(([k, v]) => !HIDDEN_INPUTS.has(k) && v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
    }))
    .sort((a, b) =>
      a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type < b.type ? -1 : 1,
    );
}

/** One value for the text view: JSON documents inline, file contents summarised. */
export function summarise(value: unknown): string {
  if (typeof value === "string") {
    if (value.length > 0 && (value.startsWith("{") || value.startsWith("["))) {
      try {
        return JSON.stringify(JSON.parse(value));
      } catch {
        // not JSON: fall through
      }
    }
    if (value.length <= 160 && !value.includes("\n")) return JSON.stringify(value);
    const digest = createHash("sha256").update(value).digest("hex").slice(0, 12);
    const first = value.split("\n", 1)[0]!.slice(0, 80);
    return `<${Buffer.byteLength(value)} bytes, sha256 ${digest}, first line ${JSON.stringify(first)}>`;
  }
  if (Array.isArray(value)) return `[${value.map(summarise).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${summarise(v)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The human view: a header, notes, then each resource with one line per input. */
export function formatText(args: {
  stack: string;
  source: string;
  notes: readonly string[];
  entries: readonly PlanEntry[];
  outputs: Record<string, unknown>;
}): string {
  const lines = [`stack ${args.stack} (configuration from ${args.source}): ${args.entries.length} resources`];
  for (const n of args.notes) lines.push(`note: ${n}`);
  for (const e of args.entries) {
    lines.push("", `${e.type}  ${e.name}`);
    for (const [k, v] of Object.entries(e.inputs)) lines.push(`    ${k}: ${summarise(v)}`);
  }
  lines.push("", "outputs:");
  for (const [k, v] of Object.entries(args.outputs)) lines.push(`    ${k}: ${summarise(v)}`);
  return `${lines.join("\n")}\n`;
}
