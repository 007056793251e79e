// Local Anyscale API emulator on plain node:http, implementing the paths of ../openapi.yaml over EmulatorState.
// Auth: `Authorization: Bearer <token>` (our client) or `Cookie: cli_token=<token>` (the anyscale Python SDK).
// Faults (options or `POST /_emulator/faults`): latency, a share of 429/5xx answers (429/503 always before the
// request is processed; other 5xx after it with probability `afterCommitShare`, the case that makes blind
// retries of creates dangerous), failing jobs and never-healthy services by name.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, EmulatorState, type CloudSeed, type JobSchedule, type ServiceSchedule } from "./state.js";

export interface FaultOptions {
  /** Extra latency per request in ms. */
  latencyMs?: number;
  /** Share (0..1) of API requests answered with an injected error from `statuses`. */
  rate?: number;
  /** Statuses to inject (default [429, 500, 502, 503]); 0 drops the connection without an answer. */
  statuses?: number[];
  /** For injected 500/502/504 and dropped connections: share (0..1) AFTER the request took effect (default 0.5). */
  afterCommitShare?: number;
  /** Retry-After seconds sent with injected 429/503 (default 0). */
  retryAfterSeconds?: number;
  /** Job names that fail (end in OUT_OF_RETRIES). */
  failingJobNames?: string[];
  /** Service names whose versions never become healthy (end in UNHEALTHY). */
  unhealthyServiceNames?: string[];
  /** Compute-template ids marked as used by a running cluster (archive answers 409). */
  templatesInUse?: string[];
}

export interface EmulatorOptions {
  /** Port on 127.0.0.1 (0 = any free port). */
  port?: number;
  /** Accepted token; defaults to ANYSCALE_CLI_TOKEN. Required one way or the other. */
  token?: string;
  clouds?: CloudSeed[];
  jobSchedule?: Partial<JobSchedule>;
  serviceSchedule?: Partial<ServiceSchedule>;
  faults?: FaultOptions;
  /** Seed of the fault-injection random source (deterministic runs). */
  seed?: number;
  now?: () => number;
  /** Called with every handled API exchange (tests validate them against the OpenAPI document). */
  onExchange?: (exchange: Exchange) => void;
}

export interface Exchange {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
  injected: boolean;
  /** An injected error answered after the request took effect. */
  afterCommit: boolean;
}

export interface RunningEmulator {
  readonly url: string;
  readonly port: number;
  readonly state: EmulatorState;
  /** Change faults at run time (same as `POST /_emulator/faults`). */
  setFaults(f: FaultOptions): void;
  readonly stats: { requests: number; injected: number };
  close(): Promise<void>;
}

export const DEFAULT_CLOUDS: CloudSeed[] = [
  { id: "cld_emulator1", name: "emulator-cloud", provider: "AWS", region: "us-west-2", isDefault: true },
];

/** mulberry32: small deterministic PRNG for fault injection. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Handler = (ctx: { params: Record<string, string>; query: Record<string, string>; body: unknown }) => {
  status: number;
  body?: unknown;
};

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

function route(method: string, template: string, handler: Handler): Route {
  const keys: string[] = [];
  const src = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_m, k: string) => {
    keys.push(k);
    return "([^/]+)";
  });
  return { method, pattern: new RegExp(`^${src}$`), keys, handler };
}

/** Opaque paging over an in-memory list: the token is the next offset. */
function page<T>(
  items: T[],
  query: Record<string, string>,
): { results: T[]; metadata: { total: number; next_paging_token: string | null } } {
  const count = Math.min(1000, Math.max(1, Number(query.count ?? 20) || 20));
  const offset = query.paging_token
    ? Number(Buffer.from(query.paging_token, "base64url").toString()) || 0
    : 0;
  const results = items.slice(offset, offset + count);
  const next =
    offset + count < items.length ? Buffer.from(String(offset + count)).toString("base64url") : null;
  return { results, metadata: { total: items.length, next_paging_token: next } };
}

function requireObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(
      422,
      [{ loc: ["body"], msg: "a JSON object is required", type: "type_error" }],
      "Invalid request body",
    );
  }
  return body as Record<string, unknown>;
}

