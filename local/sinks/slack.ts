// Slack Web API sink: answers what the Slack provider (SlackHook / SlackAPIPostOperator, slack_sdk WebClient)
// and the data-update's Slack source call, on 127.0.0.1. Every posted message is stored (and appears in its
// channel's history, as on Slack); the channel history comes from the script. Answers follow the Web API:
// HTTP 200 with `ok: false` and Slack's error codes. Admin endpoints (not Slack's) live under /_sink/.
import type { IncomingMessage, ServerResponse } from "node:http";
import { jsonBody, listenOnLoopback, sendJson, type RunningSink } from "./http.js";
import { parseScript, SlackScriptSchema, type SlackScript } from "./script.js";

export interface SlackMessage {
  type: "message";
  ts: string;
  user?: string;
  bot_id?: string;
  subtype?: string;
  text: string;
  thread_ts?: string;
  reply_count?: number;
  latest_reply?: string;
  blocks?: unknown;
  attachments?: unknown;
}

/** A message a client posted (what e2e checks): channel id and name, and what was sent. */
export interface PostedMessage {
  channel: string;
  channel_name: string;
  ts: string;
  text: string;
  thread_ts?: string;
  blocks?: unknown;
  attachments?: unknown;
}

/** One Web API call as the sink saw it; the token is never kept. */
export interface SlackCall {
  method: string;
  params: Record<string, unknown>;
  ok: boolean;
  error?: string;
}

interface Channel {
  id: string;
  name: string;
  /** Top-level messages, oldest first, each with its replies oldest first. */
  messages: { message: SlackMessage; replies: SlackMessage[] }[];
}

export interface SlackSinkOptions {
  port?: number;
  /** The bot token clients must send (`Authorization: Bearer …` or a `token` parameter). */
  token: string;
  script: SlackScript;
  now?: () => number;
}

export const SINK_BOT_ID = "B0LOCALSINK";
export const SINK_BOT_USER = "U0LOCALBOT";

const PAGE_MAX = 999;

