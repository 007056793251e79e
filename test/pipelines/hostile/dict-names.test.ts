/**
 * Issue 14, wrong values with no error: a param named like a dict method (`items`, `get`, ...) rendered as
 * `{{ params.items }}`, which Jinja resolves to the bound method; a connection id `get` read `conn.get`, the
 * accessor's method. Want: every param reaches the task as its value (checked in real Airflow: the DAG is
 * imported and each task's template fields rendered with the DAG's own Jinja environment), and connection ids
 * the template accessor cannot reach are refused with a clear error.
 */
import { describe, expect, it } from "vitest";
import type { DefinitionError } from "../../../pipelines/src/model/index.js";
import { DICT_ATTRIBUTES, parsePipeline, type PipelineInput } from "../../../pipelines/src/model/index.js";
import { renderAllSync } from "../../../pipelines/src/render/index.js";
import { validPipeline } from "../fixtures/pipelines.js";
import { importIntoAirflow, pythonJson } from "./airflow.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- cases poke at untyped shapes on purpose */
type Loose = any;

/** Every public attribute of Python's dict, asked from Python itself (not our own list). */
const dictAttributes = pythonJson(
  "import json; print(json.dumps([a for a in dir({}) if not a.startswith('_')]))",
) as string[];

/** Given: param names; want: each one's default reaches slack text, shell entrypoint and env unchanged. */
const NAMES = [...dictAttributes, "__class__", "__len__", "_private", "epochs", "items_count"];

function pipelineWithParams(names: readonly string[]): PipelineInput {
  const p = validPipeline("dict_names") as Loose;
  const params: Record<string, unknown> = {};
  for (const n of names) params[n] = { type: "string", default: `value-of-${n}` };
  p.params = params;
  p.tasks = [
    ...names.map((n, i) => ({
      kind: "slack",
      id: `say_${i}`,
      connection: "slack_default",
      channel: "#ai-team",
      text: { concat: ["[", { param: n }, "]"] },
    })),
    {
      kind: "anyscaleJob",
      id: "job",
      name: "dict-names-job",
      entrypoint: ["echo", ...names.map((n) => ({ param: n }))],
      env: Object.fromEntries(names.map((n, i) => [`P${i}`, { param: n }])),
      imageUri: "anyscale/ray:2.44.1",
      computeConfig: "cpu",
      maxRetries: 0,
      timeoutSeconds: 60,
    },
  ];
  return p as PipelineInput;
}

describe("params named like dict attributes", () => {
  it("Python's dict attributes are all known to the renderer", () => {
    expect(dictAttributes).toContain("items");
    expect(dictAttributes.filter((a) => !DICT_ATTRIBUTES.has(a))).toEqual([]);
  });

  it("every param reaches the task as its value, in real Airflow", { timeout: 120_000 }, () => {
    const pipeline = parsePipeline(pipelineWithParams(NAMES), "defs/dict_names.ts");
    const view = importIntoAirflow(renderAllSync([{ file: "defs/dict_names.ts", pipeline }]));
    expect(view.import_errors).toEqual({});
    const tasks = view.dags.dict_names!.tasks;
    const got = NAMES.map((n, i) => ({ name: n, text: tasks[`say_${i}`]!.text }));
    expect(got).toEqual(NAMES.map((n) => ({ name: n, text: `[value-of-${n}]` })));
    expect(tasks.job!.entrypoint).toBe(["echo", ...NAMES.map((n) => `value-of-${n}`)].join(" "));
    expect(tasks.job!.env_vars).toEqual(Object.fromEntries(NAMES.map((n, i) => [`P${i}`, `value-of-${n}`])));
  });
});

describe("connection ids in secret references", () => {
  /** Public attributes of Airflow's template `conn` accessor, asked from Airflow. */
  const accessorAttributes = pythonJson(
    "import json\nfrom airflow.sdk.execution_time.context import ConnectionAccessor\n" +
      "print(json.dumps([a for a in dir(ConnectionAccessor) if not a.startswith('_')]))",
  ) as string[];

  const cases = [
    ...accessorAttributes.map((id) => ({ id, refused: true })),
    { id: "_hidden", refused: true },
    { id: "__class__", refused: true },
    { id: "hf_default", refused: false },
    { id: "getter", refused: false },
  ];

  it.each(cases)("connection $id (refused: $refused)", ({ id, refused }) => {
    const p = validPipeline() as Loose;
    p.tasks[0].env = { HF_TOKEN: { secret: { connection: id } } };
    let issues: { path: string; message: string }[] = [];
    try {
      parsePipeline(p, "defs/conn.ts");
    } catch (e) {
      issues = (e as DefinitionError).issues.map((i) => ({ path: i.path, message: i.message }));
    }
    if (!refused) expect(issues).toEqual([]);
    else {
      expect(issues).toHaveLength(1);
      expect(issues[0]!.path).toBe("tasks.0.env.HF_TOKEN.secret.connection");
      expect(issues[0]!.message).toContain(`connection id "${id}" cannot be read in a template`);
    }
  });

  it("an accepted connection id is read through Airflow's real accessor", { timeout: 120_000 }, () => {
    const p = validPipeline("conn_dag") as Loose;
    p.tasks[0].env = { HF_TOKEN: { secret: { connection: "getter" } } };
    const pipeline = parsePipeline(p, "defs/conn.ts");
    const view = importIntoAirflow(renderAllSync([{ file: "defs/conn.ts", pipeline }]));
    expect(view.import_errors).toEqual({});
    expect(view.dags.conn_dag!.tasks.train!.env_vars).toEqual({ HF_TOKEN: "password-of-getter" });
  });
});
