// `npm test`: every suite, TypeScript (vitest) and Python (pytest), then one combined closing line.
// The Python environment is (re)built from the committed lock first, so a fresh clone needs nothing else.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const results = join(root, "test-results");
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (run("bash", ["scripts/ensure-venv.sh"]) !== 0) {
  console.error("npm test: could not build the Python environment (.venv)");
  process.exitCode = 1;
} else {
  const extra = process.argv.slice(2);
  const vitestStatus = run("npx", [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${join(results, "vitest.json")}`,
    ...extra,
  ]);
  let pytestStatus = run(join(root, ".venv/bin/python"), [
    "-m",
    "pytest",
    `--junitxml=${join(results, "pytest.xml")}`,
  ]);
  if (pytestStatus === 5) pytestStatus = 0; // "no tests collected" is not a failure of its own

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const vPath = join(results, "vitest.json");
  if (existsSync(vPath)) {
    const v = JSON.parse(readFileSync(vPath, "utf8"));
    passed += v.numPassedTests;
    failed += v.numFailedTests;
    skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
  } else if (vitestStatus !== 0) failed += 1;
  const pPath = join(results, "pytest.xml");
  if (existsSync(pPath)) {
    const xml = readFileSync(pPath, "utf8");
    const m = /<testsuite [^>]*?errors="(\d+)" failures="(\d+)" skipped="(\d+)" tests="(\d+)"/.exec(xml);
    if (m) {
      const [errors, failures, skips, tests] = m.slice(1).map(Number);
      passed += tests - errors - failures - skips;
      failed += errors + failures;
      skipped += skips;
    }
  } else if (pytestStatus !== 0) failed += 1;
  // A suite that crashed before reporting counts as a failure even when no test was marked failed.
  if ((vitestStatus !== 0 || pytestStatus !== 0) && failed === 0) failed = 1;
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
}
