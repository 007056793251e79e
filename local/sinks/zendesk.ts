// Zendesk API sink: serves the scripted tickets through the endpoints the data-update's Zendesk source uses
// (zenpy's cursor-based incremental ticket export, through the provider's ZendeskHook), on 127.0.0.1.
// Zendesk itself is https-only; zenpy honours ZENPY_FORCE_SCHEME / ZENPY_FORCE_NETLOC, which the local stack
// sets so that a connection with an ordinary `<subdomain>.zendesk.com` host reaches this sink.
// Auth is checked as Zendesk does (API token `email/token:TOKEN`, password, or OAuth bearer).
import type { IncomingMessage, ServerResponse } from "node:http";
import { jsonBody, listenOnLoopback, sendJson, type RunningSink } from "./http.js";
import { parseScript, ZendeskScriptSchema, type ZendeskScript } from "./script.js";

export interface ZendeskTicket {
  id: number;
  url: string;
  subject: string;
  description: string;
  status: string;
  created_at: string;
  updated_at: string;
  generated_timestamp: number;
  custom_fields: { id: number; value: string | null }[];
}

export interface ZendeskCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface ZendeskSinkOptions {
  port?: number;
  /** The agent's email and API token a client must present (`email/token:TOKEN` basic auth). */
  email: string;
  token: string;
  script: ZendeskScript;
  now?: () => number;
  /** Export page size when the client sends no `per_page` (Zendesk: 1000; smaller to exercise paging). */
  pageSize?: number;
}

export interface RunningZendeskSink extends RunningSink {
  readonly calls: readonly ZendeskCall[];
  load(script: ZendeskScript): void;
}

const EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json";
/** Zendesk's page size for cursor-based exports (also its maximum). */
const EXPORT_PAGE = 1000;

function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * A cursor is the position after the last ticket update returned, `[generated_timestamp, id]`, as Zendesk's
 * cursor-based export resumes "after the last item" (not at an offset): a cursor kept for days stays valid, and a
 * ticket updated since (a relabel) comes again, later in the stream.
 */
function encodeCursor(timestamp: number, id: number): string {
  return Buffer.from(JSON.stringify([timestamp, id])).toString("base64url");
}

