// Stack configuration → a validated, typed `StackConfig`, before any resource is declared.
// Pure: `parseStackConfig` takes the raw key/value map and the set of secret keys (as Pulumi hands them to
// the program), so the table tests drive it directly. Every error names the config key (`llm-platform:<key>`,
// with a dotted path inside structured values) and what is expected; secret values never appear in errors.
import type { z } from "zod";

import { findSecretLikeValues } from "../policy/rules/secretPatterns.js";
import {
  PlainConfigSchema,
  PROJECT,
  SECRET_KEYS,
  STRUCTURED_KEYS,
  type ComputeConfigEntry,
  type KubernetesSettings,
  type MwaaSettings,
  type SecretKey,
} from "./schema.js";

/** All problems found in the stack configuration, one per line, each naming its key. */
export class StackConfigError extends Error {
  constructor(
    readonly stackName: string,
    readonly problems: readonly string[],
  ) {
    super(
      `invalid configuration for stack "${stackName}" (Pulumi.${stackName}.yaml / pulumi config):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "StackConfigError";
  }
}

/** What kind of stack the name says this is. */
export type StackKind =
  | { readonly kind: "environment" }
  /** `pr-<number>`: a short-lived preview of a pull request. */
  | { readonly kind: "preview"; readonly prNumber: number };

/** A compute config as the program declares it. */
export interface StackComputeConfig extends ComputeConfigEntry {
  /** Anyscale name (explicit, or `<stack>-<key>`). */
  readonly name: string;
}

/** The validated stack configuration; secrets are only named here (the entrypoint reads them as secrets). */
export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  readonly stackKind: StackKind;
  readonly target: "mwaa" | "kubernetes";
  readonly airflowVersion: string;
  readonly anyscaleHost: string | undefined;
  /** Logical key (what the pipelines reference) → name and spec. */
  readonly computeConfigs: Readonly<Record<string, StackComputeConfig>>;
  /** S3 bucket of this environment's artefacts (the rendered DAGs' storage root). */
  readonly artifactBucket: string;
  /** Fully qualified or short name of the stack hosting MWAA previews. */
  readonly previewBaseStack: string;
  /** Set on the preview host stack (never on a preview itself, which ignores the key it was copied with). */
  readonly previewHost: { readonly githubRepository: string; readonly githubEnvironment: string } | undefined;
  /** Prefix for dag ids, Anyscale job/service names and asset URIs (`pr_<n>__` for previews, else ""). */
  readonly dagIdPrefix: string;
  readonly mwaa: MwaaSettings;
  readonly kubernetes: KubernetesSettings & { readonly namespace: string };
  readonly tags: Readonly<Record<string, string>>;
  /** Secret keys that are set (as secrets). */
  readonly secrets: ReadonlySet<SecretKey>;
  /** Connection ids in the `airflowConnections` secret (ids are not secret; the connections are). */
  readonly airflowConnectionIds: readonly string[];
}

export const DEFAULT_AIRFLOW_VERSION = "3.3.1";
/** The stack whose MWAA environment hosts previews: its own environment, role and buckets, never dev's. */
export const DEFAULT_PREVIEW_BASE_STACK = "previews";
/** The bucket of the definitions' ARTIFACT_ROOT, so an unconfigured stack renders exactly `npm run render-dags`. */
export const DEFAULT_ARTIFACT_BUCKET = "llm-platform-artifacts";
const PR_STACK = /^pr-([1-9][0-9]{0,6})$/;
const STACK_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** `pr-<n>` → preview; any other valid name → a full environment. */
export function classifyStack(stack: string): StackKind {
  const pr = PR_STACK.exec(stack);
  if (pr) return { kind: "preview", prNumber: Number(pr[1]) };
  if (stack.startsWith("pr-")) {
    throw new StackConfigError(stack, [
      `stack name "${stack}": preview stacks are named pr-<pull request number>, e.g. pr-123`,
    ]);
  }
  if (!STACK_NAME.test(stack)) {
    throw new StackConfigError(stack, [
      `stack name "${stack}" must be lowercase letters, digits and '-' (≤ 31 characters), starting with a letter: it names the MWAA environment, the namespace and the compute configs`,
    ]);
  }
  return { kind: "environment" };
}

const key = (k: string): string => `${PROJECT}:${k}`;

function describeIssue(topKey: string, issue: z.core.$ZodIssue): string {
  const where = [topKey, ...issue.path.map(String)].join(".");
  return `${key(where)}: ${issue.message}`;
}

/**
 * Validate the raw configuration (`pulumi.runtime.allConfig()` shape: fully qualified keys, string values)
 * for `stack`. Throws {@link StackConfigError} listing every problem.
 */
export function parseStackConfig(
  raw: Readonly<Record<string, string>>,
  secretKeys: ReadonlySet<string>,
  stack: string,
): StackConfig {
  const stackKind = classifyStack(stack);
  const problems: string[] = [];
  const plain: Record<string, unknown> = {};
  const secrets = new Set<SecretKey>();
  let airflowConnectionIds: string[] = [];

  for (const [fullKey, value] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue; // provider namespaces (aws:, kubernetes:) are theirs
    const name = fullKey.slice(PROJECT.length + 1);
    if ((SECRET_KEYS as readonly string[]).includes(name)) {
      if (!secretKeys.has(fullKey)) {
        problems.push(
          `${fullKey} is a secret but is stored in plain text: remove it and run \`pulumi config set --secret ${fullKey}\` (or set it from a Pulumi ESC environment with fn::secret)`,
        );
      } else if (value.trim() === "") {
        problems.push(`${fullKey}: must not be empty`);
      } else {
        secrets.add(name as SecretKey);
        if (name === "airflowConnections") {
          const checked = checkConnectionsShape(fullKey, value);
          problems.push(...checked.problems);
          airflowConnectionIds = checked.ids;
        }
      }
      continue;
    }
    if (!(name in PlainConfigSchema.shape)) {
      problems.push(
        `${fullKey} is not a known configuration key (known: ${[...Object.keys(PlainConfigSchema.shape), ...SECRET_KEYS].sort().join(", ")})`,
      );
      continue;
    }
    if (STRUCTURED_KEYS.has(name)) {
      try {
        plain[name] = JSON.parse(value) as unknown;
      } catch {
        problems.push(`${fullKey}: expected structured YAML (a map or list), got an unparseable value`);
      }
    } else {
      plain[name] = value;
    }
  }

  // Plain values are stored unencrypted and shown in previews: refuse anything that looks like a credential.
  for (const [name, value] of Object.entries(plain)) {
    const findings = findSecretLikeValues(value, key(name));
    for (const f of findings) {
      problems.push(
        `${f.path}: looks like a secret (${f.reason}); secrets belong in secret config (pulumi config set --secret)`,
      );
    }
  }

  const parsed = PlainConfigSchema.safeParse(plain);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [top, ...rest] = issue.path.map(String);
      if (top === undefined) problems.push(`${PROJECT}: ${issue.message}`);
      else if (rest.length === 0 && plain[top] === undefined) {
        problems.push(`${key(top)} is required (${issue.message})`);
      } else problems.push(describeIssue(top, { ...issue, path: rest }));
    }
  }
  if (problems.length > 0 || !parsed.success) throw new StackConfigError(stack, problems);
  const c = parsed.data;

  // Cross-key rules.
  const needsToken = c.target === "kubernetes" || stackKind.kind === "environment";
  if (needsToken && !secrets.has("anyscaleApiToken")) {
    problems.push(
      `${key("anyscaleApiToken")} is required: run \`pulumi config set --secret ${key("anyscaleApiToken")}\` (the Airflow connection the DAGs use for Anyscale)`,
    );
  }
  if (c.target === "mwaa" && raw["aws:region"] === undefined) {
    problems.push(
      `aws:region is required for target "mwaa" (e.g. \`pulumi config set aws:region us-east-1\`)`,
    );
  }
  if (c.target === "mwaa" && c.kubernetes !== undefined) {
    problems.push(
      `${key("kubernetes")} is set but ${key("target")} is "mwaa"; remove it or switch the target`,
    );
  }
  if (c.target === "kubernetes" && c.mwaa !== undefined) {
    problems.push(
      `${key("mwaa")} is set but ${key("target")} is "kubernetes"; remove it or switch the target`,
    );
  }
  if (c.previewHost !== undefined && c.target !== "mwaa") {
    problems.push(`${key("previewHost")} applies only to target "mwaa" (Kubernetes previews are namespaces)`);
  }
  if (c.target !== "kubernetes" && secrets.has("metadataDatabaseUrl")) {
    problems.push(
      `${key("metadataDatabaseUrl")} applies only to target "kubernetes" (MWAA manages its own database)`,
    );
  }
  const mwaa = c.mwaa ?? {};
  if (mwaa.minWorkers !== undefined && mwaa.maxWorkers !== undefined && mwaa.maxWorkers < mwaa.minWorkers) {
    problems.push(`${key("mwaa.maxWorkers")}: must be ≥ mwaa.minWorkers (${mwaa.minWorkers})`);
  }
  const namespace = c.kubernetes?.namespace ?? `airflow-${stack}`;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    problems.push(
      `${key("kubernetes.namespace")}: must be a DNS-1123 label (lowercase letters, digits, '-')`,
    );
  }

  const computeConfigs: Record<string, StackComputeConfig> = {};
  const names = new Map<string, string>();
  for (const k of Object.keys(c.computeConfigs).sort()) {
    const entry = c.computeConfigs[k]!;
    const name = entry.name ?? `${stack}-${k}`;
    if (name.length > 60 || name.includes(":")) {
      problems.push(
        `${key(`computeConfigs.${k}.name`)}: "${name}" must have no ':' and at most 60 characters`,
      );
    }
    const other = names.get(name);
    if (other !== undefined)
      problems.push(`${key(`computeConfigs.${k}.name`)}: "${name}" is also the name of ${other}`);
    names.set(name, k);
    computeConfigs[k] = { ...entry, name };
  }
  if (problems.length > 0) throw new StackConfigError(stack, problems);

  return {
    project: PROJECT,
    stack,
    stackKind,
    target: c.target,
    airflowVersion: c.airflowVersion ?? DEFAULT_AIRFLOW_VERSION,
    anyscaleHost: c.anyscaleHost,
    computeConfigs,
    artifactBucket: c.artifactBucket ?? DEFAULT_ARTIFACT_BUCKET,
    previewBaseStack: c.previewBaseStack ?? DEFAULT_PREVIEW_BASE_STACK,
    previewHost:
      stackKind.kind === "preview" || c.previewHost === undefined
        ? undefined
        : {
            githubRepository: c.previewHost.githubRepository,
            githubEnvironment: c.previewHost.githubEnvironment ?? "preview",
          },
    dagIdPrefix: stackKind.kind === "preview" ? `pr_${stackKind.prNumber}__` : "",
    mwaa,
    kubernetes: { ...c.kubernetes, namespace },
    tags: c.tags ?? {},
    secrets,
    airflowConnectionIds,
  };
}

