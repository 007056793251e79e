// The repository contract a user relies on: the Pulumi project points at the infra entrypoint, and the
// quickstart's commands exist as npm scripts that run on Node 22.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = join(import.meta.dirname, "..", "..");

describe("project layout", () => {
  it("Pulumi.yaml is a nodejs project whose main file exists", () => {
    const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as {
      name: string;
      runtime: { name: string };
      main: string;
    };
    expect(project.name).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(project.runtime.name).toBe("nodejs");
    expect(existsSync(join(root, project.main))).toBe(true);
  });

  it("the README quickstart commands are npm scripts", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toContain("npm ci && npm run render-dags");
    expect(readme).toContain("npm test");
    for (const script of ["render-dags", "test", "lint", "bench", "plan", "anyscale:emulator"]) {
      expect(pkg.scripts[script], script).toBeTruthy();
    }
  });

  it("npm scripts run on Node 22 (the Pulumi SDK requires it)", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(22);
  });

  it("CI runs the README's test command", () => {
    const ci = readFileSync(join(root, ".ci", "run"), "utf8");
    expect(ci).toMatch(/^npm test$/m);
  });
});
