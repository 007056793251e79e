/**
 * Issue 14, YAML that PyYAML misreads: mapping keys that YAML 1.1 gives a meaning of its own (`<<` merge keys,
 * `=` value keys, null, booleans, numbers, dates, indicators) must reach the Anyscale SDK as the same string keys.
 * Want: PyYAML's `safe_load` (what the SDK uses) returns exactly the mapping we wrote.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toYaml } from "../../../pipelines/src/render/yaml.js";

const PYTHON = join(new URL("../../../", import.meta.url).pathname, ".venv/bin/python");

const KEYS = [
  "<<",
  "=",
  "~",
  "?",
  "-",
  ":",
  "null",
  "Null",
  "NULL",
  "true",
  "Yes",
  "off",
  "1",
  "0x1f",
  "0o17",
  "1_000",
  ".nan",
  "-.inf",
  "2026-01-01",
  "1:20",
  "!tag",
  "&anchor",
  "*alias",
  "%directive",
  "@at",
  "`tick",
  "#comment",
  "a: b",
  "a #b",
  " lead",
  "",
  "[x]",
  "{x}",
];

describe("mapping keys read back by PyYAML", () => {
  it.each(KEYS)("key %j stays a string key, top level and nested", (key) => {
    const given = { [key]: "v", nested: { [key]: 1 }, list: [{ [key]: true }] };
    const text = toYaml(given);
    const r = spawnSync(
      PYTHON,
      ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"],
      { input: text, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout), text).toEqual(given);
  });

  it("a `<<` key is written quoted", () => {
    expect(toYaml({ "<<": "x" })).toBe('"<<": "x"\n');
  });
});
