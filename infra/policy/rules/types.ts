// The slice of a Pulumi resource the rules look at — small enough to build by hand in tests and to
// adapt from CrossGuard's `PolicyResource` / `ResourceValidationArgs` in policies.ts.

/** A resource as the rules see it. */
export interface RuleResource {
  /** Resource URN (unique within a stack). */
  readonly urn: string;
  /** Pulumi type token, e.g. `aws:s3/bucket:Bucket`. */
  readonly type: string;
  /** Logical name. */
  readonly name: string;
  /** Input/output properties (unknown values during preview are absent). */
  readonly props: Readonly<Record<string, unknown>>;
  /** For each property, the URNs of the resources its value came from (links `bucket: b.id` to `b`). */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

/** A rule violation tied to one resource. */
export interface Violation {
  readonly urn: string;
  readonly message: string;
}

/** Read a nested property by path; undefined when any step is missing. */
export function getPath(value: unknown, ...path: Array<string | number>): unknown {
  let current: unknown = value;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** Parse a JSON string or pass an object through; undefined when neither (e.g. unknown during preview). */
export function parseJsonish(value: unknown): unknown {
  if (typeof value === "string") {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  return value === null || typeof value !== "object" ? undefined : value;
}

/** A value or list of values as a list of strings (IAM `Action`, `Resource`). */
export function stringList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}
