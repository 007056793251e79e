// Typed Anyscale REST client on openapi-fetch, for the endpoints in openapi.yaml.
//
// Retries: idempotent calls (GET, read-only POSTs such as search/find_by_name, archive, terminate) are retried on
// 429, 5xx, timeouts and connection errors with exponential backoff + full jitter, honouring Retry-After.
// Creates are NOT idempotent, so a create is retried blindly only when it is known not to have happened:
// connection refused (nothing was sent), 429 (rate-limited before processing) and 503 (service unavailable).
// Any other failure of a create (500/502/504, timeout, reset) is ambiguous: compute-config and job creates then
// look up whether the create did happen (new version / new job under the same name) before retrying; service
// applies are not retried and fail with AnyscaleAmbiguousWriteError.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.generated.js";

export type Schemas = components["schemas"];
export type Cloud = Schemas["Cloud"];
export type Project = Schemas["Project"];
export type ComputeTemplate = Schemas["ComputeTemplate"];
export type DecoratedComputeTemplate = Schemas["DecoratedComputeTemplate"];
export type CreateComputeTemplate = Schemas["CreateComputeTemplate"];
export type ComputeTemplateQuery = Schemas["ComputeTemplateQuery"];
export type CreateInternalProductionJob = Schemas["CreateInternalProductionJob"];
export type InternalProductionJob = Schemas["InternalProductionJob"];
export type DecoratedProductionJob = Schemas["DecoratedProductionJob"];
export type ApplyProductionServiceV2Model = Schemas["ApplyProductionServiceV2Model"];
export type ProductionService = Schemas["DecoratedProductionServiceV2APIModel"];
export type UserInfo = Schemas["UserInfo"];

/** Same default as the `anyscale` CLI/SDK (`shared_anyscale_utils/conf.py`: production AWS endpoint). */
export const DEFAULT_ANYSCALE_HOST = "https://console.anyscale.com";

export interface RetryOptions {
  /** Retries after the first attempt (default 5). */
  readonly maxRetries?: number;
  /** First backoff delay in ms (default 500); doubles each attempt. */
  readonly baseDelayMs?: number;
  /** Backoff cap in ms (default 30 000); also caps Retry-After. */
  readonly maxDelayMs?: number;
}

export interface AnyscaleClientOptions {
  /** API token; defaults to `ANYSCALE_CLI_TOKEN`. */
  readonly token?: string;
  /** Base URL; defaults to `ANYSCALE_HOST`, then https://console.anyscale.com. */
  readonly host?: string;
  /** Per-attempt timeout in ms (default 30 000). */
  readonly timeoutMs?: number;
  readonly retries?: RetryOptions;
  /** Injected for tests: the random source for jitter and the sleep function. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Extra headers on every request (e.g. `X-Anyscale-Source`). */
  readonly headers?: Record<string, string>;
}

/** An error answered by the API, carrying its `detail` and the request id. */
export class AnyscaleApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly detail: string,
    readonly requestId: string | undefined,
  ) {
    super(AnyscaleApiError.describe(status, method, path, detail, requestId));
    this.name = "AnyscaleApiError";
  }

  static describe(status: number, method: string, path: string, detail: string, requestId?: string): string {
    const hint =
      status === 401
        ? " Check ANYSCALE_CLI_TOKEN (create a token under Anyscale console > API keys) and ANYSCALE_HOST."
        : status === 403
          ? " The token's user lacks permission for this resource."
          : status === 404
            ? " Check the name or id, and that it belongs to this organisation and cloud."
            : status === 409
              ? " The resource is in use or in a conflicting state."
              : status === 422
                ? " The request was rejected by validation; fix the fields named above."
                : status === 429
                  ? " Rate limited; retries were exhausted."
                  : status >= 500
                    ? " Anyscale had a server error; retries were exhausted."
                    : "";
    const rid = requestId ? ` (request id ${requestId})` : "";
    return `Anyscale API ${method} ${path} failed with HTTP ${status}: ${detail}.${hint}${rid}`;
  }
}

/** A create/apply whose outcome is unknown (the request may or may not have taken effect). */
export class AnyscaleAmbiguousWriteError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(
      `Anyscale API ${method} ${path}: the request failed after it may have reached the server ` +
        `(${describeCause(cause)}); it was not retried to avoid doing it twice. Check the resource before retrying.`,
      { cause },
    );
    this.name = "AnyscaleAmbiguousWriteError";
  }
}

