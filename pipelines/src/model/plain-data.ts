/**
 * Checks a definition module's export is plain data before zod sees it: zod (and every walk over the
 * definition) recurses into the value, so an object that contains itself, or nesting deep enough to exhaust the
 * call stack, would end in a RangeError instead of an error naming the field.
 */

/** Deeper than any sensible definition (task args, conf, extra), far below what the call stack allows. */
export const MAX_NESTING = 64;

export interface PlainDataIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** The first structural problem (cycle or excessive nesting) with its field path, or undefined. */
export function plainDataProblem(value: unknown): PlainDataIssue | undefined {
  // Iterative depth-first walk; `onPath` holds the objects on the way from the root to the current value.
  const onPath = new Set<object>();
  type Frame = { value: object; path: (string | number)[]; entries: [string | number, unknown][]; i: number };
  const frames: Frame[] = [];
  const enter = (v: unknown, path: (string | number)[]): PlainDataIssue | undefined => {
    if (typeof v !== "object" || v === null) return undefined;
    if (onPath.has(v))
      return {
        path,
        message:
          "value contains itself (a reference cycle); definitions must be plain data (JSON-like objects, arrays, " +
          "strings, numbers, booleans, null)",
      };
    if (frames.length >= MAX_NESTING)
      return { path, message: `nested deeper than ${MAX_NESTING} levels; definitions must be plain data` };
    onPath.add(v);
    const entries: [string | number, unknown][] = Array.isArray(v)
      ? v.map((x, i) => [i, x])
      : Object.entries(v);
    frames.push({ value: v, path, entries, i: 0 });
    return undefined;
  };
  const first = enter(value, []);
  if (first) return first;
  while (frames.length > 0) {
    const top = frames[frames.length - 1]!;
    if (top.i >= top.entries.length) {
      onPath.delete(top.value);
      frames.pop();
      continue;
    }
    const [k, v] = top.entries[top.i++]!;
    const problem = enter(v, [...top.path, k]);
    if (problem) return problem;
  }
  return undefined;
}
