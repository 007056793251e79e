// requirements.txt as the program builds it for MWAA (pins from python/requirements.lock), checked against an
// offline approximation of Airflow 3.3.1's constraints-3.12.txt (infra/mwaa/constraints/) and the packages
// installed in .venv: nothing the constraints decide is pinned, everything they do not decide is pinned, and
// the pinned packages' own dependencies are satisfiable under those constraints.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import {
  MWAA_PINNED_PACKAGES,
  providerPinsFromLock,
  requirementsTxt,
} from "../../../infra/mwaa/requirements.js";
import { REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";

const python = path.join(REPO_ROOT, ".venv/bin/python");
const checker = path.join(REPO_ROOT, "test/infra/mwaa/check_requirements.py");
const constraints = path.join(REPO_ROOT, "infra/mwaa/constraints/approx-constraints-3.3.1-3.12.txt");
const dir = mkdtempSync(path.join(tmpdir(), "mwaa-req-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(text: string): string[] {
  const file = path.join(dir, `requirements-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const r = spawnSync(python, [checker, file, constraints], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`checker failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { errors: string[] }).errors;
}

describe.skipIf(!existsSync(python))("MWAA requirements.txt against Airflow 3.3.1's constraints", () => {
  const lock = readFileSync(path.join(REPO_ROOT, "python", "requirements.lock"), "utf8");
  const text = requirementsTxt("3.3.1", providerPinsFromLock(lock, MWAA_PINNED_PACKAGES));

  it("pins exactly what the constraints do not govern, at the versions installed here", () => {
    expect(check(text)).toEqual([]);
    expect(text).toMatch(/^anyscale==\S+$/m);
    expect(text).toMatch(/^astro-provider-anyscale==\S+$/m);
    expect(text).toMatch(/^apache-airflow-providers-amazon$/m);
  });

  it("flags the pins that made MWAA refuse the file (providers newer than the constraints)", () => {
    const old = [
      '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"',
      "apache-airflow-providers-amazon==9.39.0",
      "astro-provider-anyscale==1.3.0",
      "",
    ].join("\n");
    const errors = check(old);
    expect(errors).toContainEqual(
      expect.stringMatching(/^apache-airflow-providers-amazon==9\.39\.0 is pinned/),
    );
    // anyscale unpinned: the Anyscale provider's SDK would float to whatever pip picks.
    expect(errors).toContainEqual(expect.stringMatching(/^anyscale \(required by astro-provider-anyscale/));
  });
});