/** The network failed (or timed out) and retries were exhausted. */
export class AnyscaleConnectionError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    cause: unknown,
  ) {
    super(`Could not reach Anyscale at ${url} (${method}): ${describeCause(cause)}. Check ANYSCALE_HOST.`, {
      cause,
    });
    this.name = "AnyscaleConnectionError";
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof AnyscaleApiError) return `HTTP ${cause.status} ${cause.detail}`;
  if (cause instanceof Error) {
    const code = (cause.cause as { code?: string } | undefined)?.code;
    return code ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}

/** Read the readable text of an error body: `{error: {detail}}`, or a 422's `{error: {message, detail: [...]}}`. */
export function errorDetail(body: unknown, fallback: string): string {
  const error = (body as { error?: unknown } | null | undefined)?.error;
  if (error && typeof error === "object") {
    const { detail, message } = error as { detail?: unknown; message?: unknown };
    if (typeof detail === "string" && detail) return detail;
    const parts: string[] = [];
    if (typeof message === "string" && message) parts.push(message);
    if (Array.isArray(detail)) {
      for (const item of detail as { loc?: unknown[]; msg?: string }[]) {
        const loc = Array.isArray(item.loc) ? item.loc.filter((l) => l !== "body").join(".") : "";
        parts.push(loc ? `${loc}: ${item.msg ?? "invalid"}` : (item.msg ?? "invalid"));
      }
    }
    if (parts.length > 0) return parts.join("; ");
  }
  return fallback;
}

type Safety = "idempotent" | "create";

/** Which calls change state non-idempotently (everything else may be retried freely). */
function classify(method: string, pathname: string): Safety {
  if (method === "GET") return "idempotent";
  if (method === "POST" && /\/api\/v2\/compute_templates\/$/.test(pathname)) return "create";
  if (method === "POST" && pathname.endsWith("/api/v2/decorated_ha_jobs/create")) return "create";
  if (method === "PUT" && pathname.endsWith("/api/v2/services-v2/apply")) return "create";
  // search, find_by_name, archive, terminate: repeating them has no further effect.
  return "idempotent";
}

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get("retry-after");
  if (h === null) return undefined;
  const secs = Number(h);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(h);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function isConnectionRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code === "ECONNREFUSED";
}

/** Thrown by the retrying fetch for an ambiguous create failure; carries the failed response if any. */
class AmbiguousAttempt extends Error {
  constructor(cause: unknown) {
    super("ambiguous", { cause });
  }
}

export interface RetryStats {
  attempts: number;
  retries: number;
}

function resolveToken(token: string | undefined): string {
  const t = token ?? process.env.ANYSCALE_CLI_TOKEN;
  if (!t) {
    throw new Error(
      "No Anyscale token: set ANYSCALE_CLI_TOKEN (or pass `token`). Tokens are created under Anyscale console > API keys.",
    );
  }
  return t;
}

export function resolveHost(host: string | undefined): string {
  return (host ?? process.env.ANYSCALE_HOST ?? DEFAULT_ANYSCALE_HOST).replace(/\/+$/, "");
}

/** Create the client. The token is kept in a closure, never in an enumerable property. */
export function createAnyscaleClient(options: AnyscaleClientOptions = {}): AnyscaleClient {
  return new AnyscaleClient(options);
}

export class AnyscaleClient {
  readonly host: string;
  /** The typed openapi-fetch client (with auth, timeout and retries), for calls without a helper below. */
  readonly api: ReturnType<typeof createClient<paths>>;
  readonly stats: RetryStats = { attempts: 0, retries: 0 };
  readonly #maxRetries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: AnyscaleClientOptions = {}) {
    const token = resolveToken(options.token);
    this.host = resolveHost(options.host);
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetries = options.retries?.maxRetries ?? 5;
    this.#baseDelayMs = options.retries?.baseDelayMs ?? 500;
    this.#maxDelayMs = options.retries?.maxDelayMs ?? 30_000;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const extraHeaders = options.headers ?? {};

