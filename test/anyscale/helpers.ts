// Test helpers: an emulator whose every exchange is validated against infra/anyscale/openapi.yaml with ajv
// (JSON Schema 2020-12, which OpenAPI 3.1 schemas are). A violation is a response outside the document, or a
// request the document forbids that the emulator nevertheless accepted (2xx).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import {
  startEmulator,
  type EmulatorOptions,
  type Exchange,
  type RunningEmulator,
} from "../../local/anyscale-emulator/server.js";
import { createAnyscaleClient, type AnyscaleClientOptions } from "../../infra/anyscale/client.js";

export const OPENAPI_PATH = fileURLToPath(new URL("../../infra/anyscale/openapi.yaml", import.meta.url));
export const TOKEN = "sss_emulator_test_token";

interface Operation {
  requestBody?: { content: { "application/json": { schema: unknown } } };
  responses: Record<string, { $ref?: string; content?: { "application/json": { schema: unknown } } }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { content: { "application/json": { schema: unknown } } }> };
}

const doc = parse(readFileSync(OPENAPI_PATH, "utf8")) as OpenApiDoc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ ...doc, $id: "https://anyscale.invalid/openapi.json" });

const compiled = new Map<string, ValidateFunction>();
function validatorFor(schema: unknown): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    // Local refs ("#/components/...") resolve against the registered document.
    const rebased = JSON.parse(
      key.replaceAll('"#/components/', '"https://anyscale.invalid/openapi.json#/components/'),
    ) as object;
    v = ajv.compile(rebased);
    compiled.set(key, v);
  }
  return v;
}

// A literal segment wins over a parameter, as in the emulator (`.../builds/default` before `.../builds/{id}`).
const routes = Object.entries(doc.paths)
  .map(([template, ops]) => ({
    template,
    ops,
    params: (template.match(/\{\w+\}/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`),
  }))
  .sort((a, b) => a.params - b.params);

/** Validate one exchange; returns the problems (empty when it conforms). */
export function validateExchange(x: Exchange): string[] {
  if (x.status === 0) return []; // an injected dropped connection: no response to check
  const where = `${x.method} ${x.path} -> ${x.status}`;
  const r = routes.find((rt) => rt.pattern.test(x.path));
  const op = r?.ops[x.method.toLowerCase()];
  if (!r || !op) return [`${where}: not in the OpenAPI document`];
  const problems: string[] = [];
  const reqSchema = op.requestBody?.content["application/json"].schema;
  if (reqSchema && x.status >= 200 && x.status < 300) {
    const v = validatorFor(reqSchema);
    if (!v(x.requestBody))
      problems.push(`${where}: accepted a request body the document forbids: ${ajv.errorsText(v.errors)}`);
  }
  let resp = op.responses[String(x.status)] ?? op.responses.default;
  if (resp?.$ref) resp = doc.components.responses[resp.$ref.split("/").pop()!];
  if (!resp) return [...problems, `${where}: status not documented`];
  const schema = resp.content?.["application/json"].schema;
  if (!schema) {
    if (x.responseBody !== undefined) problems.push(`${where}: body sent where none is documented`);
  } else {
    const v = validatorFor(schema);
    if (!v(x.responseBody))
      problems.push(`${where}: response violates the document: ${ajv.errorsText(v.errors)}`);
  }
  return problems;
}

export interface ValidatedEmulator extends RunningEmulator {
  readonly exchanges: Exchange[];
  readonly violations: string[];
}

export async function startValidatedEmulator(opts: EmulatorOptions = {}): Promise<ValidatedEmulator> {
  const exchanges: Exchange[] = [];
  const violations: string[] = [];
  const emu = await startEmulator({
    token: TOKEN,
    // The client's unit tests drive jobs and services on timers; pass runtime: "local" to run them for real.
    runtime: "simulated",
    jobSchedule: { pendingMs: 40, runningMs: 80 },
    serviceSchedule: { startMs: 40, rolloutMs: 80 },
    ...opts,
    onExchange: (x) => {
      exchanges.push(x);
      violations.push(...validateExchange(x));
    },
  });
  return Object.assign(emu, { exchanges, violations });
}

/** A client with tiny backoff so retry tests stay fast. */
export function testClient(url: string, opts: AnyscaleClientOptions = {}) {
  return createAnyscaleClient({
    token: TOKEN,
    host: url,
    timeoutMs: 5_000,
    retries: { maxRetries: 8, baseDelayMs: 1, maxDelayMs: 5 },
    ...opts,
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `read()` satisfies `done`, or fail after `timeoutMs`. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`waitFor timed out; last value: ${JSON.stringify(v)}`);
    await sleep(10);
  }
}
