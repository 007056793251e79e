/**
 * Cron sanity check for Airflow schedules: five fields (minute hour day-of-month month day-of-week) or one of
 * Airflow's presets. Catches typos before the DAG processor does; it is not a full croniter re-implementation.
 */

export const CRON_PRESETS = [
  "@hourly",
  "@daily",
  "@weekly",
  "@monthly",
  "@quarterly",
  "@yearly",
  "@annually",
  "@midnight",
] as const;

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

function parseValue(token: string, field: FieldSpec): number | undefined {
  if (/^[0-9]+$/.test(token)) return Number(token);
  const idx = field.names?.indexOf(token.toUpperCase()) ?? -1;
  if (idx < 0) return undefined;
  return field.min + idx;
}

function checkField(text: string, field: FieldSpec): string | undefined {
  for (const part of text.split(",")) {
    const [range, step, extra] = part.split("/");
    if (extra !== undefined || range === undefined || range === "") return `bad ${field.name} "${text}"`;
    if (step !== undefined && !/^[1-9][0-9]*$/.test(step)) return `bad step in ${field.name} "${text}"`;
    if (range === "*") continue;
    const bounds = range.split("-");
    if (bounds.length > 2) return `bad range in ${field.name} "${text}"`;
    const values = bounds.map((b) => parseValue(b, field));
    for (const v of values) {
      if (v === undefined || v < field.min || v > field.max) {
        return `${field.name} "${text}" is outside ${field.min}-${field.max}`;
      }
    }
    if (values.length === 2 && values[0]! > values[1]!) return `empty range in ${field.name} "${text}"`;
  }
  return undefined;
}

/** Returns a message describing what is wrong, or undefined when the expression is acceptable. */
export function cronProblem(expr: string): string | undefined {
  // JavaScript's \s (used to split the fields) counts U+FEFF and other Unicode spaces as blanks; croniter does
  // not, and refuses the expression at DAG import.
  const odd = /[^\x20-\x7e]/u.exec(expr);
  if (odd)
    return (
      `cron expression contains U+${odd[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} ` +
      "(not printable ASCII); cron expressions use only ASCII digits, names, '*', ',', '-', '/' and spaces"
    );
  if (expr.startsWith("@")) {
    return (CRON_PRESETS as readonly string[]).includes(expr)
      ? undefined
      : `unknown preset "${expr}" (use one of ${CRON_PRESETS.join(", ")})`;
  }
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) return `cron expression needs 5 fields, got ${parts.length}`;
  for (const [i, field] of FIELDS.entries()) {
    const problem = checkField(parts[i]!, field);
    if (problem) return problem;
  }
  return undefined;
}