/** `airflowConnections`: a JSON map conn id → connection (JSON object or URI string). Values never echoed. */
function checkConnectionsShape(fullKey: string, value: string): { problems: string[]; ids: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {
      problems: [
        `${fullKey}: expected a map of connection id → connection (JSON or URI); the value is not valid JSON`,
      ],
      ids: [],
    };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { problems: [`${fullKey}: expected a map of connection id → connection (JSON or URI)`], ids: [] };
  }
  const problems: string[] = [];
  for (const [connId, conn] of Object.entries(parsed)) {
    if (!/^[A-Za-z0-9_]{1,200}$/.test(connId)) {
      problems.push(`${fullKey}.${connId}: connection ids may contain only letters, digits and '_'`);
    }
    if (typeof conn !== "string" && (conn === null || typeof conn !== "object" || Array.isArray(conn))) {
      problems.push(`${fullKey}.${connId}: expected a connection URI string or a JSON object`);
    }
  }
  return { problems, ids: Object.keys(parsed).sort() };
}

/** Connection id → connection as Airflow reads it (JSON text or URI), from the `airflowConnections` secret. */
export function connectionsFromSecret(value: string): Record<string, string> {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(parsed)
      .sort()
      .map((id) => {
        const conn = parsed[id];
        return [id, typeof conn === "string" ? conn : JSON.stringify(conn)];
      }),
  );
}
