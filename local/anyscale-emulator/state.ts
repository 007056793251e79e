// In-memory Anyscale control-plane state: clouds, projects, compute-template versions, builds, jobs and services.
// Jobs and services run in one of two ways:
// - with a `LocalRuntime` (the default of startEmulator): a job's entrypoint runs as a local process and its state
//   follows the process; each service version is a local server, and the state follows its health checks;
// - simulated (no runtime; kept for the client's unit tests): time-driven state machines evaluated lazily from a
//   clock, so a job created at t0 reads PENDING until t0+pendingMs, RUNNING until t0+pendingMs+runningMs, then
//   SUCCESS (or OUT_OF_RETRIES when it is set to fail).
// State names are the REST API's (HaJobStates, ServiceEventCurrentState, ServiceVersionState), not the SDK's.
import { randomBytes } from "node:crypto";
import type { components } from "../../infra/anyscale/schema.generated.js";
import type { LocalJob } from "./jobProcess.js";
import type { RoutingTable, ServiceRouter } from "./router.js";
import type { VersionServer } from "./versionServer.js";

type S = components["schemas"];
export type HaJobState = S["HaJobStates"];
export type ServiceState = S["ServiceEventCurrentState"];
export type ServiceVersionState = S["ServiceVersionState"];

export interface JobSchedule {
  /** ms in PENDING before RUNNING (default 200). */
  readonly pendingMs: number;
  /** ms in RUNNING before SUCCESS / OUT_OF_RETRIES (default 500). */
  readonly runningMs: number;
}