    const retryingFetch = async (request: Request): Promise<Response> => {
      const url = new URL(request.url);
      const safety = classify(request.method, url.pathname);
      const body = request.body === null ? undefined : await request.arrayBuffer();
      for (let attempt = 0; ; attempt++) {
        this.stats.attempts++;
        const headers = new Headers(request.headers);
        headers.set("authorization", `Bearer ${token}`);
        for (const [k, v] of Object.entries(extraHeaders)) headers.set(k, v);
        let res: Response | undefined;
        let failure: unknown;
        try {
          res = await fetch(request.url, {
            method: request.method,
            headers,
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (err) {
          failure = err;
        }
        const retryable = res === undefined || res.status === 429 || (res.status >= 500 && res.status <= 599);
        if (!retryable && res !== undefined) return res;
        // A create may only be repeated when we know it did not happen.
        const knownNotDone =
          res === undefined ? isConnectionRefused(failure) : res.status === 429 || res.status === 503;
        if (safety === "create" && !knownNotDone) {
          if (res !== undefined) {
            const detail = errorDetail(await res.json().catch(() => undefined), res.statusText);
            throw new AmbiguousAttempt(
              new AnyscaleApiError(
                res.status,
                request.method,
                url.pathname,
                detail,
                res.headers.get("x-request-id") ?? undefined,
              ),
            );
          }
          throw new AmbiguousAttempt(failure);
        }
        if (attempt >= this.#maxRetries) {
          if (res !== undefined) return res;
          throw new AnyscaleConnectionError(request.method, request.url, failure);
        }
        await res?.body?.cancel().catch(() => undefined);
        this.stats.retries++;
        const backoff = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** attempt) * this.#random();
        const hinted = res ? retryAfterMs(res) : undefined;
        await this.#sleep(
          hinted !== undefined ? Math.min(this.#maxDelayMs, Math.max(hinted, backoff)) : backoff,
        );
      }
    };

    this.api = createClient<paths>({ baseUrl: this.host, fetch: retryingFetch });
  }

  /** Turn openapi-fetch's `{data, error, response}` into data or a typed error. */
  #unwrap<T>(method: string, path: string, r: { data?: T; error?: unknown; response: Response }): T {
    if (r.response.ok && r.data !== undefined) return r.data;
    if (r.response.ok) return undefined as T; // 204
    throw new AnyscaleApiError(
      r.response.status,
      method,
      path,
      errorDetail(r.error, r.response.statusText || "no detail"),
      r.response.headers.get("x-request-id") ?? undefined,
    );
  }

