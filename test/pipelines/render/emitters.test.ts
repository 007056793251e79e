/**
 * The literal emitters and small helpers, table-driven (given → want), plus one Python round-trip of the tables
 * so "want" is not just our own opinion of Python and PyYAML.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LiteralError, pyStr, pyValue } from "../../../pipelines/src/render/python-literal.js";
import { escapeJinjaText, isJinjaInert, shellQuote } from "../../../pipelines/src/render/templating.js";
import { isPlainSafeKey, toYaml, yamlFloat, yamlQuoted } from "../../../pipelines/src/render/yaml.js";

const PYTHON = join(new URL("../../../", import.meta.url).pathname, ".venv/bin/python");

describe("pyStr", () => {
  it.each([
    ["plain", "abc", '"abc"'],
    ["double quote", 'a"b', '"a\\"b"'],
    ["backslash", "a\\b", '"a\\\\b"'],
    ["newline, tab, CR", "a\nb\tc\rd", '"a\\nb\\tc\\rd"'],
    ["NUL", "\0", '"\\x00"'],
    ["DEL and C1", "\x7f\x85", '"\\x7f\\x85"'],
    ["line/paragraph separators", "\u2028\u2029", '"\\u2028\\u2029"'],
    ["BOM and zero-width space", "\ufeff\u200b", '"\\ufeff\\u200b"'],
    ["lone surrogates", "\ud800x\udfff", '"\\ud800x\\udfff"'],
    ["astral (kept)", "😀", '"😀"'],
    ["unassigned astral", "\u{e0001}", '"\\U000e0001"'],
    ["latin-1 letters (kept)", "é ß", '"é ß"'],
    ["triple quotes", "'''\"\"\"", '"\'\'\'\\"\\"\\""'],
    ["jinja-looking", "{{ x }}", '"{{ x }}"'],
  ])("%s", (_name, given, want) => {
    expect(pyStr(given)).toBe(want);
  });
});

describe("pyValue", () => {
  it.each([
    ["null", null, "None"],
    ["booleans", [true, false], "[True, False]"],
    ["integers", [0, -3, 2 ** 53 - 1], "[0, -3, 9007199254740991]"],
    ["floats", [0.1, 1.5e-7, -2.5], "[0.1, 1.5e-7, -2.5]"],
    ["dict keys sorted", { b: 1, a: { d: 2, c: 3 } }, '{"a": {"c": 3, "d": 2}, "b": 1}'],
  ])("%s", (_name, given, want) => {
    expect(pyValue(given)).toBe(want);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["unsafe integer", 2 ** 60],
    ["function", () => 1],
  ])("refuses %s", (_name, given) => {
    expect(() => pyValue(given)).toThrow(LiteralError);
  });
});

describe("YAML", () => {
  it.each([
    ["YAML 1.1 booleans stay strings", ["yes", "on", "No", "OFF", "y", "n"]],
    [
      "numbers-looking stay strings",
      ["0o17", "017", "1_000", "0x1F", "1:20", ".inf", "-.Inf", ".nan", "1e3", "12"],
    ],
    ["null-looking stay strings", ["~", "null", "Null", ""]],
    ["dates stay strings", ["2026-01-01", "2026-01-01 10:00:00"]],
    [
      "indicators",
      ["- a", "? b", ": c", "# d", "&e", "*f", "!g", "|h", ">i", "%j", "@k", "`l", "'m'", '"n"'],
    ],
    ["line breaks", ["a\nb", "a\r\nb", "\u0085", "\u2028", "\u2029", " lead", "trail "]],
    ["unreadable raw", ["\0", "\x7f", "\ufffe", "\ud800", "\ufeff"]],
  ])("%s", (_name, given) => {
    const text = toYaml({ values: given });
    for (const v of given) expect(text).toContain(yamlQuoted(v));
  });

  it("keeps identifier keys plain and quotes the rest", () => {
    expect(isPlainSafeKey("env_vars")).toBe(true);
    expect(isPlainSafeKey("HF_TOKEN")).toBe(true);
    for (const k of ["yes", "ON", "Null", "y", "1a", "a-b", "a b", ""]) expect(isPlainSafeKey(k)).toBe(false);
    expect(toYaml({ ON: 1, a: 2 })).toBe('"ON": 1\na: 2\n');
  });

  it("writes floats YAML 1.1 reads as floats", () => {
    expect([1.5, 1e-7, 1.5e-21, -0.25].map(yamlFloat)).toEqual(["1.5", "1.0e-7", "1.5e-21", "-0.25"]);
  });

  it("never wraps long strings", () => {
    const long = "word ".repeat(100);
    expect(toYaml({ a: long }).split("\n")).toHaveLength(2);
  });

  it.each([
    ["NaN", Number.NaN],
    ["big integer", 1e21],
    ["undefined value", undefined],
  ])("refuses %s", (_name, given) => {
    expect(() => toYaml({ a: given })).toThrow();
  });
});

describe("Jinja and shell helpers", () => {
  it.each([
    ["plain", "abc", true],
    ["brace", "a{b", false],
    ["carriage return", "a\rb", false],
    ["percent and hash alone", "100% #1", true],
  ])("isJinjaInert: %s", (_name, given, want) => {
    expect(isJinjaInert(given)).toBe(want);
  });

  it("escapes braces and carriage returns as Jinja expressions", () => {
    expect(escapeJinjaText("{x}\r")).toBe('{{ "{" }}x}{{ "\\r" }}');
  });

  it.each([
    ["", "''"],
    ["abc", "abc"],
    ["a b", "'a b'"],
    ["it's", `'it'"'"'s'`],
    ["$(id)", "'$(id)'"],
    ["s3://b/k=v,x@y%z+1:2", "s3://b/k=v,x@y%z+1:2"],
    ["é", "'é'"],
  ])("shellQuote(%j)", (given, want) => {
    expect(shellQuote(given)).toBe(want);
  });
});

describe("the tables above, read back by Python and PyYAML", () => {
  it("round-trips strings through ast.literal_eval, yaml.safe_load and shlex.quote", () => {
    const samples = [
      "abc",
      'a"b\\c',
      "a\nb\tc\rd\0",
      "\x7f\x85\u2028\u2029\ufeff\u200b",
      "\ud800x\udfff",
      "😀\u{e0001}é",
      "'''\"\"\"",
      "yes",
      "0o17",
      "1_000",
      ".inf",
      "~",
      "2026-01-01",
      "1:20",
      "\ufffe",
      " lead",
      "it's $(id)",
      "",
    ];
    const payload = samples.map((s) => ({
      s,
      py: pyStr(s),
      yaml: toYaml({ v: s, [s]: 1 }),
      sh: shellQuote(s),
    }));
    const script = String.raw`
import ast, json, shlex, sys, yaml
bad = []
for c in json.load(sys.stdin):
    s = c["s"]
    if ast.literal_eval(c["py"]) != s: bad.append(("py", s))
    doc = yaml.safe_load(c["yaml"])
    if doc.get("v") != s or doc.get(s) != 1: bad.append(("yaml", s))
    if "\0" not in s and shlex.quote(s) != c["sh"]: bad.append(("sh", s))
print(json.dumps(bad))
`;
    const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(payload), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
