// Runs what the control plane accepts, on this machine: jobs as local processes (jobProcess.ts), service versions
// as local servers (versionServer.ts) behind one query router per service (router.ts). Everything lives under one
// work dir: uploaded packages, each job's and version's unpacked working dir and its logs.
// Images and requirements are recorded, not installed: every process runs in the project's .venv.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { components } from "../../infra/anyscale/schema.generated.js";
import { LocalJob } from "./jobProcess.js";
import { PackageStore } from "./packages.js";
import { ServiceRouter, type RoutingTable } from "./router.js";
import type { Runtime } from "./state.js";
import { VersionServer } from "./versionServer.js";

type S = components["schemas"];

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const DEFAULT_VENV = join(REPO, ".venv");
export const DEFAULT_WORKLOADS_DIR = join(REPO, "pipelines", "workloads");

/** Variables of the emulator's own environment a job or service inherits; everything else stays out. */
const INHERITED = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL"];
/** Prefixes passed through as well: the local stack's S3 endpoint and credentials (moto). */
const INHERITED_PREFIXES = ["AWS_"];

export interface LocalRuntimeOptions {
  /** Where packages, unpacked working dirs and logs go. */
  readonly workDir: string;
  /** The virtualenv whose bin/ comes first on PATH (`python` in an entrypoint is its python). */
  readonly venv: string;
  /** Put on PYTHONPATH after the working dir, so `llm_workloads.testing.local_service` is importable. */
  readonly workloadsDir: string;
  /** Scenario file the version servers play (see llm_workloads/testing/local_service.py). */
  readonly scenarioPath?: string;
  /** Extra variables for every job and service (the local stack's endpoints); they win over a job's env_vars. */
  readonly env: Record<string, string>;
  /** Base environment to inherit from (default process.env). */
  readonly inheritFrom?: NodeJS.ProcessEnv;
  readonly healthTimeoutMs: number;
  readonly emulatorUrl: () => string;
  readonly token: string;
  readonly now: () => number;
}

function inherited(from: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v !== undefined && (INHERITED.includes(k) || INHERITED_PREFIXES.some((p) => k.startsWith(p))))
      out[k] = v;
  }
  return out;
}

/** One process the runtime started: a job (all its attempts) or a service version's server. */
export interface RuntimeProcess {
  readonly kind: "job" | "version";
  /** Job id, or service version id. */
  readonly id: string;
  /** Job name, or service name. */
  readonly name: string;
  /** Service version name (versions only). */
  readonly version?: string;
  readonly alive: boolean;
  readonly startedMs?: number;
  readonly endedMs?: number;
}

export class LocalRuntime implements Runtime {
  readonly packages: PackageStore;
  readonly #jobs: LocalJob[] = [];
  readonly #servers: VersionServer[] = [];
  readonly #labels = new Map<LocalJob | VersionServer, { id: string; name: string; version?: string }>();
  readonly #routers: ServiceRouter[] = [];
  #onChange: () => void = () => {};

  constructor(readonly opts: LocalRuntimeOptions) {
    mkdirSync(opts.workDir, { recursive: true });
    this.packages = new PackageStore(opts.workDir, opts.emulatorUrl, join(opts.venv, "bin", "python"));
    if (!existsSync(join(opts.venv, "bin", "python"))) {
      throw new Error(`venv ${opts.venv}: no bin/python (build it with \`bash scripts/ensure-venv.sh\`)`);
    }
    if (opts.scenarioPath) this.#checkScenario(opts.scenarioPath);
  }

