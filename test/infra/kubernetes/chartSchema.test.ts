// The Helm values the program passes, validated the way Helm does it: the chart's values.yaml coalesced with
// our values, then checked against the chart's own values.schema.json (draft-07). Also: no key we set is one
// the schema describes as deprecated. The chart snapshot is read in place from ../shared/reference (not copied).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";

import { resolveArgs, type AirflowKubernetesArgs } from "../../../infra/kubernetes/args.js";
import { deepMerge, helmValues } from "../../../infra/kubernetes/values.js";
import { revealed } from "../../../infra/plan/format.js";
import { planFile, REPO_ROOT } from "../program/helpers.js";

const CHART = path.join(REPO_ROOT, "..", "shared", "reference", "airflow-chart", "chart");
const present = existsSync(path.join(CHART, "values.schema.json"));

type Json = Record<string, unknown>;
let schema: Json;
let defaults: Json;
let validate: ValidateFunction;

beforeAll(() => {
  if (!present) return;
  schema = JSON.parse(readFileSync(path.join(CHART, "values.schema.json"), "utf8")) as Json;
  defaults = parse(readFileSync(path.join(CHART, "values.yaml"), "utf8")) as Json;
  // strict: false because the chart's schema carries its own x-docsSection/x-kubernetes keywords.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  validate = ajv.compile(schema);
});

/** Helm's coalescing of user values over the chart's values.yaml (maps merge, lists and scalars replace). */
function coalesced(values: Json): Json {
  return deepMerge(defaults, values);
}

function schemaErrors(values: Json): string[] {
  if (validate(coalesced(values))) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
}

/** Dotted paths of our values whose schema node (or an ancestor's) is described as deprecated. */
function deprecatedPaths(values: unknown, node: Json, at: string[] = []): string[] {
  const resolve = (n: Json): Json => {
    const ref = n["$ref"];
    if (typeof ref !== "string" || !ref.startsWith("#/")) return n;
    return resolve(
      ref
        .slice(2)
        .split("/")
        .reduce<Json>((o, k) => o[k] as Json, schema),
    );
  };
  const here = resolve(node);
  const description = typeof here["description"] === "string" ? here["description"] : "";
  if (/\(deprecated/i.test(description)) return [at.join(".")];
  if (values === null || typeof values !== "object" || Array.isArray(values)) return [];
  const props = (here["properties"] ?? {}) as Record<string, Json>;
  return Object.entries(values as Json).flatMap(([k, v]) =>
    props[k] !== undefined ? deprecatedPaths(v, props[k], [...at, k]) : [],
  );
}

const base: AirflowKubernetesArgs = {
  namespace: "airflow-dev",
  dagFiles: { "a.py": "" },
  anyscaleApiToken: "t",
};
const variants: [string, Partial<AirflowKubernetesArgs>][] = [
  ["defaults (apache image, LocalExecutor, bundled DB)", {}],
  ["preview", { isPreview: true }],
  [
    "CeleryExecutor + external DB + 3 API servers",
    { executor: "CeleryExecutor", metadataDatabaseUrl: "x", apiServerReplicas: 3 },
  ],
  ["KubernetesExecutor", { executor: "KubernetesExecutor" }],
  [
    "astro-runtime image with env",
    {
      distribution: "astro-runtime",
      image: { repository: "ghcr.io/acme/runtime", tag: "r1", airflowVersion: "3.3.1" },
      env: { TZ: "UTC" },
    },
  ],
];

describe.skipIf(!present)("Helm values against chart 1.22's values.schema.json", () => {
  it.each(variants)("%s: valid, and no deprecated key", (_label, args) => {
    const values = helmValues(resolveArgs({ ...base, ...args }));
    expect(schemaErrors(values)).toEqual([]);
    expect(deprecatedPaths(values, schema)).toEqual([]);
  });

  it("the k8s-dev stack's values, as the program passes them", async () => {
    const plan = await planFile("k8s-dev");
    const release = plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release");
    const values = revealed(release?.inputs["values"]) as Json;
    expect(values["airflowVersion"]).toBe("3.3.1");
    expect(schemaErrors(values)).toEqual([]);
    expect(deprecatedPaths(values, schema)).toEqual([]);
  }, 120_000);

  it("catches what Helm would refuse, and deprecated keys (the checks can fail)", () => {
    expect(schemaErrors({ executor: "SequentialExecutor2" })).not.toEqual([]);
    expect(schemaErrors({ volumes: [{ name: "dags", configMap: { items: "all" } }] })).not.toEqual([]);
    expect(deprecatedPaths({ workers: { persistence: { enabled: false } } }, schema)).toEqual([
      "workers.persistence",
    ]);
  });
});