function buildRoutes(state: EmulatorState): Route[] {
  const ok = (body: unknown, status = 200) => ({ status, body });
  return [
    route("GET", "/api/v2/userinfo/", () =>
      ok({
        result: {
          id: "usr_emulator",
          email: "emulator@example.invalid",
          name: "Emulator",
          username: "emulator",
          verified: true,
          organization_permission_level: "owner",
          organization_ids: ["org_emulator"],
          organizations: [
            {
              id: "org_emulator",
              name: "Emulator org",
              public_identifier: "emulator",
              default_cloud_id: state.defaultCloud().id,
              is_general_platform_enabled: true,
              is_private_endpoints_enabled: false,
              is_usage_blocked: false,
            },
          ],
          ld_hash: "",
          ld_hash_fields: [],
          pylon_hash: "",
        },
      }),
    ),
    route("GET", "/api/v2/clouds/", ({ query }) =>
      ok(
        page(
          state.clouds.filter((c) => (query.name ? c.name.includes(query.name) : true)),
          query,
        ),
      ),
    ),
    route("POST", "/api/v2/clouds/find_by_name", ({ body }) => {
      const name = requireObject(body).name;
      if (typeof name !== "string")
        throw new ApiError(
          422,
          [{ loc: ["body", "name"], msg: "field required", type: "value_error.missing" }],
          "name: field required",
        );
      return ok({ result: state.cloudByName(name) });
    }),
    route("GET", "/api/v2/clouds/{cloud_id}", ({ params }) =>
      ok({ result: state.cloudById(params.cloud_id!) }),
    ),
    route("GET", "/ext/v0/clouds/default", () => ok({ result: state.defaultCloud() })),
    route("GET", "/ext/v0/clouds/{cloud_id}", ({ params }) =>
      ok({ result: state.cloudById(params.cloud_id!) }),
    ),
    route("GET", "/api/v2/projects/", ({ query }) =>
      ok(
        page(
          state.projects
            .filter((p) => (query.name_contains ? p.name.includes(query.name_contains) : true))
            .filter((p) => (query.parent_cloud_id ? p.parent_cloud_id === query.parent_cloud_id : true)),
          query,
        ),
      ),
    ),
    route("GET", "/api/v2/projects/find_by_name", ({ query }) =>
      ok(
        page(
          state.projects.filter((p) => p.name === query.name),
          query,
        ),
      ),
    ),
    route("GET", "/api/v2/projects/default_project", ({ query }) => {
      if (!query.parent_cloud_id)
        throw new ApiError(
          422,
          [{ loc: ["query", "parent_cloud_id"], msg: "field required", type: "value_error.missing" }],
          "parent_cloud_id: field required",
        );
      return ok({ result: state.defaultProject(query.parent_cloud_id) });
    }),
    route("GET", "/api/v2/projects/{project_id}", ({ params }) =>
      ok({ result: state.projectById(params.project_id!) }),
    ),
    route("POST", "/api/v2/compute_templates/", ({ body }) => {
      const b = requireObject(body);
      const config = b.config as Record<string, unknown> | undefined;
      if (!config || typeof config !== "object")
        throw new ApiError(
          422,
          [{ loc: ["body", "config"], msg: "field required", type: "value_error.missing" }],
          "config: field required",
        );
      if (typeof config.cloud_id !== "string")
        throw new ApiError(
          422,
          [{ loc: ["body", "config", "cloud_id"], msg: "field required", type: "value_error.missing" }],
          "config.cloud_id: field required",
        );
      if (!config.head_node_type || typeof config.head_node_type !== "object")
        throw new ApiError(
          422,
          [{ loc: ["body", "config", "head_node_type"], msg: "field required", type: "value_error.missing" }],
          "config.head_node_type: field required",
        );
      return ok({ result: state.createTemplate(b as never) });
    }),
    route("POST", "/api/v2/compute_templates/search", ({ body, query }) =>
      ok(
        page(
          state.searchTemplates(requireObject(body)).map((t) => state.decorateTemplate(t)),
          query,
        ),
      ),
    ),
    route("GET", "/api/v2/compute_templates/{template_id}", ({ params }) =>
      ok({ result: state.decorateTemplate(state.templateById(params.template_id!)) }),
    ),
    route("POST", "/api/v2/compute_templates/{compute_template_id}/archive", ({ params }) => {
      state.archiveTemplate(params.compute_template_id!);
      return { status: 204 };
    }),
    route("POST", "/api/v2/decorated_ha_jobs/create", ({ body }) => {
      const b = requireObject(body);
      if (!b.config || typeof b.config !== "object")
        throw new ApiError(
          422,
          [{ loc: ["body", "config"], msg: "field required", type: "value_error.missing" }],
          "config: field required",
        );
      return ok({ result: state.createJob(b as never) });
    }),
    route("GET", "/api/v2/decorated_ha_jobs/", ({ query }) => ok(page(state.listJobs(query), query))),
    route("GET", "/api/v2/decorated_ha_jobs/{production_job_id}", ({ params }) =>
      ok({ result: state.getJob(params.production_job_id!) }),
    ),
    route("POST", "/api/v2/decorated_ha_jobs/{production_job_id}/terminate", ({ params }) =>
      ok({ result: state.terminateJob(params.production_job_id!) }),
    ),
    route("POST", "/api/v2/decorated_ha_jobs/job_runs/search", ({ body }) => {
      const ids = requireObject(body).ha_job_ids;
      if (!Array.isArray(ids)) {
        throw new ApiError(
          422,
          [{ loc: ["body", "ha_job_ids"], msg: "field required", type: "value_error.missing" }],
          "ha_job_ids: field required",
        );
      }
      return ok({ results: Object.fromEntries(ids.map((id) => [String(id), state.jobRuns(String(id))])) });
    }),
    route("GET", "/ext/v0/production_jobs/{production_job_id}", ({ params }) =>
      ok({ result: state.getJob(params.production_job_id!) }),
    ),
    route("POST", "/ext/v0/production_jobs/{production_job_id}/terminate", ({ params }) =>
      ok({ result: state.terminateJob(params.production_job_id!) }),
    ),
    route("GET", "/ext/v0/cluster_environment_builds/{cluster_environment_build_id}", ({ params }) =>
      ok({ result: state.buildById(params.cluster_environment_build_id!) }),
    ),
    route("GET", "/ext/v0/cluster_environments/{cluster_environment_id}", ({ params }) =>
      ok({ result: state.clusterEnvironmentById(params.cluster_environment_id!) }),
    ),
    route("PUT", "/api/v2/services-v2/apply", ({ body }) => {
      const b = requireObject(body);
      for (const k of ["name", "ray_serve_config", "build_id", "compute_config_id"]) {
        if (b[k] === undefined || b[k] === null)
          throw new ApiError(
            422,
            [{ loc: ["body", k], msg: "field required", type: "value_error.missing" }],
            `${k}: field required`,
          );
      }
      const cp = b.canary_percent;
      if (
        cp !== undefined &&
        cp !== null &&
        (typeof cp !== "number" || !Number.isInteger(cp) || cp < 0 || cp > 100)
      ) {
        throw new ApiError(
          422,
          [
            {
              loc: ["body", "canary_percent"],
              msg: "must be an integer between 0 and 100",
              type: "value_error",
            },
          ],
          "canary_percent: must be an integer between 0 and 100",
        );
      }
      return ok({ result: state.applyService(b as never) }, 202);
    }),
    route("GET", "/api/v2/services-v2/", ({ query }) => ok(page(state.listServices(query), query))),
    route("GET", "/api/v2/services-v2/{service_id}", ({ params }) =>
      ok({ result: state.getService(params.service_id!) }),
    ),
    route("POST", "/api/v2/services-v2/{service_id}/terminate", ({ params }) =>
      ok({ result: state.terminateService(params.service_id!) }, 202),
    ),
  ];
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length);
  const cookie = req.headers.cookie;
  const m = cookie ? /(?:^|;\s*)cli_token=([^;]+)/.exec(cookie) : null;
  return m?.[1];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json" }),
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