  /** A bad scenario stops the start-up with the validator's message (naming the file and the field). */
  #checkScenario(path: string): void {
    const args = ["-m", "llm_workloads.testing.local_service", "--check", "--scenario", path];
    const env = { ...process.env, PYTHONPATH: this.opts.workloadsDir };
    const res = spawnSync(this.python, args, { env, encoding: "utf8" });
    if (res.status !== 0) {
      const why = (res.stderr || res.error?.message || "").trim().replace(/^local_service: /, "");
      throw new Error(`--scenario: ${why}`);
    }
  }

  /** Called after any job or server changes state (the emulator re-evaluates rollouts). */
  set onChange(fn: () => void) {
    this.#onChange = fn;
  }

  #notify(onChange: () => void): () => void {
    return () => {
      onChange();
      this.#onChange();
    };
  }

  get python(): string {
    return join(this.opts.venv, "bin", "python");
  }

  /** The environment of a process: inherited basics, the workload's env_vars, then the local stack's. */
  environment(cwd: string, workloadEnv: Record<string, string> | null | undefined): Record<string, string> {
    const base = inherited(this.opts.inheritFrom ?? process.env);
    const venvBin = join(this.opts.venv, "bin");
    return {
      ...base,
      ...(workloadEnv ?? {}),
      ...this.opts.env,
      ANYSCALE_HOST: this.opts.emulatorUrl(),
      ANYSCALE_CLI_TOKEN: this.opts.token,
      LLM_LOCAL_STACK: "1",
      VIRTUAL_ENV: this.opts.venv,
      PATH: [venvBin, base.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(":"),
      PYTHONPATH: [cwd, this.opts.workloadsDir].join(":"),
      PYTHONUNBUFFERED: "1",
    };
  }

  #prepare(dir: string, workingDirUri: string | null | undefined): () => Promise<string> {
    return async () => {
      const dest = join(dir, "working_dir");
      if (!workingDirUri) {
        mkdirSync(dest, { recursive: true });
        return dest;
      }
      return this.packages.unpack(workingDirUri, dest);
    };
  }

  startJob(job: S["InternalProductionJob"], onChange: () => void): LocalJob {
    const runtimeEnv = job.config.runtime_env;
    const dir = join(this.opts.workDir, "jobs", job.id);
    const pip = runtimeEnv?.pip ?? [];
    const build = job.config.build_id;
    const preamble = [
      `emulator: job ${job.name} (${job.id}) runs locally in ${this.opts.venv}; image (build ${build}) not pulled`,
      ...(pip.length > 0 ? [`emulator: requirements recorded, not installed: ${pip.join(" ")}`] : []),
    ];
    const env = (cwd: string) => ({
      ...this.environment(cwd, runtimeEnv?.env_vars),
      ANYSCALE_JOB_ID: job.id,
      ANYSCALE_JOB_RUN_ID: local.attempts.at(-1)?.id ?? "",
    });
    const local: LocalJob = new LocalJob({
      jobId: job.id,
      entrypoint: job.config.entrypoint ?? "",
      prepare: this.#prepare(dir, runtimeEnv?.working_dir),
      env,
      maxRetries: job.config.max_retries ?? 1,
      timeoutS: job.config.timeout_s,
      preamble,
      dir,
      now: this.opts.now,
      onChange: this.#notify(onChange),
    });
    this.#jobs.push(local);
    this.#labels.set(local, { id: job.id, name: job.name });
    return local;
  }

  startVersion(
    service: { id: string; name: string },
    version: S["DecoratedProductionServiceV2VersionAPIModel"],
    neverHealthy: boolean,
    onChange: () => void,
  ): VersionServer {
    const app = firstApplication(version.ray_serve_config);
    const args = (app?.args ?? {}) as Record<string, unknown>;
    const modelId =
      typeof args.model_id === "string" && args.model_id
        ? args.model_id
        : typeof args.base_model === "string" && args.base_model
          ? args.base_model
          : undefined;
    const runtimeEnv = (app?.runtime_env ?? {}) as {
      working_dir?: string;
      env_vars?: Record<string, string>;
    };
    const dir = join(this.opts.workDir, "services", service.id, version.id);
    const alias =
      typeof args.model_alias === "string" && typeof args.alias_adapter === "string"
        ? { name: args.model_alias, adapter: args.alias_adapter }
        : undefined;
    const server = new VersionServer({
      python: this.python,
      prepare: this.#prepare(dir, runtimeEnv.working_dir),
      modelId,
      ...(alias ? { alias } : {}),
      versionName: version.version,
      scenarioPath: this.opts.scenarioPath,
      neverHealthy,
      env: this.environment(join(dir, "working_dir"), runtimeEnv.env_vars),
      dir,
      healthTimeoutMs: this.opts.healthTimeoutMs,
      onChange: this.#notify(onChange),
    });
    this.#servers.push(server);
    this.#labels.set(server, { id: version.id, name: service.name, version: version.version });
    return server;
  }

  async newRouter(table: () => RoutingTable): Promise<ServiceRouter> {
    const router = new ServiceRouter(table);
    await router.listen();
    this.#routers.push(router);
    return router;
  }

  /**
   * Every process started so far, alive or not: what an outside observer (the e2e) reads to prove nothing was
   * left running. A job is alive until it is terminal and its process group is gone.
   */
  inventory(): RuntimeProcess[] {
    const jobs = this.#jobs.map((j): RuntimeProcess => {
      const first = j.attempts[0];
      const last = j.attempts.at(-1);
      const terminal = ["SUCCESS", "OUT_OF_RETRIES", "TERMINATED"].includes(j.state);
      return {
        kind: "job",
        ...(this.#labels.get(j) as { id: string; name: string }),
        alive: !terminal || last?.status === "RUNNING",
        ...(first ? { startedMs: first.startedMs } : {}),
        ...(terminal && last?.finishedMs !== undefined ? { endedMs: last.finishedMs } : {}),
      };
    });
    const versions = this.#servers.map((s): RuntimeProcess => ({
      kind: "version",
      ...(this.#labels.get(s) as { id: string; name: string; version: string }),
      alive: s.alive,
      ...s.lifetime,
    }));
    return [...jobs, ...versions];
  }

  /** Kill every job's process group and every version server, close the routers; resolves when all are gone. */
  async close(): Promise<void> {
    for (const j of this.#jobs) j.terminate();
    await Promise.all([
      ...this.#jobs.map((j) => j.settled),
      ...this.#servers.map((s) => s.stop(1000)),
      ...this.#routers.map((r) => r.close()),
    ]);
  }
}

function firstApplication(
  rayServeConfig: Record<string, unknown>,
): { args?: unknown; runtime_env?: unknown } | undefined {
  const apps = rayServeConfig.applications;
  return Array.isArray(apps) && apps.length > 0 && typeof apps[0] === "object" && apps[0] !== null
    ? (apps[0] as { args?: unknown; runtime_env?: unknown })
    : undefined;
}
