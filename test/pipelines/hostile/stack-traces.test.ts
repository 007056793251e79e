/**
 * Issue 14, stack traces instead of errors: each given definition folder or option used to end in a stack trace.
 * Want: exit 1, exactly one `error: <file>: <field.path>: <what is wrong and what is allowed>` line on stderr,
 * no stack frame, and nothing written to `--out`.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findCycle } from "../../../pipelines/src/graph/tasks.js";
import { parsePipeline } from "../../../pipelines/src/model/index.js";
import { validPipeline } from "../fixtures/pipelines.js";
import { run, tempDir, writeDefinitions } from "../cli/harness.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- cases poke at untyped shapes on purpose */
type Loose = any;

interface Case {
  readonly name: string;
  /** Mutates a valid pipeline (written as JSON), or gives the module source. */
  readonly given: ((p: Loose) => void) | { source: (json: string) => string };
  /** Field path and message of the one error line (the file is always defs/d.ts). */
  readonly want: { path: string; message: RegExp };
}

const cases: Case[] = [
  {
    name: "number param default beyond 2^53",
    given: (p) => (p.params.big = { type: "number", default: 1e20 }),
    want: { path: "params.big.default", message: /beyond 2\^53.*at most 9007199254740991/ },
  },
  {
    name: "python task argument beyond 2^53",
    given: (p) => (p.tasks[2].args.n = 2 ** 60),
    want: { path: "tasks.2.args.n", message: /beyond 2\^53/ },
  },
  {
    name: "callable module path with a Python keyword",
    given: (p) => (p.tasks[2].callable = "llm_workloads.class:run"),
    want: { path: "tasks.2.callable", message: /"class" is a Python keyword/ },
  },
  {
    name: "callable function name that is a Python keyword",
    given: (p) => (p.tasks[2].callable = "llm_workloads.x:def"),
    want: { path: "tasks.2.callable", message: /"def" is a Python keyword/ },
  },
  {
    name: "dag id with '..'",
    given: (p) => (p.dagId = "a..b"),
    want: { path: "dagId", message: /must not contain '\.\.' or start with '\.'/ },
  },
  {
    name: "dag id starting with '.'",
    given: (p) => (p.dagId = ".hidden"),
    want: { path: "dagId", message: /must not contain '\.\.' or start with '\.'/ },
  },
  {
    name: "object that contains itself",
    given: {
      source: (json) => `const p = ${json};\np.tasks[2].args.self = p.tasks[2].args;\nexport default p;\n`,
    },
    want: { path: "tasks.2.args.self", message: /contains itself.*plain data/ },
  },
  {
    name: "array that contains itself",
    given: {
      source: (json) => `const p = ${json};\np.tags.push(p.tags);\nexport default p;\n`,
    },
    want: { path: "tags.1", message: /contains itself/ },
  },
];

function oneErrorLine(err: string): string {
  expect(err).not.toMatch(/\n\s+at /);
  const lines = err.split("\n").filter((l) => l !== "");
  expect(lines, err).toHaveLength(1);
  return lines[0]!;
}

describe("definitions that used to end in a stack trace", () => {
  it.each(cases)("$name", async ({ given, want }) => {
    const dir = await tempDir();
    const p = validPipeline("good") as Loose;
    const mod = typeof given === "function" ? (given(p), p) : { source: given.source(JSON.stringify(p)) };
    const defs = await writeDefinitions(dir, { d: mod });
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out"], dir);
    const line = oneErrorLine(r.err);
    expect(r.code).toBe(1);
    expect(line.startsWith(`error: ${path.join(defs, "d.ts")}: ${want.path}: `), line).toBe(true);
    expect(line).toMatch(want.message);
    expect(existsSync(path.join(dir, "out"))).toBe(false);
  });

  it("a definition file name with a newline is named escaped, on one line", async () => {
    const dir = await tempDir();
    const defs = await writeDefinitions(dir, { good: validPipeline("good") });
    await writeFile(
      path.join(defs, "bad\nname.ts"),
      `export default ${JSON.stringify(validPipeline("other"))};\n`,
    );
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out"], dir);
    const line = oneErrorLine(r.err);
    expect(r.code).toBe(1);
    expect(line).toBe(
      `error: ${JSON.stringify(path.join(defs, "bad\nname.ts"))}: ` +
        "path contains a control character (rename it: letters, digits, '_', '-', '.')",
    );
    expect(existsSync(path.join(dir, "out"))).toBe(false);
  });

  it("--out naming a file is refused and the file is left alone", async () => {
    const dir = await tempDir();
    await writeDefinitions(dir, { good: validPipeline("good") });
    await writeFile(path.join(dir, "out"), "keep me");
    for (const extra of [[], ["--check"]]) {
      const r = await run(["render-dags", "--definitions", "defs", "--out", "out", ...extra], dir);
      expect(oneErrorLine(r.err)).toBe("error: --out out: is a file, not a directory");
      expect(r.code).toBe(1);
      expect(await readFile(path.join(dir, "out"), "utf8")).toBe("keep me");
    }
  });

  it("--out below a file is refused", async () => {
    const dir = await tempDir();
    await writeDefinitions(dir, { good: validPipeline("good") });
    await writeFile(path.join(dir, "out"), "keep me");
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out/sub"], dir);
    expect(oneErrorLine(r.err)).toMatch(/^error: --out out\/sub: cannot write there \(.*\)$/);
    expect(r.code).toBe(1);
  });
});

/** A chain of `n` python tasks, t0 -> t1 -> ... (each depending on the previous one). */
function chain(n: number): Loose {
  const p = validPipeline("chain") as Loose;
  p.tasks = Array.from({ length: n }, (_, i) => ({
    kind: "python",
    id: `t${i}`,
    callable: "llm_workloads.airflow_tasks.decision:read_decision",
    dependsOn: i === 0 ? [] : [`t${i - 1}`],
  }));
  return p;
}

describe("long dependency chains (the cycle search used to recurse once per task)", () => {
  it.each([
    { name: "5,000-task chain is accepted", n: 5000, closeCycle: false },
    { name: "a cycle closing a 20,000-task chain is reported", n: 20000, closeCycle: true },
  ])("$name", ({ n, closeCycle }) => {
    const p = chain(n);
    if (closeCycle) p.tasks[0].dependsOn = [`t${n - 1}`];
    let issues: string[] = [];
    try {
      parsePipeline(p, "defs/chain.ts");
    } catch (e) {
      issues = (e as { issues: { path: string; message: string }[] }).issues.map(
        (i) => `${i.path}: ${i.message}`,
      );
    }
    const cycle = [...Array.from({ length: n }, (_, i) => `t${i}`), "t0"].join(" -> ");
    expect(issues).toEqual(closeCycle ? [`tasks: dependency cycle: ${cycle}`] : []);
  });

  it("findCycle on a 100,000-node chain does not overflow the stack", () => {
    const nodes = Array.from({ length: 100_000 }, (_, i) => `n${i}`);
    const edges = nodes.slice(1).map((n, i) => [nodes[i]!, n] as const);
    expect(findCycle(nodes, edges)).toBeUndefined();
    const cyclic = [...edges, ["n99999", "n0"] as const];
    expect(findCycle(nodes, cyclic)?.length).toBe(100_001);
  });
});
