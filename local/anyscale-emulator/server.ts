// Local Anyscale API emulator on plain node:http, implementing the paths of infra/anyscale/openapi.yaml
// (routes.ts) over EmulatorState, with jobs and services run for real by a LocalRuntime (or simulated on timers).
// Auth: `Authorization: Bearer <token>` (our client) or `Cookie: cli_token=<token>` (the anyscale Python SDK).
// Storage URLs (not API routes, as on Anyscale, where they are S3 presigned URLs): `PUT /_storage/runtime_env_
// packages/<zip>?signature=…` (the working-dir upload) and `GET /_storage/logs/<run>?offset&length` (a log
// chunk, with the bearer token the logs route hands out).
// Faults (options or `POST /_emulator/faults`): latency, a share of 429/5xx answers (429/503 always before the
// request is processed; other 5xx after it with probability `afterCommitShare`, the case that makes blind
// retries of creates dangerous), failing jobs and never-healthy services by name.
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_VENV, DEFAULT_WORKLOADS_DIR, LocalRuntime } from "./localRuntime.js";
import { buildRoutes } from "./routes.js";
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
  /**
   * "local" (default): job entrypoints run as local processes and service versions as local servers;
   * "simulated": jobs and services move through their states on timers (jobSchedule / serviceSchedule).
   */
  runtime?: "local" | "simulated";
  /** Work dir for uploaded packages, unpacked working dirs and logs (default: a temp dir removed on close). */
  workDir?: string;
  /** Virtualenv jobs and services run in (default: the repository's .venv). */
  venv?: string;
  /** Folder put on PYTHONPATH after the working dir (default: pipelines/workloads of this repository). */
  workloadsDir?: string;
  /** Scenario file for the service versions' model behaviour (llm_workloads/testing/local_service.py). */
  scenarioPath?: string;
  /** Extra env for every job and service (the local stack's endpoints; wins over a job's env_vars). */
  env?: Record<string, string>;
  /** A version not healthy within this many ms is UNHEALTHY (default 30000). */
  healthTimeoutMs?: number;
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
  /** The local runtime (undefined when simulated). */
  readonly runtime: LocalRuntime | undefined;
  /** The work dir (undefined when simulated). */
  readonly workDir: string | undefined;
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

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length);
  const cookie = req.headers.cookie;
  const m = cookie ? /(?:^|;\s*)cli_token=([^;]+)/.exec(cookie) : null;
  return m?.[1];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Largest log chunk handed out (chunks end at a line break, so the SDK's per-chunk splitlines stays right). */
const LOG_CHUNK_BYTES = 256 * 1024;

function logChunks(path: string): { offset: number; length: number }[] {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return [];
  }
  const fd = openSync(path, "r");
  try {
    const chunks: { offset: number; length: number }[] = [];
    let offset = 0;
    while (offset < size) {
      const length = Math.min(LOG_CHUNK_BYTES, size - offset);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset);
      const cut = offset + length < size ? buf.lastIndexOf(0x0a) + 1 : length;
      const take = cut > 0 ? cut : length;
      chunks.push({ offset, length: take });
      offset += take;
    }
    return chunks;
  } finally {
    closeSync(fd);
  }
}

