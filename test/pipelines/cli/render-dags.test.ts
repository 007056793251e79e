/** `render-dags` end to end in a temp dir: write, determinism, --check drift, --only, bad definitions. */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { clone, validPipeline } from "../fixtures/pipelines.js";
import { run, snapshot, tempDir, writeDefinitions } from "./harness.js";

const MODEL_INDEX = path.resolve(import.meta.dirname, "../../../pipelines/src/model/index.js");

describe("render-dags", () => {
  let dir: string;
  let rendered: Record<string, string>;

  beforeAll(async () => {
    dir = await tempDir();
    await writeDefinitions(dir, {
      fixture_a: validPipeline("fixture_a"),
      // Same as a user's module would be written: typed through definePipeline.
      fixture_b: {
        source:
          // Relative import with a .js suffix, as in pipelines/definitions/ (tsx/vite map it to the .ts file).
          `import { definePipeline } from ${JSON.stringify(path.relative(path.join(dir, "defs"), MODEL_INDEX))};\n` +
          `export default definePipeline(${JSON.stringify(validPipeline("fixture_b"))});\n`,
      },
    });
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out"], dir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rendered \d+ files \(2 pipelines\) to out/);
    rendered = await snapshot(path.join(dir, "out"));
  });

  it("writes one DAG file per pipeline and the Anyscale YAML", () => {
    const paths = Object.keys(rendered);
    expect(paths).toEqual(
      expect.arrayContaining([
        "dags/fixture_a.py",
        "dags/fixture_b.py",
        "anyscale/jobs/fixture-a-train.yaml",
        "anyscale/services/fixture-b-svc.yaml",
      ]),
    );
    expect(rendered["dags/fixture_a.py"]).toContain('"fixture_a"');
  });

  it("is deterministic: a second render is byte-identical and --check passes", async () => {
    expect((await run(["render-dags", "--definitions", "defs", "--out", "again"], dir)).code).toBe(0);
    expect(await snapshot(path.join(dir, "again"))).toEqual(rendered);
    const check = await run(["render-dags", "--definitions", "defs", "--out", "out", "--check"], dir);
    expect(check).toMatchObject({ code: 0, err: "" });
    expect(check.out).toMatch(/^up to date/);
  });

  it("--check detects a single changed byte and names the file", async () => {
    const work = await tempDir();
    await writeDefinitions(work, { fixture_a: validPipeline("fixture_a") });
    expect((await run(["render-dags", "--definitions", "defs", "--out", "out"], work)).code).toBe(0);
    const file = path.join(work, "out", "dags", "fixture_a.py");
    const text = await readFile(file, "utf8");
    const i = text.indexOf("fixture_a");
    await writeFile(file, text.slice(0, i) + "F" + text.slice(i + 1), "utf8");
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out", "--check"], work);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: out: differs from a fresh render/);
    expect(r.err).toContain("  dags/fixture_a.py");
    // --check never writes: the changed byte is still there.
    expect(await readFile(file, "utf8")).not.toBe(text);
  });

  it("--check reports a stale file left by a removed pipeline", async () => {
    const work = await tempDir();
    await writeDefinitions(work, { fixture_a: validPipeline("fixture_a") });
    expect((await run(["render-dags", "--definitions", "defs", "--out", "out"], work)).code).toBe(0);
    await writeFile(path.join(work, "out", "dags", "old_dag.py"), "# stale\n", "utf8");
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out", "--check"], work);
    expect(r.code).toBe(1);
    expect(r.err).toContain("dags/old_dag.py");
  });

  it("a bad definition exits 1, names file and field, and leaves previous output untouched", async () => {
    const work = await tempDir();
    const defs = await writeDefinitions(work, {
      fixture_a: validPipeline("fixture_a"),
      fixture_b: validPipeline("fixture_b"),
    });
    expect((await run(["render-dags", "--definitions", "defs", "--out", "out"], work)).code).toBe(0);
    const before = await snapshot(path.join(work, "out"));

    // A new file name: a module already imported in this process would come from the import cache.
    const bad = clone(validPipeline("fixture_c"));
    bad.tasks[1]!.dependsOn = ["no_such_task"];
    await writeDefinitions(work, { fixture_c: bad });
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out"], work);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `error: ${path.join(defs, "fixture_c.ts")}: tasks.1.dependsOn.0: unknown task or group id "no_such_task"\n`,
    );
    expect(await snapshot(path.join(work, "out"))).toEqual(before);
  });

  it("--only renders one pipeline and keeps the other pipelines' files", async () => {
    const only = (id: string, ...extra: string[]) =>
      run(["render-dags", "--definitions", "defs", "--out", "partial", "--only", id, ...extra], dir);
    expect((await only("fixture_a")).code).toBe(0);
    const a = await snapshot(path.join(dir, "partial"));
    expect(Object.keys(a).some((p) => p.includes("fixture_b") || p.includes("fixture-b"))).toBe(false);
    expect(Object.keys(a).length).toBeGreaterThan(0);
    for (const [p, content] of Object.entries(a)) expect(content).toBe(rendered[p]);

    expect((await only("fixture_b")).code).toBe(0);
    expect(await snapshot(path.join(dir, "partial"))).toEqual(rendered);
    expect((await only("fixture_b", "--check")).code).toBe(0);
  });

  it("--only with an unknown dag id exits 1 and lists the known ids", async () => {
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out2", "--only", "nope"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: --only nope: no such dag id (known: fixture_a, fixture_b)\n");
  });

  it("options are validated: an invalid dag id for --only is refused", async () => {
    const r = await run(["render-dags", "--definitions", "defs", "--only", "bad id!"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: option only: must match/);
  });

  it("--compute-config overrides a logical compute config key", async () => {
    const work = await tempDir();
    await writeDefinitions(work, { fixture_a: validPipeline("fixture_a") });
    const r = await run(
      ["render-dags", "--definitions", "defs", "--out", "out", "--compute-config", "fixture-gpu=real-gpu:7"],
      work,
    );
    expect(r.code).toBe(0);
    const job = await readFile(path.join(work, "out", "anyscale", "jobs", "fixture-a-train.yaml"), "utf8");
    expect(job).toContain("real-gpu:7");
    expect(job).not.toContain("fixture-gpu");
  });

  it("--storage-root renders artifact URIs under the given root, as a stack's artifactBucket does", async () => {
    const work = await tempDir();
    const r = await run(
      ["render-dags", "--out", "out", "--storage-root", "s3://llm-platform-artifacts=s3://acme-ml-prod"],
      work,
    );
    expect(r.code).toBe(0);
    const dag = await readFile(path.join(work, "out", "dags", "llm_finetune_deploy.py"), "utf8");
    expect(dag).toContain("s3://acme-ml-prod/");
    expect(dag).not.toContain("s3://llm-platform-artifacts");
    const bad = await run(
      ["render-dags", "--out", "out", "--storage-root", "s3://llm-platform-artifacts=s3://Bad_Bucket"],
      work,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error: option storageRoot: storage root to "s3:\/\/Bad_Bucket"/);
  });

  it("an unknown option is a commander error with exit code 1", async () => {
    const r = await run(["render-dags", "--nope"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("unknown option '--nope'");
  });
});