export interface ServiceSchedule {
  /** ms from create (STARTING) to RUNNING, or to UNHEALTHY for a service that never becomes healthy. */
  readonly startMs: number;
  /** ms a rollout spends in ROLLING_OUT before the new version takes all traffic (without a held canary). */
  readonly rolloutMs: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | S["ValidationErrorItem"][],
    readonly readable?: string,
  ) {
    super(typeof detail === "string" ? detail : (readable ?? "validation error"));
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`);
export const invalid = (loc: (string | number)[], msg: string) =>
  new ApiError(
    422,
    [{ loc: ["body", ...loc], msg, type: "value_error" }],
    `Invalid request: ${loc.join(".")}: ${msg}`,
  );

export const EMULATOR_USER: S["MiniUser"] = {
  id: "usr_emulator",
  name: "Emulator",
  username: "emulator",
  email: "emulator@example.invalid",
};
export const EMULATOR_ORG_ID = "org_emulator";
export const EMULATOR_IMAGE = { id: "apt_emulator", name: "emulator-image" } as const;
/** What the default build "is" (the image is recorded, never pulled: jobs run in the project's .venv). */
export const DEFAULT_IMAGE_URI = "anyscale/ray:2.44.0-slim-py311";

export interface CloudSeed {
  readonly id: string;
  readonly name: string;
  readonly provider?: S["CloudProviders"];
  readonly region?: string;
  readonly isDefault?: boolean;
}

interface StoredTemplate {
  template: S["ComputeTemplate"];
}

interface StoredJob {
  job: S["InternalProductionJob"];
  createdMs: number;
  fails: boolean;
  terminatedAtMs?: number;
  /** The local processes running it (LocalRuntime mode). */
  local?: LocalJob;
}

interface StoredVersion {
  model: S["DecoratedProductionServiceV2VersionAPIModel"];
  createdMs: number;
  healthy: boolean;
  /** Traffic share requested for a canary (undefined = ramp to 100). */
  canaryPercent?: number;
  /** The local server playing it (LocalRuntime mode) and when it first became healthy. */
  server?: VersionServer;
  runningSinceMs?: number;
}

/** What runs jobs and service versions for real (implemented by localRuntime.ts). */
export interface Runtime {
  startJob(job: S["InternalProductionJob"], onChange: () => void): LocalJob;
  startVersion(
    service: { id: string; name: string },
    version: S["DecoratedProductionServiceV2VersionAPIModel"],
    neverHealthy: boolean,
    onChange: () => void,
  ): VersionServer;
  /** A query router (listening) whose routing table is read on every request. */
  newRouter(table: () => RoutingTable): Promise<ServiceRouter>;
}

export interface ApplyRecord {
  version: string;
  /** Set on the record a rollback adds (the version that keeps serving). */
  rollback?: true;
  /** canary_percent of that apply (null: not given; ignored on the apply that creates the service). */
  canaryPercent: number | null;
  computeConfigId: string;
}

const record = (v: StoredVersion, canaryPercent: number | null | undefined): ApplyRecord => ({
  version: v.model.version,
  canaryPercent: canaryPercent ?? null,
  computeConfigId: v.model.compute_config_id,
});

interface StoredService {
  id: string;
  name: string;
  projectId: string;
  cloudId: string;
  createdAt: string;
  createdMs: number;
  terminatedAtMs?: number;
  authToken: string | null;
  router?: ServiceRouter;
  primary: StoredVersion;
  canary?: StoredVersion;
  /** Every apply, in order: the version, its requested canary percent, its compute config. */
  history: ApplyRecord[];
}

export interface StateOptions {
  readonly clouds: readonly CloudSeed[];
  readonly jobSchedule: JobSchedule;
  readonly serviceSchedule: ServiceSchedule;
  readonly now: () => number;
  /** Runs jobs and services for real; absent = simulated on timers. */
  readonly runtime?: Runtime;
}

export class EmulatorState {
  readonly clouds: S["Cloud"][];
  readonly projects: S["Project"][];
  readonly templates: StoredTemplate[] = [];
  readonly jobs: StoredJob[] = [];
  readonly services: StoredService[] = [];
  /** Counters of state-changing calls that took effect (for tests: "no create happened twice"). */
  readonly counters = { computeTemplateCreates: 0, jobCreates: 0, serviceApplies: 0, archives: 0 };
  /** Job names (exact) that fail; service names that never become healthy; compute-template ids in use. */
  readonly failingJobNames = new Set<string>();
  readonly unhealthyServiceNames = new Set<string>();
  readonly templatesInUse = new Set<string>();
  #seq = 0;

  constructor(readonly opts: StateOptions) {
    const created = new Date(opts.now()).toISOString();
    this.clouds = opts.clouds.map((c) => ({
      id: c.id,
      name: c.name,
      provider: c.provider ?? "AWS",
      compute_stack: "VM",
      region: c.region ?? "us-west-2",
      credentials: "",
      type: "PUBLIC",
      creator_id: EMULATOR_USER.id,
      created_at: created,
      is_default: c.isDefault ?? false,
      customer_aggregated_logs_config_id: "",
      state: "ACTIVE",
    }));
    this.projects = this.clouds.map((c, i) => ({
      id: `prj_default${i + 1}`,
      name: "default",
      description: `Default project of ${c.name}`,
      parent_cloud_id: c.id,
      created_at: created,
      creator_id: EMULATOR_USER.id,
      is_owner: true,
      is_read_only: false,
      directory_name: "default",
      is_default: true,
    }));
  }

  #id(prefix: string): string {
    this.#seq += 1;
    return `${prefix}_${this.#seq.toString(36).padStart(6, "0")}`;
  }

  #iso(ms = this.opts.now()): string {
    return new Date(ms).toISOString();
  }

  // ---------------- clouds / projects ----------------

  cloudById(id: string): S["Cloud"] {
    const c = this.clouds.find((x) => x.id === id);
    if (!c) throw notFound(`Cloud '${id}'`);
    return c;
  }

  cloudByName(name: string): S["Cloud"] {
    const c = this.clouds.find((x) => x.name === name);
    if (!c) throw notFound(`Cloud with name '${name}'`);
    return c;
  }

  defaultCloud(): S["Cloud"] {
    const c = this.clouds.find((x) => x.is_default) ?? this.clouds[0];
    if (!c) throw notFound("Default cloud");
    return c;
  }

  projectById(id: string): S["Project"] {
    const p = this.projects.find((x) => x.id === id);
    if (!p) throw notFound(`Project '${id}'`);
    return p;
  }

  defaultProject(cloudId: string): S["Project"] {
    this.cloudById(cloudId);
    const p = this.projects.find((x) => x.parent_cloud_id === cloudId && x.is_default);
    if (!p) throw notFound(`Default project for cloud '${cloudId}'`);
    return p;
  }

  #miniProject(id: string): S["MiniProject"] {
    const p = this.projectById(id);
    return { id: p.id, name: p.name, directory_name: p.directory_name, is_default: p.is_default };
  }

  // ---------------- compute templates ----------------

  createTemplate(body: S["CreateComputeTemplate"]): S["ComputeTemplate"] {
    const cfg = body.config;
    if (!body.anonymous && !body.name) throw invalid(["name"], "a name is required unless anonymous is true");
    if (body.name?.includes(":"))
      throw invalid(["name"], "the name must not contain ':' (no version tag on create)");
    this.cloudById(cfg.cloud_id);
    if (!cfg.head_node_type.instance_type)
      throw invalid(["config", "head_node_type", "instance_type"], "field required");
    cfg.worker_node_types?.forEach((w, i) => {
      if ((w.min_workers ?? 0) > (w.max_workers ?? Number.MAX_SAFE_INTEGER)) {
        throw invalid(
          ["config", "worker_node_types", i, "max_workers"],
          "max_workers must be >= min_workers",
        );
      }
    });
    if (body.project_id) this.projectById(body.project_id);
    const name = body.name ?? this.#id("anonymous");
    const lineage = this.templates.filter(
      (t) => t.template.name === name && t.template.config.cloud_id === cfg.cloud_id,
    );
    if (lineage.some((t) => t.template.archived_at)) {
      throw new ApiError(409, `Compute config '${name}' is archived; its name can no longer be used.`);
    }
    if (lineage.length > 0 && !body.new_version) {
      throw new ApiError(
        409,
        `Compute config '${name}' already exists; set new_version to create a new version.`,
      );
    }
    const now = this.#iso();
    const template: S["ComputeTemplate"] = {
      id: this.#id("cpt"),
      name,
      creator_id: EMULATOR_USER.id,
      organization_id: EMULATOR_ORG_ID,
      project_id: body.project_id ?? null,
      created_at: now,
      last_modified_at: now,
      deleted_at: null,
      archived_at: null,
      // As the API does: an empty zone list reads back as ["any"], region is filled in.
      config: {
        ...structuredClone(cfg),
        allowed_azs: cfg.allowed_azs ?? ["any"],
        region: this.cloudById(cfg.cloud_id).region,
      },
      version: lineage.length + 1,
      anonymous: body.anonymous ?? false,
    };
    this.templates.push({ template });
    this.counters.computeTemplateCreates += 1;
    return structuredClone(template);
  }

  decorateTemplate(t: S["ComputeTemplate"]): S["DecoratedComputeTemplate"] {
    const cloud = this.cloudById(t.config.cloud_id);
    return {
      ...structuredClone(t),
      config: {
        ...structuredClone(t.config),
        cloud: { id: cloud.id, name: cloud.name, provider: cloud.provider },
      },
      creator: EMULATOR_USER,
    };
  }

  templateById(id: string): S["ComputeTemplate"] {
    const t = this.templates.find((x) => x.template.id === id);
    if (!t) throw notFound(`Compute template '${id}'`);
    return t.template;
  }

  searchTemplates(q: S["ComputeTemplateQuery"]): S["ComputeTemplate"][] {
    const archive = q.archive_status ?? "NOT_ARCHIVED";
    let out = this.templates
      .map((t) => t.template)
      .filter((t) => (q.include_anonymous ? true : !t.anonymous))
      .filter((t) => (q.cloud_id ? t.config.cloud_id === q.cloud_id : true))
      .filter((t) => (q.project_id ? t.project_id === q.project_id : true))
      .filter((t) => (q.creator_id ? t.creator_id === q.creator_id : true))
      .filter((t) =>
        archive === "ALL" ? true : archive === "ARCHIVED" ? Boolean(t.archived_at) : !t.archived_at,
      )
      .filter((t) => {
        const n = q.name;
        if (!n) return true;
        if (n.equals !== undefined && t.name !== n.equals) return false;
        if (n.not_equal !== undefined && t.name === n.not_equal) return false;
        if (n.contains !== undefined && !t.name.toLowerCase().includes(n.contains.toLowerCase()))
          return false;
        return true;
      });
    const version = q.version ?? -1;
    if (version === -1) {
      const latest = new Map<string, S["ComputeTemplate"]>();
      for (const t of out) {
        const key = `${t.name}\u0000${t.config.cloud_id}`;
        const cur = latest.get(key);
        if (!cur || t.version > cur.version) latest.set(key, t);
      }
      out = [...latest.values()];
    } else if (version >= 0) {
      out = out.filter((t) => t.version === version);
    }
    // Newest first, as the API sorts by default.
    return out.sort((a, b) =>
      a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.version - a.version,
    );
  }

  /** Archive every version of the template's (name, cloud) lineage; refused while any version is in use. */
  archiveTemplate(id: string): void {
    const t = this.templateById(id);
    const lineage = this.templates
      .map((x) => x.template)
      .filter((x) => x.name === t.name && x.config.cloud_id === t.config.cloud_id);
    const ids = new Set(lineage.map((x) => x.id));
    const users = [
      ...[...ids].filter((x) => this.templatesInUse.has(x)).map((x) => `cluster using ${x}`),
      ...this.jobs
        .filter((j) => ids.has(j.job.config.compute_config_id) && !isTerminalJob(this.jobState(j)))
        .map((j) => `job '${j.job.name}' (${j.job.id})`),
      ...this.services
        .filter((s) => this.serviceState(s) !== "TERMINATED")
        .filter((s) => [s.primary, s.canary].some((v) => v && ids.has(v.model.compute_config_id)))
        .map((s) => `service '${s.name}' (${s.id})`),
    ];
    if (users.length > 0) {
      throw new ApiError(
        409,
        `Compute config '${t.name}' cannot be archived because it is used by running clusters: ${users.join(", ")}. ` +
          "Terminate them first.",
      );
    }
    const now = this.#iso();
    for (const x of lineage) x.archived_at ??= now;
    this.counters.archives += 1;
  }

  // ---------------- images (builds) ----------------

  /** Builds are registered on first reference by a job or service, or from an image URI (nothing is built). */
  readonly builds = new Map<string, S["ClusterEnvironmentBuild"]>();
  readonly #clusterEnvs = new Map<string, S["ClusterEnvironment"]>([
    [EMULATOR_IMAGE.id, this.#clusterEnv(EMULATOR_IMAGE.id, EMULATOR_IMAGE.name)],
  ]);
  readonly #buildByImage = new Map<string, string>();

  #clusterEnv(id: string, name: string): S["ClusterEnvironment"] {
    const at = new Date(0).toISOString();
    return {
      id,
      name,
      organization_id: EMULATOR_ORG_ID,
      creator_id: EMULATOR_USER.id,
      created_at: at,
      last_modified_at: at,
    };
  }

  #registerBuild(
    id: string,
    image?: { uri: string; envId: string; byod: boolean },
  ): S["ClusterEnvironmentBuild"] {
    const known = this.builds.get(id);
    if (known) return known;
    const at = this.#iso();
    const build: S["ClusterEnvironmentBuild"] = {
      id,
      cluster_environment_id: image?.envId ?? EMULATOR_IMAGE.id,
      docker_image_name: image?.uri ?? DEFAULT_IMAGE_URI,
      registry_login_secret: null,
      revision: 1,
      creator_id: EMULATOR_USER.id,
      status: "succeeded",
      created_at: at,
      last_modified_at: at,
      is_byod: image?.byod ?? true,
    };
    this.builds.set(id, build);
    return build;
  }

  /** `POST /api/v2/builds/get_or_create_build_from_image_uri`: one BYOD build per image URI (recorded only). */
  buildForImage(imageUri: string, rayVersion?: string | null): S["DecoratedBuild"] {
    const uri = imageUri.trim();
    if (!uri) throw invalid(["image_uri"], "must not be empty");
    let id = this.#buildByImage.get(uri);
    if (!id) {
      id = this.#id("bld");
      const envId = this.#id("apt");
      this.#clusterEnvs.set(envId, this.#clusterEnv(envId, uri.replace(/[^A-Za-z0-9_-]/g, "-")));
      this.#registerBuild(id, { uri, envId, byod: true });
      this.#buildByImage.set(uri, id);
    }
    const build = this.buildById(id);
    const env = this.clusterEnvironmentById(build.cluster_environment_id);
    return {
      ...build,
      application_template_id: env.id,
      application_template: env,
      creator: EMULATOR_USER,
      ray_version: rayVersion ?? null,
    };
  }

  /** `GET /ext/v0/cluster_environment_builds/default`: the default image's build. */
  defaultBuild(): S["ClusterEnvironmentBuild"] {
    return structuredClone(
      this.#registerBuild("bld_emulator_default", {
        uri: DEFAULT_IMAGE_URI,
        envId: EMULATOR_IMAGE.id,
        byod: false,
      }),
    );
  }

  buildById(id: string): S["ClusterEnvironmentBuild"] {
    const b = this.builds.get(id);
    if (!b) throw notFound(`Cluster environment build '${id}'`);
    return structuredClone(b);
  }

  clusterEnvironmentById(id: string): S["ClusterEnvironment"] {
    const env = this.#clusterEnvs.get(id);
    if (!env) throw notFound(`Cluster environment '${id}'`);
    return structuredClone(env);
  }

  // ---------------- jobs ----------------

  jobState(j: StoredJob): HaJobState {
    if (j.local) return j.local.state;
    const now = this.opts.now();
    if (j.terminatedAtMs !== undefined && j.terminatedAtMs <= now) {
      const natural = this.#naturalJobState(j, j.terminatedAtMs);
      return isTerminalJob(natural) ? natural : "TERMINATED";
    }
    return this.#naturalJobState(j, now);
  }

  #naturalJobState(j: StoredJob, at: number): HaJobState {
    const { pendingMs, runningMs } = this.opts.jobSchedule;
    const age = at - j.createdMs;
    if (age < pendingMs) return "PENDING";
    if (age < pendingMs + runningMs) return "RUNNING";
    return j.fails ? "OUT_OF_RETRIES" : "SUCCESS";
  }

  #jobModel(j: StoredJob): S["InternalProductionJob"] {
    const state = this.jobState(j);
    const simulatedError =
      state === "OUT_OF_RETRIES" ? "Job failed: entrypoint exited with code 1 (emulated failure)." : null;
    const runs = this.jobRuns(j.job.id);
    return {
      ...structuredClone(j.job),
      state: {
        ...j.job.state,
        current_state: state,
        goal_state: j.terminatedAtMs !== undefined ? "TERMINATED" : "SUCCESS",
        error: j.local ? (state === "SUCCESS" ? null : j.local.error) : simulatedError,
      },
      last_job_run_id: runs.at(-1)?.id ?? null,
    };
  }

  decoratedJob(j: StoredJob): S["DecoratedProductionJob"] {
    return { ...this.#jobModel(j), project: this.#miniProject(j.job.project_id), creator: EMULATOR_USER };
  }

  createJob(body: S["CreateInternalProductionJob"]): S["InternalProductionJob"] {
    if (!body.name) throw invalid(["name"], "field required");
    const entrypoint = body.config.entrypoint;
    if (!entrypoint) throw invalid(["config", "entrypoint"], "the entrypoint must not be empty");
    const ccId = body.config.compute_config_id;
    if (!ccId)
      throw invalid(["config", "compute_config_id"], "a compute config id is required by the emulator");
    const cc = this.templateById(ccId);
    if (cc.archived_at)
      throw invalid(["config", "compute_config_id"], `compute config '${cc.name}' is archived`);
    const projectId = body.project_id ?? this.defaultProject(cc.config.cloud_id).id;
    this.projectById(projectId);
    const nowMs = this.opts.now();
    const id = this.#id("prodjob");
    this.#registerBuild(body.config.build_id ?? "bld_emulator_default");
    const stored: StoredJob = {
      createdMs: nowMs,
      fails: this.failingJobNames.has(body.name),
      job: {
        id,
        name: body.name,
        description: body.description ?? null,
        created_at: this.#iso(nowMs),
        updated_at: this.#iso(nowMs),
        creator_id: EMULATOR_USER.id,
        config: {
          ...structuredClone(body.config),
          entrypoint,
          build_id: body.config.build_id ?? "bld_emulator_default",
          compute_config_id: ccId,
          // The SDK documents 1 as the default ("retried before being marked failed").
          max_retries: body.config.max_retries ?? 1,
        },
        state: {
          id: this.#id("hajobstate"),
          state_transitioned_at: this.#iso(nowMs),
          current_state: "PENDING",
        },
        project_id: projectId,
        overview_url: `https://console.anyscale.invalid/jobs/${id}`,
        is_service: false,
        cloud_id: cc.config.cloud_id,
      },
    };
    if (this.opts.runtime) {
      // A failing-job fault replaces what runs (the recorded entrypoint stays as submitted).
      const run = structuredClone(stored.job);
      if (stored.fails)
        run.config.entrypoint = 'echo "emulator: this job fails (fault injected)" >&2; exit 1';
      stored.local = this.opts.runtime.startJob(run, () => {});
    }
    this.jobs.push(stored);
    this.counters.jobCreates += 1;
    return this.#jobModel(stored);
  }

  #job(id: string): StoredJob {
    const j = this.jobs.find((x) => x.job.id === id);
    if (!j) throw notFound(`Job '${id}'`);
    return j;
  }

  getJob(id: string): S["DecoratedProductionJob"] {
    return this.decoratedJob(this.#job(id));
  }

  listJobs(q: { name?: string; project_id?: string }): S["DecoratedProductionJob"][] {
    return this.jobs
      .filter((j) => (q.name ? j.job.name === q.name : true))
      .filter((j) => (q.project_id ? j.job.project_id === q.project_id : true))
      .map((j) => this.decoratedJob(j))
      .reverse();
  }

  /** The job's runs (attempts), oldest first, with the run status names of the API. */
  jobRuns(id: string): S["JobRunSummary"][] {
    const j = this.jobs.find((x) => x.job.id === id);
    if (!j) return [];
    if (j.local) {
      return j.local.attempts.map((a) => ({
        id: a.id,
        name: a.name,
        status: a.status,
        created_at: this.#iso(a.startedMs),
        ha_job_id: j.job.id,
        cluster_id: `ses_${j.job.id.slice(-6)}`,
        finished_at: a.finishedMs === undefined ? null : this.#iso(a.finishedMs),
      }));
    }
    const state = this.jobState(j);
    if (state === "PENDING") return [];
    const status: S["JobRunSummary"]["status"] =
      state === "SUCCESS"
        ? "SUCCEEDED"
        : state === "OUT_OF_RETRIES" || state === "BROKEN"
          ? "FAILED"
          : state === "TERMINATED"
            ? "STOPPED"
            : "RUNNING";
    const started = j.createdMs + this.opts.jobSchedule.pendingMs;
    const finished =
      status === "RUNNING" ? null : this.#iso(j.terminatedAtMs ?? started + this.opts.jobSchedule.runningMs);
    return [
      {
        id: `${j.job.id.replace("prodjob", "prodjobrun")}_1`,
        name: `raysubmit_${j.job.id.slice(-6)}`,
        status,
        created_at: this.#iso(started),
        ha_job_id: j.job.id,
        cluster_id: `ses_${j.job.id.slice(-6)}`,
        finished_at: finished,
      },
    ];
  }

  /** The local attempt behind a job run id (for its logs); undefined for unknown or simulated runs. */
  localAttempt(runId: string): { logPath: string } | undefined {
    for (const j of this.jobs) {
      const a = j.local?.attempts.find((x) => x.id === runId);
      if (a) return a;
    }
    return undefined;
  }

  /** The local processes of a job (LocalRuntime mode). */
  localJob(id: string): LocalJob | undefined {
    return this.jobs.find((j) => j.job.id === id)?.local;
  }

  /** Whether a job run id names a run of a job here (a simulated run has no log). */
  hasJobRun(runId: string): boolean {
    return this.jobs.some((j) => this.jobRuns(j.job.id).some((r) => r.id === runId));
  }

  terminateJob(id: string): S["InternalProductionJob"] {
    const j = this.#job(id);
    j.terminatedAtMs ??= this.opts.now();
    j.local?.terminate();
    return this.#jobModel(j);
  }

  // ---------------- services ----------------

  #terminated(s: StoredService, now = this.opts.now()): boolean {
    return s.terminatedAtMs !== undefined && s.terminatedAtMs <= now;
  }

  #versionState(s: StoredService, v: StoredVersion, now: number): ServiceVersionState {
    if (this.#terminated(s, now)) return "TERMINATED";
    if (v.server) {
      const h = v.server.health;
      return h === "STOPPED" ? "TERMINATED" : h;
    }
    if (now - v.createdMs < this.opts.serviceSchedule.startMs) return "STARTING";
    return v.healthy ? "RUNNING" : "UNHEALTHY";
  }

  /** When the version started serving (simulated: after startMs; local: its first passed health check). */
  #readyAt(v: StoredVersion): number | undefined {
    if (v.server) return v.runningSinceMs;
    return v.healthy ? v.createdMs + this.opts.serviceSchedule.startMs : undefined;
  }

  /** Apply transitions: a healthy canary that is not held (no percent, or 100) takes over once rolled out. */
  #advance(s: StoredService): void {
    const now = this.opts.now();
    const c = s.canary;
    if (!c || this.#terminated(s, now)) return;
    const held = c.canaryPercent !== undefined && c.canaryPercent < 100;
    const ready = this.#readyAt(c);
    if (held || ready === undefined || this.#versionState(s, c, now) !== "RUNNING") return;
    const rampMs = c.canaryPercent === 100 ? 0 : this.opts.serviceSchedule.rolloutMs;
    if (now - ready >= rampMs) {
      const replaced = s.primary;
      s.primary = c;
      s.canary = undefined;
      void replaced.server?.stop(); // the replaced version's server goes
    }
  }

  /** Evaluate transitions of every service now (the local runtime calls this on every health change). */
  tick(): void {
    for (const s of this.services) this.#advance(s);
  }

  serviceState(s: StoredService): ServiceState {
    this.#advance(s);
    const now = this.opts.now();
    if (s.terminatedAtMs !== undefined) return s.terminatedAtMs <= now ? "TERMINATED" : "TERMINATING";
    if (s.canary) return this.#versionState(s, s.canary, now) === "UNHEALTHY" ? "UNHEALTHY" : "ROLLING_OUT";
    const p = this.#versionState(s, s.primary, now);
    return p === "RUNNING" ? "RUNNING" : p === "UNHEALTHY" ? "UNHEALTHY" : "STARTING";
  }

  #versionModel(
    s: StoredService,
    v: StoredVersion,
    weight: number,
  ): S["DecoratedProductionServiceV2VersionAPIModel"] {
    return { ...structuredClone(v.model), weight, current_state: this.#versionState(s, v, this.opts.now()) };
  }

  serviceModel(s: StoredService): S["DecoratedProductionServiceV2APIModel"] {
    const state = this.serviceState(s);
    const now = this.opts.now();
    const canaryWeight = s.canary ? this.#canaryWeight(s.canary, now) : 0;
    const primary = this.#versionModel(s, s.primary, 100 - canaryWeight);
    const canary = s.canary ? this.#versionModel(s, s.canary, canaryWeight) : null;
    const versions = [primary, ...(canary ? [canary] : [])];
    // Local mode: the query URL is the service's router on loopback; simulated: a name that resolves nowhere.
    const host = s.router
      ? new URL(s.router.url).host
      : `${s.name}-${s.id.slice(-6)}.emulator.anyscale.invalid`;
    const error = state === "UNHEALTHY" ? (s.canary ?? s.primary).server?.error : undefined;
    return {
      id: s.id,
      name: s.name,
      description: null,
      project_id: s.projectId,
      cloud_id: s.cloudId,
      creator_id: EMULATOR_USER.id,
      created_at: s.createdAt,
      hostname: host,
      current_state: state,
      goal_state: s.terminatedAtMs !== undefined ? "TERMINATED" : "RUNNING",
      auth_token: s.authToken,
      auto_rollout_enabled: true,
      versions,
      primary_version: primary,
      canary_version: canary,
      service_observability_urls: {},
      base_url: s.router ? s.router.url : `https://${host}`,
      ended_at: s.terminatedAtMs !== undefined ? this.#iso(s.terminatedAtMs) : null,
      creator: EMULATOR_USER,
      is_multi_version: false,
      error_message: state === "UNHEALTHY" ? (error ?? "Replicas failed health checks (emulated).") : null,
    };
  }

  /** Canary traffic: the held percent, or a linear ramp to 100 over the rollout time once it serves. */
  #canaryWeight(c: StoredVersion, now: number): number {
    if (c.canaryPercent !== undefined) return c.canaryPercent;
    const ready = this.#readyAt(c);
    if (ready === undefined) return 0;
    const into = now - ready;
    if (into <= 0) return 0;
    return Math.min(100, Math.round((100 * into) / Math.max(1, this.opts.serviceSchedule.rolloutMs)));
  }

  /** What the service's router serves: token, and each version's weight and healthy port. */
  routingTable(id: string): RoutingTable {
    const s = this.#service(id);
    const model = this.serviceModel(s);
    const target = (v: StoredVersion, role: "primary" | "canary", weight: number) => ({
      name: v.model.version,
      role,
      weight,
      port: v.server?.port,
    });
    return {
      token: s.authToken,
      terminated: model.current_state === "TERMINATED" || model.current_state === "TERMINATING",
      targets: [
        target(s.primary, "primary", model.primary_version.weight),
        ...(s.canary && model.canary_version
          ? [target(s.canary, "canary", model.canary_version.weight)]
          : []),
      ],
    };
  }

  #startServer(s: StoredService, v: StoredVersion): void {
    const runtime = this.opts.runtime;
    if (!runtime) return;
    v.server = runtime.startVersion({ id: s.id, name: s.name }, structuredClone(v.model), !v.healthy, () => {
      if (v.runningSinceMs === undefined && v.server?.health === "RUNNING")
        v.runningSinceMs = this.opts.now();
      this.tick();
    });
  }

  /** Same version config: a re-apply of it only moves the held canary's traffic. */
  #sameConfig(v: StoredVersion, body: S["ApplyProductionServiceV2Model"]): boolean {
    if (body.version) return body.version === v.model.version;
    return (
      JSON.stringify(v.model.ray_serve_config) === JSON.stringify(body.ray_serve_config) &&
      v.model.build_id === body.build_id &&
      v.model.compute_config_id === body.compute_config_id
    );
  }

  /**
   * `PUT /api/v2/services-v2/apply`. `router` is a listening router for the case that this creates the service
   * (the caller closes it when unused).
   */
  applyService(
    body: S["ApplyProductionServiceV2Model"],
    router?: ServiceRouter,
  ): S["DecoratedProductionServiceV2APIModel"] {
    if (!body.name) throw invalid(["name"], "field required");
    const cc = this.templateById(body.compute_config_id);
    if (cc.archived_at) throw invalid(["compute_config_id"], `compute config '${cc.name}' is archived`);
    if (body.rollout_strategy === "MULTI_VERSION")
      throw invalid(["rollout_strategy"], "MULTI_VERSION is not emulated");
    const projectId = body.project_id ?? this.defaultProject(cc.config.cloud_id).id;
    this.projectById(projectId);
    const nowMs = this.opts.now();
    this.#registerBuild(body.build_id);
    const existing = this.services.find((s) => s.name === body.name && s.projectId === projectId);
    const version: StoredVersion = {
      createdMs: nowMs,
      healthy: !this.unhealthyServiceNames.has(body.name),
      model: {
        id: this.#id("svcver"),
        created_at: this.#iso(nowMs),
        weight: 0,
        version: body.version ?? this.#id("v"),
        ray_serve_config: structuredClone(body.ray_serve_config),
        build_id: body.build_id,
        compute_config_id: body.compute_config_id,
        production_job_ids: [this.#id("prodjob")],
        current_state: "STARTING",
      },
    };
    const useToken = body.config?.access?.use_bearer_token !== false;
    if (!existing || this.serviceState(existing) === "TERMINATED") {
      if (body.rollout_strategy === "IN_PLACE") {
        throw invalid(["rollout_strategy"], "IN_PLACE is not allowed when creating a service");
      }
      // canary_percent is ignored when creating (or restarting) a service
      if (existing) {
        // Restarting a terminated service keeps its id and query URL, with a fresh primary.
        existing.terminatedAtMs = undefined;
        existing.canary = undefined;
        existing.primary = version;
        existing.authToken = useToken ? (existing.authToken ?? this.#token()) : null;
        existing.history.push(record(version, body.canary_percent));
        this.#startServer(existing, version);
        this.counters.serviceApplies += 1;
        return this.serviceModel(existing);
      }
      const s: StoredService = {
        id: this.#id("service2"),
        name: body.name,
        projectId,
        cloudId: cc.config.cloud_id,
        createdAt: this.#iso(nowMs),
        createdMs: nowMs,
        authToken: useToken ? this.#token() : null,
        primary: version,
        history: [record(version, body.canary_percent)],
      };
      if (this.opts.runtime) s.router = router;
      this.services.push(s);
      this.#startServer(s, version);
      this.counters.serviceApplies += 1;
      return this.serviceModel(s);
    }
    if (existing.cloudId !== cc.config.cloud_id) {
      throw invalid(["compute_config_id"], "a service cannot change cloud once created");
    }
    // Re-applying the held canary's config with another canary_percent moves its traffic (100 completes it).
    if (existing.canary && this.#sameConfig(existing.canary, body)) {
      existing.canary.canaryPercent = body.canary_percent ?? undefined;
      existing.history.push(record(existing.canary, body.canary_percent));
      this.counters.serviceApplies += 1;
      this.#advance(existing);
      return this.serviceModel(existing);
    }
    // Version names are unique per service ("Unique name of the version", SDK ServiceConfig.version_name).
    if (
      body.version &&
      (body.version === existing.primary.model.version || body.version === existing.canary?.model.version)
    ) {
      throw invalid(["version"], `version name '${body.version}' is already used by service '${body.name}'`);
    }
    version.canaryPercent = body.canary_percent ?? undefined;
    if (body.rollout_strategy === "IN_PLACE") {
      const replaced = existing.primary;
      existing.primary = { ...version, createdMs: nowMs - this.opts.serviceSchedule.startMs };
      void replaced.server?.stop();
      this.#startServer(existing, existing.primary);
    } else {
      // A new config while a canary is held replaces that canary (its server stops).
      void existing.canary?.server?.stop();
      existing.canary = version;
      this.#startServer(existing, version);
    }
    existing.history.push(record(version, body.canary_percent));
    this.counters.serviceApplies += 1;
    return this.serviceModel(existing);
  }

  /** Whether the service holds this router (an apply that did not create a service leaves it unused). */
  usesRouter(id: string, router: ServiceRouter): boolean {
    return this.services.some((s) => s.id === id && s.router === router);
  }

  #token(): string {
    return `emulated-${randomBytes(12).toString("base64url")}`;
  }

  #service(id: string): StoredService {
    const s = this.services.find((x) => x.id === id);
    if (!s) throw notFound(`Service '${id}'`);
    return s;
  }

  getService(id: string): S["DecoratedProductionServiceV2APIModel"] {
    return this.serviceModel(this.#service(id));
  }

  /** Every apply to a service (for tests and the admin endpoint). */
  serviceHistory(id: string): ApplyRecord[] {
    return structuredClone(this.#service(id).history);
  }

  /** pids of the servers playing a service's versions (for tests: a dropped version's process is gone). */
  servicePids(id: string): { version: string; role: "primary" | "canary"; pid: number | null }[] {
    const s = this.#service(id);
    const pid = (v: StoredVersion) => v.server?.pid ?? null;
    return [
      { version: s.primary.model.version, role: "primary" as const, pid: pid(s.primary) },
      ...(s.canary ? [{ version: s.canary.model.version, role: "canary" as const, pid: pid(s.canary) }] : []),
    ];
  }

  listServices(q: { name?: string; project_id?: string }): S["DecoratedListServiceAPIModel"][] {
    return this.services
      .filter((s) => (q.name ? s.name.toLowerCase().includes(q.name.toLowerCase()) : true))
      .filter((s) => (q.project_id ? s.projectId === q.project_id : true))
      .map((s) => ({ ...this.serviceModel(s), type: "V2" as const }))
      .reverse();
  }

  /** `POST /api/v2/services-v2/{id}/rollback`: drop the canary; the primary takes all traffic again. */
  rollbackService(id: string): S["DecoratedProductionServiceV2APIModel"] {
    const s = this.#service(id);
    if (this.#terminated(s) || s.terminatedAtMs !== undefined) {
      throw new ApiError(409, `Service '${s.name}' is terminated; there is nothing to roll back.`);
    }
    this.#advance(s);
    if (!s.canary) throw new ApiError(409, `Service '${s.name}' has no rollout in progress to roll back.`);
    void s.canary.server?.stop();
    s.canary = undefined;
    s.history.push({ ...record(s.primary, null), rollback: true });
    return this.serviceModel(s);
  }

  terminateService(id: string): S["DecoratedProductionServiceV2APIModel"] {
    const s = this.#service(id);
    s.terminatedAtMs ??= this.opts.now() + Math.min(50, this.opts.serviceSchedule.startMs);
    // A terminated service has no canary; every version's server stops.
    void s.primary.server?.stop();
    void s.canary?.server?.stop();
    s.canary = undefined;
    return this.serviceModel(s);
  }
}

export function isTerminalJob(s: HaJobState): boolean {
  return s === "SUCCESS" || s === "TERMINATED" || s === "OUT_OF_RETRIES" || s === "BROKEN";
}
