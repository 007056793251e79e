/**
 * YAML for the Anyscale CLI/SDK, which reads files with PyYAML (YAML 1.1). The `yaml` package lays out the
 * document (block style, no line wrapping); scalars are written here so that PyYAML reads back exactly the values
 * we meant:
 * - every string value is double-quoted with explicit escapes, so `yes`, `on`, `0o17`, `1_000`, `.inf`, `~`,
 *   `2026-01-01` or `1:20` stay strings, and no raw character can be read as a line break (U+0085, U+2028,
 *   U+2029) or be refused by PyYAML's reader (controls, U+FFFE, lone surrogates);
 * - mapping keys stay plain only when they are identifiers that YAML 1.1 resolves to a string (`<<`, `=`, `~`,
 *   numbers and the like are quoted);
 * - floats always carry a `.` and a signed exponent (YAML 1.1 reads `1e+21` as a string).
 */
import { stringify, type ScalarTag, type Tags } from "yaml";
import { LiteralError, codePointEscape, isVisibleChar } from "./python-literal.js";

const YAML_NAMED: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  '"': '\\"',
  "\0": "\\0",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** A YAML double-quoted scalar that PyYAML (and any YAML 1.1/1.2 reader) decodes to exactly `value`. */
export function yamlQuoted(value: string): string {
  let out = '"';
  for (const ch of value) {
    const named = YAML_NAMED[ch];
    if (named !== undefined) out += named;
    else if (isVisibleChar(ch)) out += ch;
    else out += codePointEscape(ch.codePointAt(0)!);
  }
  return out + '"';
}

/** YAML 1.1 plain scalars that resolve to something other than a string (booleans, null). */
const YAML11_RESERVED = new Set(["y", "n", "yes", "no", "on", "off", "true", "false", "null"]);

/**
 * Mapping keys written without quotes: identifiers (which never resolve to a number, date or float in YAML 1.1)
 * other than the bool/null words in any case.
 */
export function isPlainSafeKey(key: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && !YAML11_RESERVED.has(key.toLowerCase());
}

/** A YAML 1.1 float: shortest round-trip digits, always with `.` and, if any, a signed exponent. */
export function yamlFloat(value: number): string {
  if (!Number.isFinite(value))
    throw new LiteralError(`${value} cannot be written to YAML for the Anyscale SDK`);
  const s = String(value);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-])(\d+))?$/.exec(s);
  if (!m) throw new LiteralError(`unexpected number format ${s}`);
  const [, sign, int, frac, esign, exp] = m;
  const mantissa = `${sign}${int}.${frac ?? "0"}`;
  return exp === undefined ? mantissa : `${mantissa}e${esign}${exp}`;
}

function yamlNumber(value: number): string {
  if (Number.isInteger(value)) {
    if (!Number.isSafeInteger(value))
      throw new LiteralError(`${value} is an integer beyond 2^53; it cannot be represented exactly`);
    return Object.is(value, -0) ? "0" : String(value);
  }
  return yamlFloat(value);
}

function overrideScalars(tags: Tags): Tags {
  // YAML 1.1's merge tag would write a `<<` key plain, and PyYAML reads a plain `<<` as a merge key: without the
  // tag, `<<` is an ordinary string key and gets quoted like any other key that is not an identifier.
  const withoutMerge = tags.filter(
    (tag) => typeof tag === "string" || !("tag" in tag) || tag.tag !== "tag:yaml.org,2002:merge",
  );
  return withoutMerge.map((tag) => {
    if (typeof tag === "string" || !("tag" in tag) || "collection" in tag) return tag;
    const scalar = tag;
    if (scalar.tag === "tag:yaml.org,2002:str")
      return {
        ...scalar,
        stringify: (item, ctx) => {
          const v = String(item.value);
          return ctx.implicitKey && isPlainSafeKey(v) ? v : yamlQuoted(v);
        },
      } satisfies ScalarTag;
    if (scalar.tag === "tag:yaml.org,2002:int" || scalar.tag === "tag:yaml.org,2002:float")
      return { ...scalar, stringify: (item) => yamlNumber(Number(item.value)) } satisfies ScalarTag;
    return tag;
  });
}

/**
 * Block-style YAML document for plain data (objects, arrays, strings, finite numbers, booleans, null). Key order is
 * the caller's: build objects in the order the reader should see them.
 */
export function toYaml(value: unknown): string {
  assertYamlData(value, "$");
  return stringify(value, {
    version: "1.1",
    lineWidth: 0,
    minContentWidth: 0,
    indentSeq: true,
    aliasDuplicateObjects: false,
    customTags: overrideScalars,
  });
}

function assertYamlData(value: unknown, path: string): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    yamlNumber(value);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertYamlData(v, `${path}[${i}]`));
    return;
  }
  if (typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) throw new LiteralError(`${path}.${k} is undefined; omit the key instead`);
      assertYamlData(v, `${path}.${k}`);
    }
    return;
  }
  throw new LiteralError(`${path}: a ${typeof value} cannot be written to YAML`);
}
