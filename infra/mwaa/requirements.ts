// requirements.txt for MWAA: the Airflow constraints line, the packages whose versions those constraints
// decide (unpinned), then exact pins of the packages the constraints do not govern. Pure text functions; the
// entrypoint reads python/requirements.lock and passes the pins in, so the component reads no file.
//
// Why two lists: MWAA installs with `--constraint constraints-<airflow>/constraints-3.12.txt`. A pin of a
// constrained package to any other version makes pip fail and no provider installs, so those are listed by
// name only. Packages absent from the constraints install at whatever pip picks unless pinned, so they are
// pinned to the versions the Python tests ran against. Which names the constraints govern was derived offline
// (infra/mwaa/constraints/README.md) and is checked by test/infra/mwaa/requirements.test.ts.
import { fail } from "./errors.js";

/**
 * Packages the rendered DAGs need whose versions Airflow's constraints file decides (the Secrets Manager
 * backend and S3 hooks, Slack notifications and the Slack/Zendesk sources). Listed without a version.
 */
export const MWAA_CONSTRAINED_PACKAGES = [
  "apache-airflow-providers-amazon",
  "apache-airflow-providers-slack",
  "apache-airflow-providers-zendesk",
] as const;

/**
 * Packages absent from Airflow 3.3.1's constraints: the Anyscale operators, the `anyscale` SDK they call, and
 * the dependencies only `anyscale` brings in (jsonpatch → jsonpointer, oauth2client). Pinned from the lock.
 */
export const MWAA_PINNED_PACKAGES = [
  "anyscale",
  "astro-provider-anyscale",
  "jsonpatch",
  "jsonpointer",
  "oauth2client",
] as const;

/** Names every Airflow constraints file pins (Airflow itself and every provider): never pinned here. */
export function isConstraintGoverned(name: string): boolean {
  const n = normalizePackageName(name);
  return n === "apache-airflow" || n.startsWith("apache-airflow-");
}

/** Python version of the MWAA images for Airflow 2.11+ and 3.x (it picks the constraints file). */
export const MWAA_PYTHON_VERSION = "3.12";

/** A PEP 508 distribution name. */
const PACKAGE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** A PEP 440-ish version: digits first, then the characters release, pre/post/dev and local parts use. */
const PACKAGE_VERSION = /^[0-9][0-9A-Za-z.+-]*$/;

/** PEP 503 normalised name (`Foo_Bar.baz` → `foo-bar-baz`): how pip compares names. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** The lock file lacks a pin, or pins one package to several versions. */
export class LockFileError extends Error {
  override readonly name = "LockFileError";
}

/**
 * The pinned versions of `names` in a pip/uv lock file (`name==version`, optionally `; markers`, at the
 * start of a line). Returns `name → version` for exactly the requested names. Throws
 * {@link LockFileError} when a name has no pin or several different ones (platform-split pins would make
 * the MWAA install depend on which line pip sees first).
 */
export function providerPinsFromLock(lockText: string, names: readonly string[]): Record<string, string> {
  const found = new Map<string, Set<string>>();
  for (const line of lockText.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)/.exec(line);
    if (!m) continue;
    const key = normalizePackageName(m[1]!);
    const versions = found.get(key) ?? new Set<string>();
    versions.add(m[2]!);
    found.set(key, versions);
  }
  const out: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const versions = [...(found.get(normalizePackageName(name)) ?? [])];
    if (versions.length === 0) throw new LockFileError(`the lock file has no "${name}==<version>" line`);
    if (versions.length > 1) {
      throw new LockFileError(
        `the lock file pins "${name}" to several versions: ${versions.sort().join(", ")}`,
      );
    }
    out[name] = versions[0]!;
  }
  return out;
}

/** Validate pins (names, versions, no two names that pip treats as the same); `field` names the argument. */
export function validatePins(pins: Readonly<Record<string, string>>, field: string): void {
  const seen = new Map<string, string>();
  for (const [name, version] of Object.entries(pins)) {
    if (!PACKAGE_NAME.test(name)) {
      fail(`\`${field}\` key ${JSON.stringify(name)} is not a Python package name`);
    }
    if (typeof version !== "string" || !PACKAGE_VERSION.test(version)) {
      fail(
        `\`${field}.${name}\` must be an exact version like "1.3.0" (no operators or spaces); got ${JSON.stringify(version)}`,
      );
    }
    if (isConstraintGoverned(name)) {
      fail(
        `\`${field}.${name}\`: Airflow's constraints file decides this version on MWAA (a different pin makes pip fail); list it unpinned in \`constrainedPackages\` instead`,
      );
    }
    const key = normalizePackageName(name);
    const previous = seen.get(key);
    if (previous !== undefined) {
      fail(
        `\`${field}\` names the same package twice: ${JSON.stringify(previous)} and ${JSON.stringify(name)}`,
      );
    }
    seen.set(key, name);
  }
}

/** The Airflow constraints file MWAA expects for `airflowVersion` (Python 3.12 images). */
export function constraintsUrl(airflowVersion: string): string {
  return `https://raw.githubusercontent.com/apache/airflow/constraints-${airflowVersion}/constraints-${MWAA_PYTHON_VERSION}.txt`;
}

/** Validate the names listed without a version; each must be one the constraints govern. */
export function validateConstrainedNames(names: readonly string[], field: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (!PACKAGE_NAME.test(name))
      fail(`\`${field}\` entry ${JSON.stringify(name)} is not a Python package name`);
    if (!isConstraintGoverned(name)) {
      fail(
        `\`${field}\` entry ${JSON.stringify(name)} is not governed by Airflow's constraints: pin it in \`providerPins\` instead`,
      );
    }
    const key = normalizePackageName(name);
    if (seen.has(key)) fail(`\`${field}\` names ${JSON.stringify(name)} twice`);
    seen.add(key);
  }
}

const byNormalisedName = (a: string, b: string): number => {
  const [x, y] = [normalizePackageName(a), normalizePackageName(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * requirements.txt: a header comment, the `--constraint` line (MWAA appends its own when it finds none,
 * so pinning it here makes the install independent of that default), the constrained packages by name,
 * then `name==version` for the rest, each group sorted by normalised name. Deterministic: the same inputs
 * give the same bytes, so the S3 object (and with it the environment) only changes when they do.
 */
export function requirementsTxt(
  airflowVersion: string,
  pins: Readonly<Record<string, string>>,
  constrained: readonly string[] = MWAA_CONSTRAINED_PACKAGES,
): string {
  validatePins(pins, "providerPins");
  validateConstrainedNames(constrained, "constrainedPackages");
  // Comments must not contain "-c " or "--constraint ": MWAA searches the whole file for them.
  const header = `# Generated by infra/mwaa for Apache Airflow ${airflowVersion} on MWAA. Do not edit.`;
  const unpinned = [...constrained].sort(byNormalisedName);
  const pinned = Object.keys(pins)
    .sort(byNormalisedName)
    .map((name) => `${name}==${pins[name]!}`);
  return (
    [
      header,
      `--constraint "${constraintsUrl(airflowVersion)}"`,
      ...(unpinned.length > 0 ? ["# Versions from the Airflow constraints above:", ...unpinned] : []),
      ...(pinned.length > 0
        ? ["# Not in the Airflow constraints, pinned to python/requirements.lock:", ...pinned]
        : []),
    ].join("\n") + "\n"
  );
}
