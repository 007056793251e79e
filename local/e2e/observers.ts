// How the e2e sees outcomes: from outside the DAGs, over the same HTTP endpoints a person would use. S3 is read
// from the local S3 server (moto) with plain HTTP requests, the Anyscale side from the emulator's API and admin
// endpoints, Slack from the sink's record of every post. Nothing here reads a DAG's logs or XComs.
import type { PostedMessage } from "../sinks/slack.js";
import type { RuntimeProcess } from "../anyscale-emulator/localRuntime.js";
import { signS3, type Credentials } from "./sigv4.js";

/** The local S3 server, with signed requests (as boto3 sends them). */
export class S3Reader {
  constructor(
    readonly endpoint: string,
    readonly credentials: Credentials,
  ) {}

  #fetch(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
    const method = init.method ?? "GET";
    const signed = signS3(method, new URL(url), this.credentials);
    return fetch(url, { ...init, method, headers: { ...(init.headers ?? {}), ...signed } });
  }

  #url(uri: string): string {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!m) throw new Error(`${uri}: not an s3:// URI`);
    return `${this.endpoint}/${m[1]}/${m[2]}`;
  }

  /** Keys (as s3:// URIs) under a prefix. */
  async list(prefixUri: string): Promise<string[]> {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(prefixUri);
    if (!m) throw new Error(`${prefixUri}: not an s3:// URI`);
    const [bucket, prefix] = [m[1] as string, m[2] as string];
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({
        "list-type": "2",
        prefix,
        ...(token ? { "continuation-token": token } : {}),
      });
      const res = await this.#fetch(`${this.endpoint}/${bucket}?${q.toString()}`);
      const xml = await res.text();
      if (!res.ok) throw new Error(`s3: list ${prefixUri} answered ${res.status}: ${xml.slice(0, 300)}`);
      for (const k of xml.matchAll(/<Key>([^<]*)<\/Key>/g))
        keys.push(`s3://${bucket}/${unescapeXml(k[1] ?? "")}`);
      token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
    } while (token);
    return keys;
  }

  async text(uri: string): Promise<string> {
    const res = await this.#fetch(this.#url(uri));
    const body = await res.text();
    if (!res.ok) throw new Error(`s3: GET ${uri} answered ${res.status}`);
    return body;
  }

  async exists(uri: string): Promise<boolean> {
    const res = await this.#fetch(this.#url(uri), { method: "HEAD" });
    return res.ok;
  }

  async json<T = Record<string, unknown>>(uri: string): Promise<T> {
    return JSON.parse(await this.text(uri)) as T;
  }

  async jsonl(uri: string): Promise<Record<string, unknown>[]> {
    return (await this.text(uri))
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async put(uri: string, body: string, contentType = "application/octet-stream"): Promise<void> {
    const res = await this.#fetch(this.#url(uri), {
      method: "PUT",
      body,
      headers: { "content-type": contentType },
    });
    if (!res.ok)
      throw new Error(`s3: PUT ${uri} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }

  async delete(uri: string): Promise<void> {
    const res = await this.#fetch(this.#url(uri), { method: "DELETE" });
    if (!res.ok && res.status !== 404) throw new Error(`s3: DELETE ${uri} answered ${res.status}`);
  }
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

export class SlackSink {
  constructor(readonly adminUrl: string) {}

  async messages(): Promise<PostedMessage[]> {
    const res = await fetch(`${this.adminUrl}/messages`);
    if (!res.ok) throw new Error(`slack sink: GET /_sink/messages answered ${res.status}`);
    return ((await res.json()) as { messages: PostedMessage[] }).messages;
  }
}

/** The Zendesk sink's admin side: what an agent does in Zendesk (edit a ticket), and the tickets it serves. */
export class ZendeskSink {
  constructor(readonly adminUrl: string) {}

  /** An agent corrects a ticket's representation field (the ticket is updated now, as in Zendesk). */
  async relabel(id: number, mr: string): Promise<void> {
    const res = await fetch(`${this.adminUrl}/tickets/${id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mr }),
    });
    if (!res.ok) throw new Error(`zendesk sink: PATCH /_sink/tickets/${id} answered ${res.status}`);
  }
}

export interface ServiceView {
  id: string;
  name: string;
  current_state: string;
  base_url: string;
  auth_token: string | null;
  primary_version: {
    version: string;
    weight: number;
    current_state: string;
    ray_serve_config: { applications?: { args?: Record<string, unknown> }[] };
  } | null;
  canary_version: { version: string; weight: number; current_state: string } | null;
}

export interface JobView {
  id: string;
  name: string;
  state: { current_state: string };
}

export interface ApplyRecord {
  version: string;
  rollback?: true;
  canaryPercent: number | null;
}

export interface FaultSettings {
  failingJobNames?: string[];
  unhealthyServiceNames?: string[];
}

/** The emulator through its API (as the SDK sees it) and its admin endpoints (what only the emulator knows). */
export class EmulatorView {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  async #get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok)
      throw new Error(`emulator: GET ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as T;
  }

  async service(name: string): Promise<ServiceView | undefined> {
    const page = await this.#get<{ results: ServiceView[] }>(
      `/api/v2/services-v2/?name=${encodeURIComponent(name)}`,
    );
    return page.results.find((s) => s.name === name);
  }

  async jobs(): Promise<JobView[]> {
    const page = await this.#get<{ results: JobView[] }>(`/api/v2/decorated_ha_jobs/?count=1000`);
    return page.results;
  }

  async history(serviceId: string): Promise<ApplyRecord[]> {
    return (await this.#get<{ versions: ApplyRecord[] }>(`/_emulator/services/${serviceId}/history`))
      .versions;
  }

  /** One chat request through the service's query URL, as a user sends it: status and the version that served. */
  async query(
    service: ServiceView,
    model: string,
  ): Promise<{ status: number; servedBy: string | null; model: string | null }> {
    const res = await fetch(`${service.base_url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(service.auth_token ? { authorization: `Bearer ${service.auth_token}` } : {}),
      },
      body: JSON.stringify({
        model,
        messages: [{ role: "user", content: "Is Portal 2 on Steam?" }],
        max_tokens: 32,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let answered: string | null = null;
    try {
      answered = (JSON.parse(text) as { model?: string }).model ?? null;
    } catch {
      // not JSON (an error page)
    }
    return { status: res.status, servedBy: res.headers.get("x-emulator-served-by"), model: answered };
  }

  async processes(): Promise<RuntimeProcess[]> {
    return (await this.#get<{ processes: RuntimeProcess[] }>("/_emulator/processes")).processes;
  }

  async setFaults(faults: FaultSettings): Promise<void> {
    const res = await fetch(`${this.url}/_emulator/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify({ failingJobNames: [], unhealthyServiceNames: [], ...faults }),
    });
    if (!res.ok) throw new Error(`emulator: POST /_emulator/faults answered ${res.status}`);
  }
}
