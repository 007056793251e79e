// The sinks' script: the channel history the Slack sink serves and the tickets the Zendesk sink serves.
// Times are ages relative to the moment a script is loaded, so the data-update DAG's 7-day window always
// sees them. A bad file is refused with an error naming the file and the field.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { CliError } from "../../pipelines/src/cli/errors.js";

const Age = z
  .number()
  .min(0)
  .max(365 * 24);

const SlackReplySchema = z.strictObject({
  user: z.string().regex(/^[UW][A-Z0-9]+$/, "must be a Slack user id like U0123ABCD"),
  text: z.string(),
  ageHours: Age,
});

const SlackMessageSchema = z.strictObject({
  user: z.string().regex(/^[UWB][A-Z0-9]+$/, "must be a Slack user or bot id"),
  text: z.string(),
  ageHours: Age,
  subtype: z.string().optional(),
  replies: z.array(SlackReplySchema).default([]),
});

export const SlackScriptSchema = z.strictObject({
  channels: z.record(
    z.string().regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel id like C0123ABCD"),
    z.strictObject({
      name: z.string().regex(/^[a-z0-9_-]+$/, "must be a channel name without '#'"),
      messages: z.array(SlackMessageSchema).default([]),
    }),
  ),
});

const ZendeskTicketSchema = z.strictObject({
  id: z.number().int().positive(),
  subject: z.string().default(""),
  description: z.string(),
  status: z.enum(["new", "open", "pending", "hold", "solved", "closed", "deleted"]).default("open"),
  ageHours: Age,
  /** Value of the custom field that holds the functional representation (omitted: unlabelled). */
  mr: z.string().optional(),
});

export const ZendeskScriptSchema = z.strictObject({
  /** Id of the ticket custom field holding the representation (ZENDESK_MR_FIELD_ID on the stack). */
  mrFieldId: z.number().int().positive(),
  tickets: z.array(ZendeskTicketSchema),
});

export const SinkScriptSchema = z.strictObject({
  slack: SlackScriptSchema,
  zendesk: ZendeskScriptSchema,
});

export type SlackScript = z.infer<typeof SlackScriptSchema>;
export type ZendeskScript = z.infer<typeof ZendeskScriptSchema>;
export type SinkScript = z.infer<typeof SinkScriptSchema>;

/** The project's default script: a support desk with labelled, unlabelled and badly labelled examples. */
export const DEFAULT_SCRIPT_FILE = new URL("./fixtures/support-desk.json", import.meta.url).pathname;

/** A CliError, so the central handler prints it as one `error: <file>: <field>: <message>` line per issue. */
export class ScriptError extends CliError {}

export function formatIssues(source: string, error: z.ZodError): string {
  return error.issues.map((i) => `${source}: ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
}

export function parseScript<T>(schema: z.ZodType<T>, value: unknown, source: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ScriptError(formatIssues(source, parsed.error));
  return parsed.data;
}

export function loadScript(file: string = DEFAULT_SCRIPT_FILE): SinkScript {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ScriptError(`${file}: ${(e as Error).message}`);
  }
  return parseScript(SinkScriptSchema, raw, file);
}