function errorBody(err: ApiError): unknown {
  return typeof err.detail === "string"
    ? { error: { detail: err.detail } }
    : { error: { message: err.readable ?? "Validation error", detail: err.detail } };
}

/** Start the emulator on 127.0.0.1. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const token = opts.token ?? process.env.ANYSCALE_CLI_TOKEN;
  if (!token) throw new Error("startEmulator: no token (pass `token` or set ANYSCALE_CLI_TOKEN)");
  const now = opts.now ?? Date.now;
  const state = new EmulatorState({
    clouds: opts.clouds ?? DEFAULT_CLOUDS,
    jobSchedule: { pendingMs: 200, runningMs: 500, ...opts.jobSchedule },
    serviceSchedule: { startMs: 300, rolloutMs: 500, ...opts.serviceSchedule },
    now,
  });
  const random = prng(opts.seed ?? 42);
  let faults: FaultOptions = {};
  const setFaults = (f: FaultOptions) => {
    faults = { ...faults, ...f };
    for (const n of f.failingJobNames ?? []) state.failingJobNames.add(n);
    for (const n of f.unhealthyServiceNames ?? []) state.unhealthyServiceNames.add(n);
    for (const n of f.templatesInUse ?? []) state.templatesInUse.add(n);
  };
  setFaults(opts.faults ?? {});
  const routes = buildRoutes(state);
  const stats = { requests: 0, injected: 0 };
  let requestSeq = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const requestId = `emu-${(++requestSeq).toString(16).padStart(8, "0")}`;
      const headers = { "x-request-id": requestId };
      const raw = await readBody(req);
      const query = Object.fromEntries(url.searchParams);
      let requestBody: unknown;
      const exchange = (status: number, responseBody: unknown, injected = false, afterCommit = false) =>
        opts.onExchange?.({
          method,
          path: url.pathname,
          query,
          requestBody,
          status,
          responseBody,
          injected,
          afterCommit,
        });

      if (tokenOf(req) !== token) {
        const body = { error: { detail: "Unauthorized: the API token is missing, invalid or expired." } };
        exchange(401, body);
        return send(res, 401, body, headers);
      }

      // Admin endpoints (not part of the Anyscale API; never fault-injected).
      if (url.pathname.startsWith("/_emulator/")) {
        const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        if (method === "POST" && url.pathname === "/_emulator/faults") {
          setFaults(body);
          return send(res, 200, { faults });
        }
        if (method === "GET" && url.pathname === "/_emulator/stats") {
          return send(res, 200, { ...stats, counters: state.counters });
        }
        const hist = /^\/_emulator\/services\/([^/]+)\/history$/.exec(url.pathname);
        if (method === "GET" && hist) {
          try {
            return send(res, 200, { versions: state.serviceHistory(hist[1]!) });
          } catch (e) {
            return send(res, 404, errorBody(e as ApiError));
          }
        }
        return send(res, 404, {
          error: { detail: `Unknown emulator admin route ${method} ${url.pathname}` },
        });
      }

      stats.requests += 1;
      if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));

      const match = routes
        .filter((r) => r.method === method)
        .map((r) => ({ r, m: r.pattern.exec(url.pathname) }))
        .find((x) => x.m !== null);
      if (!match) {
        const body = {
          error: { detail: `Not Found: ${method} ${url.pathname} is not implemented by the emulator` },
        };
        exchange(404, body);
        return send(res, 404, body, headers);
      }
      try {
        requestBody = raw ? JSON.parse(raw) : undefined;
      } catch {
        const body = {
          error: {
            message: "Invalid JSON body",
            detail: [{ loc: ["body"], msg: "invalid JSON", type: "value_error.jsondecode" }],
          },
        };
        exchange(422, body);
        return send(res, 422, body, headers);
      }

      // Fault injection: decide up front, so the outcome does not depend on the handler.
      let injected: number | undefined;
      let afterCommit = false;
      if (faults.rate && random() < faults.rate) {
        const statuses = faults.statuses ?? [429, 500, 502, 503];
        injected = statuses[Math.floor(random() * statuses.length)] ?? 500;
        afterCommit = injected !== 429 && injected !== 503 && random() < (faults.afterCommitShare ?? 0.5);
      }
      const injectedBody = (status: number) => ({
        error: {
          detail:
            status === 429
              ? "Too many requests (injected by the emulator)"
              : `Injected server error ${status}`,
        },
      });
      const injectedHeaders = (status: number): Record<string, string> =>
        status === 429 || status === 503
          ? { ...headers, "retry-after": String(faults.retryAfterSeconds ?? 0) }
          : headers;
      // Status 0 = drop the connection without an answer (a reset, as a client sees it).
      const fail = (status: number, after: boolean) => {
        stats.injected += 1;
        exchange(status, status === 0 ? undefined : injectedBody(status), true, after);
        if (status === 0) {
          res.socket?.destroy();
          return;
        }
        send(res, status, injectedBody(status), injectedHeaders(status));
      };
      if (injected !== undefined && !afterCommit) return fail(injected, false);

      let status: number;
      let body: unknown;
      try {
        const params = Object.fromEntries(
          match.r.keys.map((k, i) => [k, decodeURIComponent(match.m![i + 1]!)]),
        );
        const out = match.r.handler({ params, query, body: requestBody });
        status = out.status;
        body = out.body;
      } catch (e) {
        if (!(e instanceof ApiError)) {
          status = 500;
          body = { error: { detail: `Internal emulator error: ${(e as Error).message}` } };
        } else {
          status = e.status;
          body = errorBody(e);
        }
      }
      // The request took effect but the answer is lost: the dangerous case for a blind retry.
      if (injected !== undefined) return fail(injected, true);
      exchange(status, body);
      send(res, status, body, headers);
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { detail: `Internal emulator error: ${String(e)}` } });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    stats,
    setFaults,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