  /** Run a create; on an ambiguous failure ask `happened()` whether it took effect before retrying. */
  async #createOnce<T>(
    method: string,
    path: string,
    send: () => Promise<T>,
    happened: () => Promise<T | undefined>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (!(err instanceof AmbiguousAttempt)) throw err;
        const found = await happened();
        if (found !== undefined) return found;
        if (attempt >= this.#maxRetries) throw new AnyscaleAmbiguousWriteError(method, path, err.cause);
        this.stats.retries++;
        await this.#sleep(Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** attempt) * this.#random());
      }
    }
  }

  async userInfo(): Promise<UserInfo> {
    const p = "/api/v2/userinfo/";
    return this.#unwrap("GET", p, await this.api.GET(p)).result;
  }

  /** A cloud by exact name, or undefined when none exists. */
  async findCloudByName(name: string): Promise<Cloud | undefined> {
    const p = "/api/v2/clouds/find_by_name";
    const r = await this.api.POST(p, { body: { name } });
    if (r.response.status === 404) return undefined;
    return this.#unwrap("POST", p, r).result;
  }

  async getCloud(cloudId: string): Promise<Cloud | undefined> {
    const p = "/api/v2/clouds/{cloud_id}";
    const r = await this.api.GET(p, { params: { path: { cloud_id: cloudId } } });
    if (r.response.status === 404) return undefined;
    return this.#unwrap("GET", `/api/v2/clouds/${cloudId}`, r).result;
  }

  async getDefaultCloud(): Promise<Cloud> {
    const p = "/ext/v0/clouds/default";
    return this.#unwrap("GET", p, await this.api.GET(p)).result;
  }

  async listClouds(name?: string): Promise<Cloud[]> {
    const out: Cloud[] = [];
    let token: string | undefined;
    do {
      const p = "/api/v2/clouds/";
      const r = this.#unwrap(
        "GET",
        p,
        await this.api.GET(p, { params: { query: { name, paging_token: token, count: 100 } } }),
      );
      out.push(...r.results);
      token = r.metadata?.next_paging_token ?? undefined;
    } while (token);
    return out;
  }

  async listProjects(query: { nameContains?: string; parentCloudId?: string } = {}): Promise<Project[]> {
    const out: Project[] = [];
    let token: string | undefined;
    do {
      const p = "/api/v2/projects/";
      const r = this.#unwrap(
        "GET",
        p,
        await this.api.GET(p, {
          params: {
            query: {
              name_contains: query.nameContains,
              parent_cloud_id: query.parentCloudId,
              paging_token: token,
              count: 100,
            },
          },
        }),
      );
      out.push(...r.results);
      token = r.metadata?.next_paging_token ?? undefined;
    } while (token);
    return out;
  }

  /** A project by exact name (optionally within a cloud), or undefined. */
  async findProjectByName(name: string, parentCloudId?: string): Promise<Project | undefined> {
    const p = "/api/v2/projects/find_by_name";
    const r = this.#unwrap("GET", p, await this.api.GET(p, { params: { query: { name } } }));
    return r.results.find((x) => parentCloudId === undefined || x.parent_cloud_id === parentCloudId);
  }

  async getDefaultProject(parentCloudId: string): Promise<Project> {
    const p = "/api/v2/projects/default_project";
    return this.#unwrap(
      "GET",
      p,
      await this.api.GET(p, { params: { query: { parent_cloud_id: parentCloudId } } }),
    ).result;
  }

  /** All pages of a compute-template search. */
  async searchComputeConfigs(query: ComputeTemplateQuery): Promise<DecoratedComputeTemplate[]> {
    const out: DecoratedComputeTemplate[] = [];
    let token: string | undefined;
    do {
      const p = "/api/v2/compute_templates/search";
      const r = this.#unwrap(
        "POST",
        p,
        await this.api.POST(p, { params: { query: { paging_token: token, count: 100 } }, body: query }),
      );
      out.push(...r.results);
      token = r.metadata?.next_paging_token ?? undefined;
    } while (token);
    return out;
  }

  /** The latest (or given) version of a named config, archived ones included when asked. */
  async findComputeConfig(
    name: string,
    opts: { version?: number; cloudId?: string; includeArchived?: boolean } = {},
  ): Promise<DecoratedComputeTemplate | undefined> {
    const results = await this.searchComputeConfigs({
      orgwide: true,
      name: { equals: name },
      include_anonymous: false,
      archive_status: opts.includeArchived ? "ALL" : "NOT_ARCHIVED",
      version: opts.version ?? -1,
      cloud_id: opts.cloudId,
    });
    return results[0];
  }

  async getComputeConfig(id: string): Promise<DecoratedComputeTemplate | undefined> {
    const p = "/api/v2/compute_templates/{template_id}";
    const r = await this.api.GET(p, { params: { path: { template_id: id } } });
    if (r.response.status === 404) return undefined;
    return this.#unwrap("GET", `/api/v2/compute_templates/${id}`, r).result;
  }

  /**
   * Create a compute config (a new version when the name exists). Never creates twice: after an ambiguous
   * failure it searches for a version of this name newer than the one seen before the first attempt whose
   * config equals the request, and returns it instead of creating again.
   */
  async createComputeConfig(body: CreateComputeTemplate): Promise<ComputeTemplate> {
    const p = "/api/v2/compute_templates/";
    const name = body.name;
    let before: number | undefined;
    const lookup = async (): Promise<ComputeTemplate | undefined> => {
      if (name === undefined) return undefined;
      const all = await this.searchComputeConfigs({
        orgwide: true,
        name: { equals: name },
        include_anonymous: false,
        archive_status: "ALL",
        version: -2,
        cloud_id: body.config.cloud_id,
      });
      const match = all.find((t) => t.version > (before ?? 0) && sameComputeConfig(t.config, body.config));
      return match;
    };
    if (name !== undefined) {
      const latest = await this.findComputeConfig(name, {
        cloudId: body.config.cloud_id,
        includeArchived: true,
      });
      before = latest?.version ?? 0;
    }
    return this.#createOnce(
      "POST",
      p,
      async () => this.#unwrap("POST", p, await this.api.POST(p, { body })).result,
      lookup,
    );
  }

  /** Archive a compute config (Anyscale archives every version of its name). */
  async archiveComputeConfig(id: string): Promise<void> {
    const p = "/api/v2/compute_templates/{compute_template_id}/archive";
    this.#unwrap(
      "POST",
      `/api/v2/compute_templates/${id}/archive`,
      await this.api.POST(p, { params: { path: { compute_template_id: id } } }),
    );
  }

  /** Follows `next_paging_token` until the last page. */
  async #allPages<T>(
    page: (
      token: string | undefined,
    ) => Promise<{ results: T[]; metadata?: { next_paging_token?: string | null } | null }>,
  ): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const r = await page(token);
      out.push(...r.results);
      token = r.metadata?.next_paging_token ?? undefined;
    } while (token);
    return out;
  }

  async listJobs(query: { name?: string; projectId?: string } = {}): Promise<DecoratedProductionJob[]> {
    const p = "/api/v2/decorated_ha_jobs/";
    return this.#allPages(async (token) =>
      this.#unwrap(
        "GET",
        p,
        await this.api.GET(p, {
          params: {
            query: { name: query.name, project_id: query.projectId, paging_token: token, count: 100 },
          },
        }),
      ),
    );
  }

  /**
   * Submit a job. After an ambiguous failure it lists jobs of the same name and project and treats one that
   * was not there before and has the same entrypoint as this submission (so concurrent submitters of the same
   * job name in the same project can confuse it; names are ours to choose, so keep them unique per run).
   */
  async createJob(body: CreateInternalProductionJob): Promise<InternalProductionJob> {
    const p = "/api/v2/decorated_ha_jobs/create";
    const seen = new Set(
      (await this.listJobs({ name: body.name, projectId: body.project_id ?? undefined })).map((j) => j.id),
    );
    const lookup = async () =>
      (await this.listJobs({ name: body.name, projectId: body.project_id ?? undefined })).find(
        (j) => !seen.has(j.id) && j.config.entrypoint === body.config.entrypoint,
      );
    return this.#createOnce(
      "POST",
      p,
      async () => this.#unwrap("POST", p, await this.api.POST(p, { body })).result,
      lookup,
    );
  }

  async getJob(id: string): Promise<DecoratedProductionJob | undefined> {
    const p = "/api/v2/decorated_ha_jobs/{production_job_id}";
    const r = await this.api.GET(p, { params: { path: { production_job_id: id } } });
    if (r.response.status === 404) return undefined;
    return this.#unwrap("GET", `/api/v2/decorated_ha_jobs/${id}`, r).result;
  }

  async terminateJob(id: string): Promise<InternalProductionJob> {
    const p = "/api/v2/decorated_ha_jobs/{production_job_id}/terminate";
    return this.#unwrap(
      "POST",
      `/api/v2/decorated_ha_jobs/${id}/terminate`,
      await this.api.POST(p, { params: { path: { production_job_id: id } } }),
    ).result;
  }

  /** Create a service or roll out a new version (canary_percent sets the canary's traffic share). */
  async applyService(body: ApplyProductionServiceV2Model): Promise<ProductionService> {
    const p = "/api/v2/services-v2/apply";
    try {
      return this.#unwrap("PUT", p, await this.api.PUT(p, { body })).result;
    } catch (err) {
      if (err instanceof AmbiguousAttempt) throw new AnyscaleAmbiguousWriteError("PUT", p, err.cause);
      throw err;
    }
  }

  async getService(id: string): Promise<ProductionService | undefined> {
    const p = "/api/v2/services-v2/{service_id}";
    const r = await this.api.GET(p, { params: { path: { service_id: id } } });
    if (r.response.status === 404) return undefined;
    return this.#unwrap("GET", `/api/v2/services-v2/${id}`, r).result;
  }

  /** Services whose name contains `name` (case-insensitive, as the API filters), every page. */
  async listServices(query: { name?: string; projectId?: string } = {}): Promise<ProductionService[]> {
    const p = "/api/v2/services-v2/";
    return this.#allPages(async (token) =>
      this.#unwrap(
        "GET",
        p,
        await this.api.GET(p, {
          params: {
            query: { name: query.name, project_id: query.projectId, paging_token: token, count: 100 },
          },
        }),
      ),
    );
  }

  /** A service by exact name within a project (the API's `name` filter is a substring match). */
  async findServiceByName(name: string, projectId?: string): Promise<ProductionService | undefined> {
    const p = "/api/v2/services-v2/";
    const r = this.#unwrap(
      "GET",
      p,
      await this.api.GET(p, { params: { query: { name, project_id: projectId, count: 100 } } }),
    );
    return r.results.find((s) => s.name === name);
  }

  async terminateService(id: string): Promise<ProductionService> {
    const p = "/api/v2/services-v2/{service_id}/terminate";
    return this.#unwrap(
      "POST",
      `/api/v2/services-v2/${id}/terminate`,
      await this.api.POST(p, { params: { path: { service_id: id } } }),
    ).result;
  }
}

/** Canonical JSON (sorted keys) for comparing configs. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Whether a stored config matches a requested one: every field we sent is stored with the same value
 * (the server may add fields of its own, such as `region` or a decorated `cloud`).
 */
export function sameComputeConfig(stored: unknown, requested: unknown): boolean {
  if (requested === null || typeof requested !== "object")
    return canonicalJson(stored) === canonicalJson(requested);
  if (Array.isArray(requested)) {
    return (
      Array.isArray(stored) &&
      stored.length === requested.length &&
      requested.every((r, i) => sameComputeConfig(stored[i], r))
    );
  }
  if (stored === null || typeof stored !== "object" || Array.isArray(stored)) return false;
  return Object.entries(requested as Record<string, unknown>).every(
    ([k, v]) => v === undefined || sameComputeConfig((stored as Record<string, unknown>)[k], v),
  );
}
