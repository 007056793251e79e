/**
 * Property test: arbitrary Unicode in every free-text field (quotes, backslashes, newlines, NUL, lone surrogates,
 * U+2028, `'''`, `"""`, braces, ...) renders to Python that parses and whose string literals evaluate
 * (`ast.literal_eval`) to exactly the input, an entrypoint that `shlex.split`s back into the argv, and YAML that
 * PyYAML reads back to the same values. fast-check generates and renders the cases here; ONE Python process
 * checks the whole batch (JSON carries lone surrogates as `\ud800` escapes).
 *
 * Reproduce a failure with PROPERTY_SEED=<seed printed in the failure>.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PipelineSchema, type PipelineInput } from "../../../pipelines/src/model/pipeline.js";
import { dagDocMd } from "../../../pipelines/src/render/dag.js";
import { renderAllSync } from "../../../pipelines/src/render/index.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const PYTHON = join(ROOT, ".venv/bin/python");
const CASES = Number(process.env.PROPERTY_CASES ?? 5000);
const SEED = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);

const SPECIALS = [
  "'''",
  '"""',
  "'",
  '"',
  "\\",
  "\\\\",
  "\0",
  "\n",
  "\r",
  "\r\n",
  "\t",
  "\u2028",
  "\u2029",
  "\u0085",
  "\ufeff",
  "\u200b",
  "\ud800",
  "\udfff",
  "\udbff\udfff",
  "😀",
  "{",
  "}",
  "%",
  "#",
  "$(id)",
  "`",
  ";",
  " ",
  "\x7f",
  "\ufffe",
];

const unit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 3, arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);

/** Free text as the model accepts it: Jinja markers are refused by validation, so break them up. */
const text = fc
  .string({ unit, minLength: 1, maxLength: 24 })
  .map((s) => s.replace(/\{(?=[{%#])/g, "{ ").replace(/\{$/, "{ "));

interface Strings {
  display: string;
  description: string;
  doc: string;
  param: string;
  paramDoc: string;
  taskDoc: string;
  tooltip: string;
  arg: string;
  key: string;
  slack: string;
  env: string;
  argv: string;
  requirement: string;
  branch: string;
  extra: string;
}

const stringsArb: fc.Arbitrary<Strings> = fc.record({
  display: text,
  description: text,
  doc: text,
  param: text,
  paramDoc: text,
  taskDoc: text,
  tooltip: text,
  arg: text,
  // zod records assign keys, so "__proto__" would vanish before rendering (reported to the model's owner).
  key: text.filter((k) => k !== "__proto__"),
  slack: text,
  env: text,
  argv: text,
  // Requirements must be PEP 508 (validation refuses free text there): YAML-significant characters still occur.
  requirement: fc
    .tuple(
      fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}[a-z0-9]$/),
      fc.constantFrom("", "==1.0", ">=1,<2", "[extra]~=0.9.3", " @ https://h/x.whl#sha256=ab"),
      fc.constantFrom("", '; python_version >= "3.11"', "; sys_platform == 'linux' and extra == 'x'"),
    )
    .map(([name, spec, marker]) => `${name}${spec}${spec.includes("@") && marker ? " " : ""}${marker}`),
  branch: text,
  extra: text,
});

function pipelineWith(s: Strings, i: number): PipelineInput {
  return {
    dagId: `prop_${i}`,
    displayName: s.display,
    description: s.description,
    doc: s.doc,
    owner: "ml-platform",
    tags: ["property"],
    schedule: { kind: "manual" },
    params: { free: { type: "string", default: s.param, description: s.paramDoc, title: s.paramDoc } },
    defaultArgs: { retries: 2, retryDelaySeconds: 60, executionTimeoutSeconds: 600 },
    maxActiveRuns: 1,
    tasks: [
      {
        kind: "group",
        id: "g",
        tooltip: s.tooltip,
        tasks: [
          {
            kind: "python",
            id: "py",
            displayName: s.taskDoc,
            doc: s.taskDoc,
            callable: "llm_workloads.airflow_tasks.decision:read_decision",
            args: { value: s.arg, nested: { [s.key]: [s.arg] } },
          },
        ],
      },
      {
        kind: "anyscaleJob",
        id: "job",
        dependsOn: ["g"],
        name: `prop-job-${i}`,
        entrypoint: ["python", "-c", s.argv, s.arg],
        imageUri: "anyscale/image/prop:1",
        computeConfig: "cpu-small",
        requirements: [s.requirement],
        env: { FREE: s.env, MIXED: { concat: [s.env, { param: "free" }] } },
        maxRetries: 0,
        timeoutSeconds: 60,
      },
      {
        kind: "slack",
        id: "notify",
        dependsOn: ["job"],
        connection: "slack_api_default",
        channel: "#ml-alerts",
        text: { concat: [s.slack, { param: "free" }] },
      },
      {
        kind: "branch",
        id: "choose",
        dependsOn: ["notify"],
        on: { param: "free" },
        cases: [{ op: "eq", value: s.branch, goTo: ["emit"] }],
      },
      {
        kind: "emitAsset",
        id: "emit",
        dependsOn: ["choose"],
        asset: "s3://bucket/prop",
        extra: { note: s.extra },
      },
    ],
  };
}

const CHECKER = String.raw`
import ast, json, shlex, sys
import yaml

cases = json.load(open(sys.argv[1], encoding="utf-8"))
failures = []


def segment(lines, node):
    # ast.get_source_segment re-splits the whole file on every call (slow); offsets are UTF-8 byte columns.
    if node.lineno == node.end_lineno:
        return lines[node.lineno - 1][node.col_offset : node.end_col_offset].decode()
    parts = [lines[node.lineno - 1][node.col_offset :]]
    parts += lines[node.lineno : node.end_lineno - 1]
    parts.append(lines[node.end_lineno - 1][: node.end_col_offset])
    return b"\n".join(parts).decode()


for case in cases:
    try:
        tree = ast.parse(case["py"])
        lines = case["py"].encode().split(b"\n")
        found = []
        entrypoint = None
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = segment(lines, node)
                # Parenthesised: an implicitly concatenated literal may span lines inside the call's parentheses.
                value = ast.literal_eval("(" + text + ")")
                assert value == node.value, ("literal_eval disagrees with the parser", text)
                found.append(value)
            if isinstance(node, ast.keyword) and node.arg == "entrypoint":
                v = node.value
                if isinstance(v, ast.Call):  # literal("...")
                    assert isinstance(v.func, ast.Name) and v.func.id == "literal"
                    v = v.args[0]
                entrypoint = ast.literal_eval(v)
        found = set(found)
        missing = [s for s in case["strings"] if s not in found]
        assert not missing, ("strings not found as literals", missing)
        assert shlex.split(entrypoint) == case["argv"], ("entrypoint", entrypoint)
        job = yaml.safe_load(case["yaml"])
        assert shlex.split(job["entrypoint"]) == case["argv"], ("yaml entrypoint", job["entrypoint"])
        assert job["env_vars"]["FREE"] == case["env"], "yaml env"
        assert job["requirements"] == [case["requirement"]], "yaml requirements"
    except Exception as e:  # report, keep going: one run shows every failing case
        failures.append({"index": case["index"], "error": repr(e)[:2000]})
print(json.dumps({"checked": len(cases), "failures": failures[:20], "failed": len(failures)}))
`;

describe("property: arbitrary strings round-trip through rendered Python and YAML", () => {
  it(`${CASES} generated definitions (seed ${SEED})`, { timeout: 600_000 }, () => {
    // A few more samples than required: the model may refuse some generated text (e.g. credential look-alikes).
    const started = performance.now();
    const samples = fc.sample(stringsArb, { numRuns: Math.ceil(CASES * 1.04), seed: SEED });
    const batch: unknown[] = [];
    let refused = 0;
    samples.forEach((s, i) => {
      const parsed = PipelineSchema.safeParse(pipelineWith(s, i));
      if (!parsed.success) {
        refused++; // e.g. text that looks like a credential: the model refuses it, nothing to render
        return;
      }
      const files = renderAllSync([{ file: `test/property/${i}.ts`, pipeline: parsed.data }]);
      const py = files.find((f) => f.path.endsWith(".py"))!.content;
      const job = files.find((f) => f.path.startsWith("anyscale/jobs/"))!.content;
      const free = [
        s.display,
        s.description,
        dagDocMd(s.doc),
        s.param,
        s.paramDoc,
        s.taskDoc,
        s.tooltip,
        s.arg,
        s.key,
      ];
      batch.push({
        index: i,
        strings: [...free, s.env, s.branch, s.extra],
        argv: ["python", "-c", s.argv, s.arg],
        env: s.env,
        requirement: s.requirement,
        py,
        yaml: job,
      });
    });
    expect(batch.length, `${refused} refused by the model`).toBeGreaterThanOrEqual(CASES);

    const rendered = performance.now();
    const dir = mkdtempSync(join(tmpdir(), "render-property-"));
    try {
      const input = join(dir, "cases.json");
      writeFileSync(input, JSON.stringify(batch));
      const r = spawnSync(PYTHON, ["-c", CHECKER, input], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      expect(r.status, r.stderr).toBe(0);
      if (process.env.PROPERTY_TIMING)
        console.log(
          `render ${(rendered - started).toFixed(0)} ms, check ${(performance.now() - rendered).toFixed(0)} ms`,
        );
      const result = JSON.parse(r.stdout) as { checked: number; failed: number; failures: unknown[] };
      expect(result.checked).toBe(batch.length);
      expect({ seed: SEED, failed: result.failed, failures: result.failures }).toEqual({
        seed: SEED,
        failed: 0,
        failures: [],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
