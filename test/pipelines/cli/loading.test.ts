/** Definition folders that cannot be loaded: each is an error naming the file, with exit code 1. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validPipeline } from "../fixtures/pipelines.js";
import { run, tempDir, writeDefinitions } from "./harness.js";

describe("loading a definitions folder", () => {
  const cases: { name: string; source: string; want: RegExp }[] = [
    {
      name: "module that throws on import",
      source: 'throw new Error("boom");\n',
      want: /: cannot import module: boom$/,
    },
    { name: "module with a syntax error", source: "export default {\n", want: /: cannot import module: / },
    {
      name: "module without a default export",
      source: "export const x = 1;\n",
      want: /: has no default export/,
    },
    {
      name: "default export that is not a pipeline",
      source: "export default 42;\n",
      want: /: invalid value|expected object/,
    },
  ];
  it.each(cases)("$name", async ({ source, want }) => {
    const dir = await tempDir();
    const defs = await writeDefinitions(dir, { good: validPipeline("good"), zz_broken: { source } });
    const r = await run(["validate", "--definitions", "defs"], dir);
    expect(r.code).toBe(1);
    const line = r.err.trim().split("\n")[0]!;
    expect(line.startsWith(`error: ${path.join(defs, "zz_broken.ts")}`)).toBe(true);
    expect(line).toMatch(want);
  });

  it("an empty folder is an error", async () => {
    const dir = await tempDir();
    const defs = await writeDefinitions(dir, {});
    const r = await run(["validate", "--definitions", "defs"], dir);
    expect(r).toMatchObject({ code: 1, err: `error: ${defs}: contains no definition modules (*.ts)\n` });
  });

  it("a missing folder is an error", async () => {
    const dir = await tempDir();
    const r = await run(["validate", "--definitions", "missing"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${path.join(dir, "missing")}: cannot read definitions folder`);
  });

  it("validate prints one line per pipeline and exits 0", async () => {
    const dir = await tempDir();
    await writeDefinitions(dir, { a: validPipeline("a_dag"), b: validPipeline("b_dag") });
    const r = await run(["validate", "--definitions", "defs"], dir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ok: .*a\.ts: a_dag\nok: .*b\.ts: b_dag\n2 pipelines valid/);
  });

  it("reports every issue of a bad definition, one line each", async () => {
    const dir = await tempDir();
    const bad = validPipeline("bad");
    bad.defaultArgs.retries = 1;
    bad.tasks[0]!.id = "has.dot";
    const defs = await writeDefinitions(dir, { bad });
    const r = await run(["validate", "--definitions", "defs"], dir);
    expect(r.code).toBe(1);
    const file = path.join(defs, "bad.ts");
    expect(r.err).toContain(`error: ${file}: defaultArgs.retries: retries must be at least 2\n`);
    expect(r.err).toContain(`error: ${file}: tasks.0.id: must match`);
  });
});

describe("several broken modules", () => {
  it("are all reported in one run, each naming its file", async () => {
    const dir = await tempDir();
    const bad = validPipeline("bad_one");
    bad.defaultArgs.retries = 0;
    const defs = await writeDefinitions(dir, {
      a_throws: { source: 'throw new Error("first");\n' },
      b_bad: bad,
      c_good: validPipeline("good_one"),
    });
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out"], dir);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toEqual([
      `error: ${path.join(defs, "a_throws.ts")}: cannot import module: first`,
      `error: ${path.join(defs, "b_bad.ts")}: defaultArgs.retries: retries must be at least 2`,
    ]);
  });
});
