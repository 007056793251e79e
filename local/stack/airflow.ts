// Airflow 3 from the project's .venv on loopback: API server, scheduler, DAG processor and triggerer with
// the LocalExecutor on SQLite (Airflow 3 accepts that pair; it replaced the SequentialExecutor with it).
// The migrated metadata database is cached per Airflow version, so only the first start pays for
// `airflow db migrate`. Login: the simple auth manager (Airflow 3's default), user `admin`, with the
// password Airflow generates into the passwords file.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { poll } from "./ports.js";
import { spawnManaged, type ManagedProcess } from "./processes.js";

const run = promisify(execFile);

export const AIRFLOW_USER = "admin";
/** Airflow components, in the order their readiness is reported. */
export const COMPONENTS = ["api-server", "scheduler", "dag-processor", "triggerer"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface AirflowPaths {
  repo: string;
  venv: string;
  home: string;
  dagsFolder: string;
  logDir: string;
  cacheDir: string;
  /** Where started group leaders are recorded (stopLeftovers). */
  pidFile: string;
}

export interface AirflowOptions extends AirflowPaths {
  port: number;
  /** Connections and endpoints (AIRFLOW_CONN_*, AWS_*, ANYSCALE_HOST, ...): the stack's wiring. */
  wiring: Record<string, string>;
  /** Extra AIRFLOW__* settings (e2e unpauses DAGs, tightens intervals). */
  config?: Record<string, string>;
}

export interface RunningAirflow {
  url: string;
  username: string;
  password: string;
  processes: ManagedProcess[];
  /** A bearer token for the REST API (`/api/v2/...`). */
  token(): Promise<string>;
  /** Waits until `expected` DAGs are in the metadata DB or a file failed to import (listed then). */
  dagsParsed(expected: number): Promise<{ dags: string[]; importErrors: string[] }>;
  stop(): Promise<void>;
}

/** Version of the installed apache-airflow-core (from its dist-info), the cache key of the migrated DB. */
export function airflowVersion(venv: string): string {
  const lib = join(venv, "lib");
  for (const py of readdirSync(lib)) {
    const site = join(lib, py, "site-packages");
    if (!existsSync(site)) continue;
    for (const entry of readdirSync(site)) {
      const m = /^apache_airflow_core-(.+)\.dist-info$/.exec(entry);
      if (m?.[1]) return m[1];
    }
  }
  throw new Error(`${venv}: apache-airflow-core is not installed (run npm run setup:python)`);
}

/** A Fernet key: 32 random bytes, url-safe base64. */
function fernetKey(): string {
  return randomBytes(32).toString("base64url") + "=";
}

export function airflowEnv(opts: AirflowOptions, secrets: Record<string, string>): NodeJS.ProcessEnv {
  const url = `http://127.0.0.1:${opts.port}`;
  return {
    PATH: `${join(opts.venv, "bin")}:${process.env.PATH ?? ""}`,
    HOME: process.env.HOME ?? opts.home,
    LANG: process.env.LANG ?? "C.UTF-8",
    TZ: "UTC",
    AIRFLOW_HOME: opts.home,
    AIRFLOW__CORE__DAGS_FOLDER: opts.dagsFolder,
    AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    AIRFLOW__CORE__EXECUTOR: "LocalExecutor",
    AIRFLOW__CORE__PARALLELISM: "4",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${join(opts.home, "airflow.db")}`,
    AIRFLOW__API__HOST: "127.0.0.1",
    AIRFLOW__API__PORT: String(opts.port),
    AIRFLOW__API__WORKERS: "1",
    AIRFLOW__API__BASE_URL: url,
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${AIRFLOW_USER}:admin`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: join(opts.home, "simple_auth_manager_passwords.json"),
    AIRFLOW__LOGGING__BASE_LOG_FOLDER: join(opts.home, "logs"),
    // Two cores: one parser process is enough for three DAG files.
    AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES: "1",
    AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: "False",
    // Local jobs and services take seconds: the runtime's triggers poll the emulator every second at most.
    AIRFLOW__LLM_PLATFORM__MAX_POLL_INTERVAL_SECONDS: "1",
    ...secrets,
    ...opts.wiring,
    ...opts.config,
  };
}

/** The migrated SQLite DB for this Airflow version: made once with `airflow db migrate`, then copied. */
async function metadataDb(opts: AirflowOptions, env: NodeJS.ProcessEnv): Promise<"cached" | "migrated"> {
  const cached = join(opts.cacheDir, `airflow-${airflowVersion(opts.venv)}.db`);
  const target = join(opts.home, "airflow.db");
  if (existsSync(cached)) {
    copyFileSync(cached, target);
    return "cached";
  }
  mkdirSync(opts.cacheDir, { recursive: true });
  await run(join(opts.venv, "bin", "airflow"), ["db", "migrate"], { env, cwd: opts.home, timeout: 300_000 });
  const partial = `${cached}.${process.pid}.tmp`;
  copyFileSync(target, partial);
  renameSync(partial, cached); // atomic: a concurrent start never copies a half-written cache
  return "migrated";
}

interface Health {
  metadatabase?: { status?: string | null };
  scheduler?: { status?: string | null };
  triggerer?: { status?: string | null };
  dag_processor?: { status?: string | null };
}

/**
 * Command lines. The scheduler and triggerer would each start a log server on 0.0.0.0:8793/8794; it only
 * serves log files to an API server on another machine, and here the API server reads them from disk.
 */
const COMMANDS: Record<Component, (port: number) => string[]> = {
  "api-server": (port) => ["api-server", "--port", String(port), "--host", "127.0.0.1"],
  scheduler: () => ["scheduler", "--skip-serve-logs"],
  "dag-processor": () => ["dag-processor"],
  triggerer: () => ["triggerer", "--skip-serve-logs"],
};

const HEALTH_KEY: Record<Component, keyof Health> = {
  "api-server": "metadatabase",
  scheduler: "scheduler",
  "dag-processor": "dag_processor",
  triggerer: "triggerer",
};

export async function startAirflow(
  opts: AirflowOptions,
  onReady: (component: Component | "metadata db", detail: string) => void,
): Promise<RunningAirflow> {
  mkdirSync(opts.home, { recursive: true });
  mkdirSync(opts.logDir, { recursive: true });
  // An airflow.cfg of our own, so four components starting at once do not each write a generated one.
  writeFileSync(
    join(opts.home, "airflow.cfg"),
    "# Settings come from AIRFLOW__* variables (local/stack/airflow.ts).\n",
  );
  const secrets = {
    AIRFLOW__API_AUTH__JWT_SECRET: randomBytes(32).toString("hex"),
    AIRFLOW__API__SECRET_KEY: randomBytes(32).toString("hex"),
    AIRFLOW__CORE__FERNET_KEY: fernetKey(),
  };
  const env = airflowEnv(opts, secrets);
  const db = await metadataDb(opts, env);
  onReady("metadata db", db === "cached" ? "SQLite (cached migration)" : "SQLite (migrated)");

  const airflow = join(opts.venv, "bin", "airflow");
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  try {
    for (const component of COMPONENTS) {
      processes.push(
        spawnManaged(`airflow ${component}`, airflow, COMMANDS[component](opts.port), {
          env,
          // The repository root: jobs' working_dir (pipelines/workloads) is relative to it, as in `npm run` scripts.
          cwd: opts.repo,
          logFile: join(opts.logDir, `airflow-${component}.log`),
          pidFile: opts.pidFile,
        }),
      );
    }
    const dead = () => {
      const gone = processes.find((p) => !p.running);
      return gone ? `${gone.name} exited (log: ${gone.logFile})` : undefined;
    };
    const url = `http://127.0.0.1:${opts.port}`;
    const pending = new Set<Component>(COMPONENTS);
    await poll(
      async () => {
        const res = await fetch(`${url}/api/v2/monitor/health`, { signal: AbortSignal.timeout(3000) });
        if (!res.ok) return undefined;
        const health = (await res.json()) as Health;
        for (const component of COMPONENTS) {
          if (pending.has(component) && health[HEALTH_KEY[component]]?.status === "healthy") {
            pending.delete(component);
            onReady(component, component === "api-server" ? url : "heartbeat");
          }
        }
        return pending.size === 0 ? true : undefined;
      },
      { what: "airflow", timeoutMs: 180_000, intervalMs: 300, alive: dead },
    );
    const password = readPassword(env.AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE as string);
    const token = async () => {
      const res = await fetch(`${url}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: AIRFLOW_USER, password }),
      });
      if (!res.ok) throw new Error(`airflow: POST /auth/token answered ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const dagsParsed = async (expected: number) => {
      const headers = { authorization: `Bearer ${await token()}` };
      const get = async <T>(path: string): Promise<T> => {
        const res = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`airflow: GET ${path} answered ${res.status}`);
        return (await res.json()) as T;
      };
      return poll(
        async () => {
          const { dags } = await get<{ dags: { dag_id: string }[] }>("/api/v2/dags?limit=100");
          const { import_errors } = await get<{ import_errors: { filename: string; stack_trace: string }[] }>(
            "/api/v2/importErrors",
          );
          const importErrors = import_errors.map(
            (e) => `${e.filename}: ${e.stack_trace.trim().split("\n").at(-1) ?? ""}`,
          );
          if (dags.length < expected && importErrors.length === 0) return undefined;
          return { dags: dags.map((d) => d.dag_id).sort(), importErrors };
        },
        { what: "airflow dags", timeoutMs: 120_000, intervalMs: 500, alive: dead },
      );
    };
    return { url, username: AIRFLOW_USER, password, processes, token, dagsParsed, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function readPassword(file: string): string {
  const passwords = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const password = passwords[AIRFLOW_USER];
  if (!password) throw new Error(`${file}: no password for ${AIRFLOW_USER}`);
  return password;
}

/** Removes an AIRFLOW_HOME left by an earlier run (the stack starts from a fresh metadata DB). */
export function resetHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}
