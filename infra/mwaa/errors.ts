// The one error type of the `mwaa` target's pure helpers. It lives apart from args.ts so the helpers
// (network, requirements, secrets backend, ...) and resolveArgs can share it without an import cycle.

/**
 * An argument problem, always naming the offending field of {@link MwaaAirflowArgs} (or of
 * {@link DagObjectsArgs}). The components re-raise it as a `pulumi.ResourceError` tied to themselves, so
 * `pulumi up` points at the component's URN instead of printing a stack trace.
 */
export class MwaaArgsError extends Error {
  override readonly name = "MwaaArgsError";
}

/** Throw a {@link MwaaArgsError}; typed `never` so it composes in expressions. */
export function fail(message: string): never {
  throw new MwaaArgsError(message);
}
