/**
 * Issue 14, module loading: `process.exit(0)` in a definition module ended the render with exit 0 and nothing
 * written (and `--check` passed); a top-level await that never settles exited 13 naming the CLI; a CommonJS module
 * with only named exports gave one error per pipeline field. Want (through the real CLI process): exit 1 and one
 * `error: <file>: ...` line naming the module and what is wrong, nothing written.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validPipeline } from "../fixtures/pipelines.js";
import { tempDir, writeDefinitions } from "../cli/harness.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const MAIN = path.join(ROOT, "pipelines/src/cli/main.ts");

const json = JSON.stringify(validPipeline("bad"));

/** `packageJson`: the folder's package.json (top-level await needs an ES module folder). */
const cases: { name: string; source: string; args?: string[]; packageJson?: string; want: string }[] = [
  {
    name: "process.exit(0) at the top level",
    source: `process.exit(0);\nexport default ${json};\n`,
    want: "called process.exit(0) while being imported; a definition module must only build and export its pipeline",
  },
  {
    name: "process.exit(0) at the top level, with --check",
    source: `process.exit(0);\nexport default ${json};\n`,
    args: ["--check"],
    want: "called process.exit(0) while being imported; a definition module must only build and export its pipeline",
  },
  {
    name: "process.exit() after a top-level await",
    source: `await Promise.resolve();\nprocess.exit();\nexport default ${json};\n`,
    packageJson: '{ "type": "module" }',
    want: "called process.exit() while being imported; a definition module must only build and export its pipeline",
  },
  {
    name: "a top-level await that never settles",
    source: `await new Promise(() => {});\nexport default ${json};\n`,
    packageJson: '{ "type": "module" }',
    want:
      "import did not finish within 1 s (a top-level await that never settles?); " +
      "a definition module must only build and export its pipeline",
  },
  {
    name: "a CommonJS module with only named exports",
    source: `exports.pipeline = ${json};\n`,
    packageJson: "{}",
    want:
      "has no default export (export default definePipeline({...})); " +
      "it is a CommonJS module whose exports are only named ones",
  },
];

describe("definition modules that do more than export a pipeline", () => {
  it.each(cases)("$name", { timeout: 60_000 }, async ({ source, args = [], packageJson, want }) => {
    const dir = await tempDir();
    const defs = await writeDefinitions(dir, { good: validPipeline("good"), zz_bad: { source } });
    if (packageJson !== undefined) await writeFile(path.join(defs, "package.json"), `${packageJson}\n`);
    const r = spawnSync(TSX, [MAIN, "render-dags", "--definitions", "defs", "--out", "out", ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, PIPELINES_IMPORT_TIMEOUT_MS: "1000" },
      timeout: 50_000,
    });
    expect(r.stderr.split("\n").filter((l) => l !== "")).toEqual([
      `error: ${path.join(defs, "zz_bad.ts")}: ${want}`,
    ]);
    expect(r.status).toBe(1);
    expect(existsSync(path.join(dir, "out"))).toBe(false);
  });
});