function readRange(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
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
  let baseUrl = "";
  const ownWorkDir = opts.runtime !== "simulated" && opts.workDir === undefined;
  const workDir =
    opts.runtime === "simulated"
      ? undefined
      : (opts.workDir ?? mkdtempSync(join(tmpdir(), "anyscale-emulator-")));
  const makeRuntime = (dir: string) => {
    try {
      return new LocalRuntime({
        workDir: dir,
        venv: opts.venv ?? DEFAULT_VENV,
        workloadsDir: opts.workloadsDir ?? DEFAULT_WORKLOADS_DIR,
        scenarioPath: opts.scenarioPath,
        env: opts.env ?? {},
        healthTimeoutMs: opts.healthTimeoutMs ?? 30_000,
        emulatorUrl: () => baseUrl,
        token,
        now,
      });
    } catch (e) {
      if (ownWorkDir) rmSync(dir, { recursive: true, force: true }); // nothing half-made is left
      throw e;
    }
  };
  const runtime = workDir === undefined ? undefined : makeRuntime(workDir);
  const state = new EmulatorState({
    clouds: opts.clouds ?? DEFAULT_CLOUDS,
    jobSchedule: { pendingMs: 200, runningMs: 500, ...opts.jobSchedule },
    serviceSchedule: { startMs: 300, rolloutMs: runtime ? 0 : 500, ...opts.serviceSchedule },
    now,
    runtime,
  });
  if (runtime) runtime.onChange = () => state.tick();
  // The bearer token of log chunk URLs (as Anyscale hands one out with the chunk list).
  const logToken = randomBytes(18).toString("base64url");
  const jobLogs = (runId: string, pageToken: string | undefined, pageSize: number) => {
    const attempt = state.localAttempt(runId);
    if (!attempt) {
      return state.hasJobRun(runId)
        ? { log_chunks: [], next_page_token: null, bearer_token: logToken }
        : undefined;
    }
    const all = logChunks(attempt.logPath);
    const from = Number(pageToken ?? 0) || 0;
    const page = all.slice(from, from + pageSize);
    return {
      log_chunks: page.map((c, i) => ({
        cluster_id: `ses_${runId.slice(-8)}`,
        chunk_name: `${runId}-${from + i}`,
        chunk_url: `${baseUrl}/_storage/logs/${encodeURIComponent(runId)}?offset=${c.offset}&length=${c.length}`,
        size: c.length,
        file_name: "job-driver.log",
        node_type: "head-node",
        node_ip: "127.0.0.1",
        instance_id: "local",
        session_id: `ses_${runId.slice(-8)}`,
      })),
      next_page_token: from + pageSize < all.length ? String(from + pageSize) : null,
      bearer_token: logToken,
    };
  };
  const random = prng(opts.seed ?? 42);
  let faults: FaultOptions = {};
  const setFaults = (f: FaultOptions) => {
    faults = { ...faults, ...f };
    // A list that is given replaces the one in force (an empty list clears it); one left out is kept.
    const replace = (set: Set<string>, names: readonly string[] | undefined) => {
      if (names === undefined) return;
      set.clear();
      for (const n of names) set.add(n);
    };
    replace(state.failingJobNames, f.failingJobNames);
    replace(state.unhealthyServiceNames, f.unhealthyServiceNames);
    replace(state.templatesInUse, f.templatesInUse);
  };
  setFaults(opts.faults ?? {});
  const routes = buildRoutes(state, {
    packages: runtime?.packages,
    jobLogs,
    newRouter: runtime ? (id) => runtime.newRouter(() => state.routingTable(id())) : undefined,
  });
  const stats = { requests: 0, injected: 0 };
  let requestSeq = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const requestId = `emu-${(++requestSeq).toString(16).padStart(8, "0")}`;
      const headers = { "x-request-id": requestId };
      const bytes = await readBody(req);
      const raw = bytes.toString("utf8");
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

      // Storage URLs: signed (uploads) or behind the logs' bearer token, not the API token.
      if (url.pathname.startsWith("/_storage/")) {
        const pkg = /^\/_storage\/runtime_env_packages\/([^/]+)$/.exec(url.pathname);
        if (method === "PUT" && pkg && runtime) {
          const ok = runtime.packages.put(decodeURIComponent(pkg[1]!), query.signature ?? "", bytes);
          return ok
            ? send(res, 200, undefined)
            : send(res, 403, { error: { detail: "The upload URL's signature does not match." } });
        }
        const log = /^\/_storage\/logs\/([^/]+)$/.exec(url.pathname);
        if (method === "GET" && log) {
          if (req.headers.authorization !== `Bearer ${logToken}`) {
            return send(res, 403, { error: { detail: "Missing or wrong bearer token for log chunks." } });
          }
          const attempt = state.localAttempt(decodeURIComponent(log[1]!));
          if (!attempt) return send(res, 404, { error: { detail: `No logs for ${log[1]}` } });
          const data = readRange(attempt.logPath, Number(query.offset ?? 0), Number(query.length ?? 0));
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": data.length });
          return res.end(data);
        }
        return send(res, 404, { error: { detail: `Not Found: ${method} ${url.pathname}` } });
      }

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
        if (method === "GET" && url.pathname === "/_emulator/processes") {
          return send(res, 200, { processes: runtime?.inventory() ?? [] });
        }
        const svc = /^\/_emulator\/services\/([^/]+)\/(history|processes)$/.exec(url.pathname);
        if (method === "GET" && svc) {
          try {
            const id = svc[1]!;
            return send(res, 200, {
              versions: svc[2] === "history" ? state.serviceHistory(id) : state.servicePids(id),
            });
          } catch (e) {
            return send(res, 404, errorBody(e as ApiError));
          }
        }
        const job = /^\/_emulator\/jobs\/([^/]+)$/.exec(url.pathname);
        if (method === "GET" && job) {
          const local = state.localJob(job[1]!);
          if (!local) return send(res, 404, { error: { detail: `No local job ${job[1]}` } });
          return send(res, 200, {
            state: local.state,
            working_dir: local.cwd ?? null,
            attempts: local.attempts.map((a) => ({
              id: a.id,
              status: a.status,
              exit_code: a.exitCode ?? null,
              signal: a.signal ?? null,
              timed_out: a.timedOut ?? false,
            })),
          });
        }
        return send(res, 404, {
          error: { detail: `Unknown emulator admin route ${method} ${url.pathname}` },
        });
      }

      stats.requests += 1;
      if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));

      // A literal segment wins over a parameter (`/cluster_environment_builds/default` before `/{id}`).
      const match = routes
        .filter((r) => r.method === method)
        .map((r) => ({ r, m: r.pattern.exec(url.pathname) }))
        .filter((x) => x.m !== null)
        .sort((a, b) => a.r.keys.length - b.r.keys.length)[0];
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
        const out = await match.r.handler({ params, query, body: requestBody });
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
  baseUrl = `http://127.0.0.1:${port}`;
  // Time-driven parts of a rollout (a canary ramping without a held percent) advance without a reader.
  const ticker = runtime ? setInterval(() => state.tick(), 200) : undefined;
  ticker?.unref();
  let closing: Promise<void> | undefined;
  const close = async () => {
    clearInterval(ticker);
    await new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    });
    // No process is left behind: job process groups, version servers and routers go with the emulator.
    await runtime?.close();
    if (ownWorkDir && workDir) rmSync(workDir, { recursive: true, force: true });
  };
  return {
    url: baseUrl,
    port,
    state,
    runtime,
    workDir,
    stats,
    setFaults,
    close: () => (closing ??= close()),
  };
}