function tsOf(ms: number, seq: number): string {
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000 + (seq % 1000)).padStart(6, "0")}`;
}

function cursorFor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString("base64");
}

/** A parameter as text (Slack parameters are strings or numbers; anything else counts as absent). */
function str(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

function offsetOf(cursor: unknown): number | undefined {
  if (cursor === undefined || cursor === "") return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(str(cursor), "base64").toString());
  return m ? Number(m[1]) : undefined;
}

class SlackState {
  channels = new Map<string, Channel>();
  posted: PostedMessage[] = [];
  calls: SlackCall[] = [];
  private seq = 0;

  constructor(
    private readonly now: () => number,
    script: SlackScript,
  ) {
    this.load(script);
  }

  nextTs(): string {
    this.seq += 1;
    return tsOf(this.now(), this.seq);
  }

  load(script: SlackScript): void {
    const at = this.now();
    this.channels.clear();
    for (const [id, spec] of Object.entries(script.channels)) {
      const messages = spec.messages.map((m, i) => {
        const ts = tsOf(at - Math.round(m.ageHours * 3_600_000), i * 10);
        const replies = m.replies.map((r, j): SlackMessage => ({
          type: "message",
          ts: tsOf(at - Math.round(r.ageHours * 3_600_000), i * 10 + j + 1),
          user: r.user,
          text: r.text,
          thread_ts: ts,
        }));
        const message: SlackMessage = {
          type: "message",
          ts,
          text: m.text,
          ...(m.user.startsWith("B") ? { bot_id: m.user, subtype: "bot_message" } : { user: m.user }),
          ...(m.subtype ? { subtype: m.subtype } : {}),
        };
        return { message, replies };
      });
      messages.sort((a, b) => Number(a.message.ts) - Number(b.message.ts));
      this.channels.set(id, { id, name: spec.name, messages });
    }
  }

  channel(ref: unknown): Channel | undefined {
    const text = str(ref);
    const byId = this.channels.get(text);
    if (byId) return byId;
    const name = text.replace(/^#/, "");
    return [...this.channels.values()].find((c) => c.name === name);
  }
}

function withThreadFields(entry: { message: SlackMessage; replies: SlackMessage[] }): SlackMessage {
  if (entry.replies.length === 0) return entry.message;
  return {
    ...entry.message,
    thread_ts: entry.message.ts,
    reply_count: entry.replies.length,
    latest_reply: entry.replies[entry.replies.length - 1]?.ts ?? entry.message.ts,
  };
}

type Answer = Record<string, unknown> & { ok: boolean; error?: string };
type Method = (state: SlackState, params: Record<string, unknown>) => Answer;

function page<T>(items: T[], params: Record<string, unknown>): { items: T[]; next: string } | string {
  const offset = offsetOf(params.cursor);
  if (offset === undefined) return "invalid_cursor";
  const limit = Math.min(PAGE_MAX, Math.max(1, Number(params.limit ?? 100) || 100));
  const slice = items.slice(offset, offset + limit);
  return { items: slice, next: offset + limit < items.length ? cursorFor(offset + limit) : "" };
}

const METHODS: Record<string, Method> = {
  "auth.test": () => ({
    ok: true,
    url: "https://local-sink.slack.com/",
    team: "Local stack",
    user: "airflow",
    team_id: "T0LOCAL",
    user_id: SINK_BOT_USER,
    bot_id: SINK_BOT_ID,
  }),
  "chat.postMessage": (state, p) => {
    const channel = state.channel(p.channel);
    if (!channel) return { ok: false, error: "channel_not_found" };
    const text = typeof p.text === "string" ? p.text : "";
    if (!text && !p.blocks && !p.attachments) return { ok: false, error: "no_text" };
    const ts = state.nextTs();
    const threadTs = typeof p.thread_ts === "string" && p.thread_ts ? p.thread_ts : undefined;
    const message: SlackMessage = {
      type: "message",
      ts,
      bot_id: SINK_BOT_ID,
      user: SINK_BOT_USER,
      text,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(p.blocks ? { blocks: p.blocks } : {}),
      ...(p.attachments ? { attachments: p.attachments } : {}),
    };
    if (threadTs) {
      const parent = channel.messages.find((m) => m.message.ts === threadTs);
      if (!parent) return { ok: false, error: "thread_not_found" };
      parent.replies.push(message);
    } else {
      channel.messages.push({ message, replies: [] });
    }
    state.posted.push({
      channel: channel.id,
      channel_name: channel.name,
      ts,
      text,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(p.blocks ? { blocks: p.blocks } : {}),
      ...(p.attachments ? { attachments: p.attachments } : {}),
    });
    return { ok: true, channel: channel.id, ts, message };
  },
  "conversations.history": (state, p) => {
    const channel = state.channel(p.channel);
    if (!channel) return { ok: false, error: "channel_not_found" };
    const oldest = Number(p.oldest ?? 0);
    const latest = p.latest === undefined ? Infinity : Number(p.latest);
    const inclusive = p.inclusive === true || p.inclusive === "true" || p.inclusive === "1";
    const inWindow = (ts: number) => (inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest);
    const newestFirst = channel.messages
      .filter((m) => inWindow(Number(m.message.ts)))
      .map(withThreadFields)
      .reverse();
    const paged = page(newestFirst, p);
    if (typeof paged === "string") return { ok: false, error: paged };
    return {
      ok: true,
      messages: paged.items,
      has_more: paged.next !== "",
      pin_count: 0,
      response_metadata: { next_cursor: paged.next },
    };
  },
  "conversations.replies": (state, p) => {
    const channel = state.channel(p.channel);
    if (!channel) return { ok: false, error: "channel_not_found" };
    const entry = channel.messages.find((m) => m.message.ts === str(p.ts));
    if (!entry) return { ok: false, error: "thread_not_found" };
    const paged = page([withThreadFields(entry), ...entry.replies], p);
    if (typeof paged === "string") return { ok: false, error: paged };
    return {
      ok: true,
      messages: paged.items,
      has_more: paged.next !== "",
      response_metadata: { next_cursor: paged.next },
    };
  },
};

/** Web API parameters from the query string, a form body or a JSON body (slack_sdk sends all three). */
function paramsOf(req: IncomingMessage, url: URL, body: Buffer): Record<string, unknown> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = req.headers["content-type"] ?? "";
  const text = body.toString("utf8");
  if (type.includes("application/json") && text) {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === "object") Object.assign(params, parsed);
  } else if (text) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(text)));
  }
  return params;
}

function tokenOf(req: IncomingMessage, params: Record<string, unknown>): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length);
  return typeof params.token === "string" ? params.token : undefined;
}

export interface RunningSlackSink extends RunningSink {
  /** Base URL a Slack connection's `base_url` extra takes (ends in `/api/`). */
  readonly apiUrl: string;
  readonly posted: readonly PostedMessage[];
  readonly calls: readonly SlackCall[];
  load(script: SlackScript): void;
}

export async function startSlackSink(opts: SlackSinkOptions): Promise<RunningSlackSink> {
  const state = new SlackState(opts.now ?? Date.now, opts.script);
  const admin = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void => {
    if (req.method === "GET" && path === "/_sink/messages")
      return sendJson(res, 200, { messages: state.posted });
    if (req.method === "GET" && path === "/_sink/calls") return sendJson(res, 200, { calls: state.calls });
    if (req.method === "PUT" && path === "/_sink/script") {
      const value = jsonBody(res, body);
      if (value === undefined) return;
      try {
        state.load(parseScript(SlackScriptSchema, value, "PUT /_sink/script"));
      } catch (e) {
        return sendJson(res, 400, { error: (e as Error).message });
      }
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === "DELETE" && path === "/_sink/messages") {
      state.posted = [];
      state.calls = [];
      return sendJson(res, 200, { ok: true });
    }
    sendJson(res, 404, { error: `no admin route ${req.method} ${path}` });
  };
  const server = await listenOnLoopback(opts.port ?? 0, (req, res, body) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/_sink/")) return admin(req, res, url.pathname, body);
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (!match?.[1]) return sendJson(res, 404, { ok: false, error: "unknown_method" });
    const method = match[1];
    let params: Record<string, unknown>;
    try {
      params = paramsOf(req, url, body);
    } catch {
      return sendJson(res, 200, { ok: false, error: "invalid_json" });
    }
    const token = tokenOf(req, params);
    delete params.token;
    const answer: Answer =
      token === undefined
        ? { ok: false, error: "not_authed" }
        : token !== opts.token
          ? { ok: false, error: "invalid_auth" }
          : (METHODS[method]?.(state, params) ?? { ok: false, error: "unknown_method" });
    state.calls.push({ method, params, ok: answer.ok, ...(answer.error ? { error: answer.error } : {}) });
    sendJson(res, 200, answer);
  });
  return {
    ...server,
    apiUrl: `${server.url}/api/`,
    get posted() {
      return state.posted;
    },
    get calls() {
      return state.calls;
    },
    load: (script) => state.load(script),
  };
}
