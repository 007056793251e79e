// `npm run plan`: the command driven end to end through commander (parseAsync), output captured.
import { execFileSync } from "node:child_process";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { runPlan } from "../../../infra/plan/command.js";
import { reportError } from "../../../pipelines/src/cli/errors.js";
import type { CliIo } from "../../../pipelines/src/cli/io.js";
import { REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    cwd: REPO_ROOT,
    stdout: () => out,
    stderr: () => err,
  };
}

async function plan(args: Record<string, unknown>): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  let code = 0;
  try {
    await runPlan(args, io);
  } catch (e) {
    code = reportError(e, io);
  }
  return { code, out: io.stdout(), err: io.stderr() };
}

describe("plan", () => {
  it("--json for pr-123 prints a JSON array of {type, name, inputs}, sorted, secrets redacted", async () => {
    const r = await plan({ stack: "pr-123", json: true });
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.out) as Array<{
      type: string;
      name: string;
      inputs: Record<string, unknown>;
    }>;
    expect(entries.length).toBeGreaterThan(5);
    for (const e of entries) expect(Object.keys(e).sort()).toEqual(["inputs", "name", "type"]);
    const order = entries.map((e) => `${e.type}\u0000${e.name}`);
    expect(order).toEqual([...order].sort());
    expect(r.out).not.toContain("__provider");
    expect(r.err).toMatch(
      /pr-123 has no stack file: using the plain configuration of Pulumi\.previews\.yaml/,
    );
  }, 120_000);

  it("text for prod lists each resource with its inputs, the placeholder secret only as [secret]", async () => {
    const r = await plan({ stack: "prod" });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^stack prod \(configuration from Pulumi\.prod\.yaml\): \d+ resources$/m);
    expect(r.out).toMatch(/^aws:mwaa\/environment:Environment {2}airflow/m);
    expect(r.out).toContain('environmentClass: "mw1.medium"');
    expect(r.out).toContain("[secret]");
    expect(r.out).not.toContain("plan-placeholder-secret");
    expect(r.out).toMatch(/^note: llm-platform:anyscaleApiToken is not set in Pulumi\.prod\.yaml/m);
  }, 120_000);

  it("a stack without a file is an error naming the file", async () => {
    const r = await plan({ stack: "staging" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: no Pulumi\.staging\.yaml/);
  });

  it("a bad option is an error naming the option", async () => {
    const r = await plan({ stack: "dev; rm -rf /" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: option stack: /);
  });

  it("npm run plan -- --stack dev works as a user runs it (Node 22, tsx) and is deterministic", () => {
    const run = () =>
      execFileSync("npm", ["run", "--silent", "plan", "--", "--stack", "dev", "--json"], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          PATH: `${path.join(REPO_ROOT, "node_modules", ".bin")}:${process.env["PATH"] ?? ""}`,
        },
      });
    const first = run();
    const entries = JSON.parse(first) as Array<{ type: string }>;
    expect(entries.some((e) => e.type === "aws:mwaa/environment:Environment")).toBe(true);
    expect(run()).toBe(first);
  }, 180_000);
});
