/** The definition example in pipelines/README.md is a valid definition (so the docs cannot rot silently). */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { run, tempDir } from "./harness.js";

const REPO = path.resolve(import.meta.dirname, "../../..");

describe("README example", () => {
  it("validates and renders", async () => {
    const readme = await readFile(path.join(REPO, "pipelines", "README.md"), "utf8");
    const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example, "a ```ts block in pipelines/README.md").toBeDefined();
    const dir = await tempDir();
    await mkdir(path.join(dir, "defs"));
    const model = path.relative(
      path.join(dir, "defs"),
      path.join(REPO, "pipelines", "src", "model", "index.js"),
    );
    await writeFile(
      path.join(dir, "defs", "readme_example.ts"),
      example!.replace('"../src/model/index.js"', JSON.stringify(model)),
      "utf8",
    );
    const r = await run(["render-dags", "--definitions", "defs", "--out", "out"], dir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });
});