function decodeCursor(cursor: string): [number, number] | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((n) => Number.isInteger(n))) {
      return [value[0] as number, value[1] as number];
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

function authorised(req: IncomingMessage, opts: ZendeskSinkOptions): boolean {
  const header = req.headers.authorization ?? "";
  if (header.startsWith("Bearer ")) return header.slice(7) === opts.token;
  if (!header.startsWith("Basic ")) return false;
  const decoded = Buffer.from(header.slice(6), "base64").toString();
  return decoded === `${opts.email}/token:${opts.token}` || decoded === `${opts.email}:${opts.token}`;
}

export async function startZendeskSink(opts: ZendeskSinkOptions): Promise<RunningZendeskSink> {
  const now = opts.now ?? Date.now;
  let tickets: ZendeskTicket[] = [];
  const calls: ZendeskCall[] = [];
  const load = (script: ZendeskScript) => {
    const at = now();
    tickets = script.tickets
      .map((t): ZendeskTicket => {
        const updated = at - Math.round(t.ageHours * 3_600_000);
        return {
          id: t.id,
          url: `https://localstack.zendesk.com/api/v2/tickets/${t.id}.json`,
          subject: t.subject,
          description: t.description,
          status: t.status,
          created_at: iso(updated),
          updated_at: iso(updated),
          generated_timestamp: Math.floor(updated / 1000),
          custom_fields: [{ id: script.mrFieldId, value: t.mr ?? null }],
        };
      })
      .sort((a, b) => a.generated_timestamp - b.generated_timestamp || a.id - b.id);
  };
  load(opts.script);

  const exportPage = (base: string, query: Record<string, string>): [number, unknown] => {
    let after: (t: ZendeskTicket) => boolean;
    let position: [number, number];
    if (query.cursor !== undefined) {
      const decoded = decodeCursor(query.cursor);
      if (!decoded) return [400, { error: "InvalidCursor", description: "cursor is not valid" }];
      const [ts, id] = decoded;
      position = decoded;
      after = (t) => t.generated_timestamp > ts || (t.generated_timestamp === ts && t.id > id);
    } else if (query.start_time !== undefined && /^\d+$/.test(query.start_time)) {
      const startTime = Number(query.start_time);
      position = [startTime - 1, Number.MAX_SAFE_INTEGER];
      after = (t) => t.generated_timestamp >= startTime;
    } else {
      return [
        400,
        {
          error: "InvalidPaginationParameter",
          description: "start_time (Unix seconds) or cursor is required",
        },
      ];
    }
    const fallback = opts.pageSize ?? EXPORT_PAGE;
    const perPage = Math.min(EXPORT_PAGE, Math.max(1, Number(query.per_page ?? fallback) || fallback));
    const matching = tickets.filter(after);
    const slice = matching.slice(0, perPage);
    const last = slice[slice.length - 1];
    const next = encodeCursor(...(last ? ([last.generated_timestamp, last.id] as const) : position));
    return [
      200,
      {
        tickets: slice,
        after_cursor: next,
        after_url: `${base}${EXPORT_PATH}?cursor=${next}`,
        before_cursor: null,
        before_url: null,
        end_of_stream: slice.length >= matching.length,
      },
    ];
  };

  const admin = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void => {
    if (req.method === "GET" && path === "/_sink/tickets") return sendJson(res, 200, { tickets });
    if (req.method === "GET" && path === "/_sink/calls") return sendJson(res, 200, { calls });
    if (req.method === "PUT" && path === "/_sink/script") {
      const value = jsonBody(res, body);
      if (value === undefined) return;
      try {
        load(parseScript(ZendeskScriptSchema, value, "PUT /_sink/script"));
      } catch (e) {
        return sendJson(res, 400, { error: (e as Error).message });
      }
      return sendJson(res, 200, { ok: true });
    }
    const update = /^\/_sink\/tickets\/(\d+)$/.exec(path);
    if (req.method === "PATCH" && update) {
      // An agent edits a ticket (e.g. corrects the representation field): it is updated now, so it moves to the
      // end of the export stream, as in Zendesk.
      const value = jsonBody(res, body) as { mr?: unknown; description?: unknown } | undefined;
      if (value === undefined) return;
      const ticket = tickets.find((t) => t.id === Number(update[1]));
      if (!ticket) return sendJson(res, 404, { error: `no ticket ${update[1]}` });
      if (value.mr !== undefined && typeof value.mr !== "string" && value.mr !== null)
        return sendJson(res, 400, { error: "mr: must be a string or null" });
      if (value.description !== undefined && typeof value.description !== "string")
        return sendJson(res, 400, { error: "description: must be a string" });
      const at = Math.max(now(), (ticket.generated_timestamp + 1) * 1000);
      if (value.mr !== undefined)
        ticket.custom_fields = ticket.custom_fields.map((f) => ({ ...f, value: value.mr as string | null }));
      if (typeof value.description === "string") ticket.description = value.description;
      ticket.updated_at = iso(at);
      ticket.generated_timestamp = Math.floor(at / 1000);
      tickets.sort((a, b) => a.generated_timestamp - b.generated_timestamp || a.id - b.id);
      return sendJson(res, 200, { ticket });
    }
    sendJson(res, 404, { error: `no admin route ${req.method} ${path}` });
  };

  const server = await listenOnLoopback(opts.port ?? 0, (req, res, body) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/_sink/")) return admin(req, res, url.pathname, body);
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? "GET";
    const answer = (status: number, payload: unknown) => {
      calls.push({ method, path: url.pathname, query, status });
      sendJson(res, status, payload);
    };
    if (!authorised(req, opts)) return answer(401, { error: "Couldn't authenticate you" });
    const base = `http://${req.headers.host ?? "127.0.0.1"}`;
    if (method === "GET" && url.pathname === EXPORT_PATH) return answer(...exportPage(base, query));
    const single = /^\/api\/v2\/tickets\/(\d+)\.json$/.exec(url.pathname);
    if (method === "GET" && single) {
      const ticket = tickets.find((t) => t.id === Number(single[1]));
      return ticket
        ? answer(200, { ticket })
        : answer(404, { error: "RecordNotFound", description: "Not found" });
    }
    if (method === "GET" && url.pathname === "/api/v2/users/me.json") {
      return answer(200, { user: { id: 1, email: opts.email, role: "agent", name: "Local stack agent" } });
    }
    answer(404, { error: "InvalidEndpoint", description: `Not found: ${method} ${url.pathname}` });
  });
  return {
    ...server,
    get calls() {
      return calls;
    },
    load,
  };
}
