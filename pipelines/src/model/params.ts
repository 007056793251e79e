/**
 * DAG params (rendered as `airflow.sdk.Param(default, type=..., ...)`). The JSON-Schema keywords here are the
 * ones Airflow passes to its validator; `default` must satisfy them or Airflow refuses to load the DAG, so
 * `paramDefaultProblem` checks it up front.
 */
import { z } from "zod";
import { pythonRegexProblem, shorthandDefaultProblem } from "./python-regex.js";
import { PlainString } from "./refs.js";

const common = {
  description: PlainString.optional().describe("Shown under the field in the trigger form."),
  title: PlainString.optional().describe("Label in the trigger form (defaults to the param name)."),
};

export const StringParamSchema = z.strictObject({
  type: z.literal("string"),
  default: PlainString.describe("Default value; must satisfy the constraints below."),
  minLength: z.int().min(0).optional(),
  maxLength: z.int().min(1).optional(),
  pattern: z
    .string()
    .optional()
    .describe(
      "Regular expression the value must match (searched, like re.search): the subset JavaScript and Python's re " +
        "read alike (no \\p{...}, named groups, inline flags or variable-width lookbehind).",
    ),
  enum: z.array(PlainString).min(1).optional().describe("Allowed values."),
  ...common,
});

export const IntegerParamSchema = z.strictObject({
  type: z.literal("integer"),
  default: z.int(),
  minimum: z.int().optional(),
  maximum: z.int().optional(),
  enum: z.array(z.int()).min(1).optional(),
  ...common,
});

export const NumberParamSchema = z.strictObject({
  type: z.literal("number"),
  default: z.number(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  exclusiveMinimum: z.number().optional(),
  exclusiveMaximum: z.number().optional(),
  ...common,
});

export const BooleanParamSchema = z.strictObject({
  type: z.literal("boolean"),
  default: z.boolean(),
  ...common,
});

export const ArrayParamSchema = z.strictObject({
  type: z.literal("array"),
  items: z.strictObject({ type: z.enum(["string", "integer", "number"]) }),
  default: z.array(z.union([PlainString, z.number()])),
  minItems: z.int().min(0).optional(),
  maxItems: z.int().min(0).optional(),
  ...common,
});

export const ParamSpecSchema = z
  .discriminatedUnion("type", [
    StringParamSchema,
    IntegerParamSchema,
    NumberParamSchema,
    BooleanParamSchema,
    ArrayParamSchema,
  ])
  .describe("A typed DAG param (JSON-Schema validated by Airflow when a run is triggered).");
export type ParamSpec = z.infer<typeof ParamSpecSchema>;

/** Returns why `spec.default` violates its own schema (Airflow would refuse to load the DAG), or undefined. */
export function paramDefaultProblem(spec: ParamSpec): string | undefined {
  switch (spec.type) {
    case "string": {
      const v = spec.default;
      if (spec.pattern !== undefined) {
        let re: RegExp;
        try {
          re = new RegExp(spec.pattern, "u");
        } catch (e) {
          return `pattern is not a valid regular expression: ${(e as Error).message}`;
        }
        const python = pythonRegexProblem(spec.pattern) ?? shorthandDefaultProblem(spec.pattern, v);
        if (python)
          return `pattern is not valid under Python's re (Airflow validates params with it): ${python}`;
        // JSON Schema `pattern` is a search, not a full match (same as Python's re.search).
        if (!re.test(v)) return `default "${v}" does not match pattern ${spec.pattern}`;
      }
      if (spec.minLength !== undefined && [...v].length < spec.minLength)
        return `default is shorter than minLength ${spec.minLength}`;
      if (spec.maxLength !== undefined && [...v].length > spec.maxLength)
        return `default is longer than maxLength ${spec.maxLength}`;
      if (spec.enum && !spec.enum.includes(v))
        return `default "${v}" is not one of enum [${spec.enum.join(", ")}]`;
      return undefined;
    }
    case "integer":
    case "number": {
      const v = spec.default;
      if (spec.minimum !== undefined && v < spec.minimum)
        return `default ${v} is below minimum ${spec.minimum}`;
      if (spec.maximum !== undefined && v > spec.maximum)
        return `default ${v} is above maximum ${spec.maximum}`;
      if (spec.type === "number") {
        if (spec.exclusiveMinimum !== undefined && v <= spec.exclusiveMinimum)
          return `default ${v} is not above exclusiveMinimum ${spec.exclusiveMinimum}`;
        if (spec.exclusiveMaximum !== undefined && v >= spec.exclusiveMaximum)
          return `default ${v} is not below exclusiveMaximum ${spec.exclusiveMaximum}`;
      } else if (spec.enum && !spec.enum.includes(v)) {
        return `default ${v} is not one of enum [${spec.enum.join(", ")}]`;
      }
      return undefined;
    }
    case "boolean":
      return undefined;
    case "array": {
      const v = spec.default;
      if (spec.minItems !== undefined && v.length < spec.minItems)
        return `default has fewer than minItems ${spec.minItems}`;
      if (spec.maxItems !== undefined && v.length > spec.maxItems)
        return `default has more than maxItems ${spec.maxItems}`;
      const want = spec.items.type;
      for (const [i, item] of v.entries()) {
        const ok =
          want === "string"
            ? typeof item === "string"
            : want === "integer"
              ? Number.isInteger(item)
              : typeof item === "number";
        if (!ok) return `default item ${i} is not of type ${want}`;
      }
      return undefined;
    }
  }
}
