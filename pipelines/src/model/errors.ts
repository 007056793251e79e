/** Errors about definitions, always naming the definition file and the field path. */

export interface DefinitionIssue {
  /** Repo-relative (or as given) path of the definition module. */
  readonly file: string;
  /** Dotted field path inside the pipeline (`tasks.2.entrypoint.0`), empty for the whole module. */
  readonly path: string;
  readonly message: string;
}

/** Thrown by the loader and validatePipelines; `issues` holds every problem found (at least one). */
export class DefinitionError extends Error {
  readonly issues: readonly DefinitionIssue[];

  constructor(issues: readonly DefinitionIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "DefinitionError";
    this.issues = issues;
  }

  /** File of the first issue (convenience for single-file errors). */
  get file(): string {
    return this.issues[0]?.file ?? "";
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join(".");
}

/** `<file>: <field.path>: <message>` (the path part is left out when empty). */
export function formatIssue(issue: DefinitionIssue): string {
  return issue.path ? `${issue.file}: ${issue.path}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}
