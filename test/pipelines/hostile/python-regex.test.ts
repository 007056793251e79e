/**
 * Issue 14, regex semantics: param patterns were checked with JavaScript's RegExp, while Airflow validates params
 * with Python's `re` (`^\p{L}+$` passed validation and failed the DAG's import). Want: a pattern validation accepts
 * compiles under Python's re and accepts the default there too; JS-only syntax is refused naming the construct.
 * The table is checked against the real Python, and so is a generated sample of patterns (seed printed).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePipeline, type DefinitionError } from "../../../pipelines/src/model/index.js";
import { validPipeline } from "../fixtures/pipelines.js";
import { pythonJson } from "./airflow.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- cases poke at untyped shapes on purpose */
type Loose = any;

/** `undefined` when validation accepts the param, else its one message. */
function validate(pattern: string, def: string): string | undefined {
  const p = validPipeline() as Loose;
  p.params.text = { type: "string", default: def, pattern };
  try {
    parsePipeline(p, "defs/regex.ts");
    return undefined;
  } catch (e) {
    const issues = (e as DefinitionError).issues;
    expect(issues.map((i) => i.path)).toEqual(["params.text.default"]);
    return issues[0]!.message;
  }
}

/** For each [pattern, default]: compiles under Python's re, and whether re.search finds the default. */
function python(cases: readonly (readonly [string, string])[]): { compiles: boolean; matches: boolean }[] {
  const code = String.raw`
import json, re, sys, warnings
warnings.simplefilter("error")
out = []
for pattern, default in json.loads(sys.argv[1]):
    try:
        out.append({"compiles": True, "matches": re.search(pattern, default) is not None})
    except (re.error, FutureWarning, DeprecationWarning):
        out.append({"compiles": False, "matches": False})
print(json.dumps(out))
`;
  return pythonJson(`import sys; sys.argv = ["x", ${JSON.stringify(JSON.stringify(cases))}]\n${code}`) as {
    compiles: boolean;
    matches: boolean;
  }[];
}

const cases: { pattern: string; def: string; want: RegExp | "accepted" }[] = [
  { pattern: "^[a-z]+$", def: "abc", want: "accepted" },
  { pattern: "^v\\d+(?:\\.\\d+)*$", def: "v1.2", want: "accepted" },
  { pattern: "(?<=a)b", def: "ab", want: "accepted" },
  { pattern: "^\\p{L}+$", def: "abc", want: /\\p\{\.\.\.\} Unicode property escapes are JavaScript-only/ },
  { pattern: "[\\P{L}]", def: "1", want: /\\P\{\.\.\.\} Unicode property escapes/ },
  { pattern: "^(?<word>a)$", def: "a", want: /named groups \(\?<name>\.\.\.\) are JavaScript syntax/ },
  { pattern: "(?<w>a)\\k<w>", def: "aa", want: /named groups|\\k<name>/ },
  { pattern: "^\\cJ$", def: "\n", want: /\\c control escapes are JavaScript-only/ },
  { pattern: "^\\u{61}$", def: "a", want: /\\u\{\.\.\.\} code point escapes are JavaScript-only/ },
  { pattern: "a[^]", def: "ab", want: /\[\] and \[\^\]/ },
  { pattern: "(?<=a+)b", def: "ab", want: /lookbehind must have a fixed width/ },
  { pattern: "(?<!a|bc)d", def: "d", want: /lookbehind must have a fixed width/ },
  { pattern: "[[^]+", def: "[", want: /unescaped '\[' inside a character class/ },
  { pattern: "^\\W$", def: "é", want: /\\W reads U\+00E9 in the default differently/ },
  { pattern: "^\\S$", def: "\x1c", want: /\\S reads U\+001C/ },
  { pattern: "^\\D$", def: "\u0663", want: /\\D reads U\+0663/ },
  { pattern: "^a\\b", def: "aé", want: /\\b reads U\+00E9/ },
  { pattern: "^\\w+$", def: "abc", want: "accepted" },
  { pattern: "^[^0-9]$", def: "é", want: "accepted" },
  { pattern: "[!--]", def: "!", want: /"--" inside a character class reads as a set operation/ },
];

describe("param patterns under Python's re", () => {
  const py = python(cases.map((c) => [c.pattern, c.def] as const));

  it.each(cases.map((c, i) => ({ ...c, py: py[i]! })))("$pattern", ({ pattern, def, want, py: inPython }) => {
    const got = validate(pattern, def);
    if (want === "accepted") {
      expect(got).toBeUndefined();
      expect(inPython).toEqual({ compiles: true, matches: true });
    } else {
      expect(got).toMatch(/^pattern is not valid under Python's re \(Airflow validates params with it\): /);
      expect(got).toMatch(want);
      // Each refused construct is one Python's re does not compile (JavaScript does), or warns that its meaning
      // changes (FutureWarning, counted as not compiling), or one whose default Python does not match.
      expect(inPython.compiles && inPython.matches).toBe(false);
    }
  });
});

const SEED = Number(process.env.REGEX_PROPERTY_SEED ?? Date.now() % 2 ** 31);

describe("property: a pattern validation accepts compiles and matches its default in Python", () => {
  const tokens = [
    "a",
    "b",
    "1",
    ".",
    "\\d",
    "\\w",
    "\\s",
    "\\.",
    "\\p{L}",
    "\\u{61}",
    "\\k<n>",
    "\\cJ",
    "(?<n>",
    "(?:",
    "(?=",
    "(?<=",
    "(?<!",
    "(",
    ")",
    "[",
    "[^",
    "]",
    "^",
    "$",
    "*",
    "+",
    "?",
    "{2}",
    "{1,2}",
    "|",
    "-",
  ];
  const arb = fc.record({
    pattern: fc.array(fc.constantFrom(...tokens), { minLength: 1, maxLength: 8 }).map((t) => t.join("")),
    def: fc.string({
      unit: fc.constantFrom("a", "b", "1", "_", " ", ".", "é", "\u0663", "\ufeff", "\x1c", "\u00a0"),
      maxLength: 6,
    }),
  });

  it(`generated patterns (seed ${SEED})`, () => {
    const accepted = fc
      .sample(arb, { numRuns: 3000, seed: SEED })
      .filter(({ pattern, def }) => validate(pattern, def) === undefined);
    expect(accepted.length, `seed ${SEED}`).toBeGreaterThan(50);
    const py = python(accepted.map((c) => [c.pattern, c.def] as const));
    const bad = accepted.filter((_, i) => !(py[i]!.compiles && py[i]!.matches));
    expect({ seed: SEED, bad: bad.slice(0, 10) }).toEqual({ seed: SEED, bad: [] });
  });
});
