// In-memory Anyscale control-plane state: clouds, projects, compute-template versions, jobs and services.
// Time-driven state machines are evaluated lazily from a clock, so a job created at t0 reads PENDING until
// t0+pendingMs, RUNNING until t0+pendingMs+runningMs, then SUCCESS (or OUT_OF_RETRIES when it is set to fail).
// State names are the REST API's (HaJobStates, ServiceEventCurrentState, ServiceVersionState), not the SDK's.
import type { components } from "../../infra/anyscale/schema.generated.js";

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
}

interface StoredVersion {
  model: S["DecoratedProductionServiceV2VersionAPIModel"];
  createdMs: number;
  healthy: boolean;
  /** Traffic share requested for a canary (undefined = ramp to 100). */
  canaryPercent?: number;
}

export interface ApplyRecord {
  version: string;
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

  /** Builds are registered on first reference by a job or service (the emulator does not build images). */
  readonly builds = new Map<string, S["ClusterEnvironmentBuild"]>();

  #registerBuild(id: string): void {
    if (this.builds.has(id)) return;
    const at = this.#iso();
    this.builds.set(id, {
      id,
      cluster_environment_id: EMULATOR_IMAGE.id,
      docker_image_name: `anyscale/ray:2.44.0-slim-py311`,
      registry_login_secret: null,
      revision: this.builds.size + 1,
      creator_id: EMULATOR_USER.id,
      status: "succeeded",
      created_at: at,
      last_modified_at: at,
      is_byod: true,
    });
  }

  buildById(id: string): S["ClusterEnvironmentBuild"] {
    const b = this.builds.get(id);
    if (!b) throw notFound(`Cluster environment build '${id}'`);
    return structuredClone(b);
  }

  clusterEnvironmentById(id: string): S["ClusterEnvironment"] {
    if (id !== EMULATOR_IMAGE.id) throw notFound(`Cluster environment '${id}'`);
    const at = this.#iso(0);
    return {
      ...EMULATOR_IMAGE,
      organization_id: EMULATOR_ORG_ID,
      creator_id: EMULATOR_USER.id,
      created_at: at,
      last_modified_at: at,
    };
  }

  // ---------------- jobs ----------------

  jobState(j: StoredJob): HaJobState {
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
    return {
      ...structuredClone(j.job),
      state: {
        ...j.job.state,
        current_state: state,
        goal_state: j.terminatedAtMs !== undefined ? "TERMINATED" : "SUCCESS",
        error:
          state === "OUT_OF_RETRIES" ? "Job failed: entrypoint exited with code 1 (emulated failure)." : null,
      },
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
          max_retries: body.config.max_retries ?? 5,
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

  /** The job's runs: one attempt once it has left PENDING, with the run status names of the API. */
  jobRuns(id: string): S["JobRunSummary"][] {
    const j = this.jobs.find((x) => x.job.id === id);
    if (!j) return [];
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

  terminateJob(id: string): S["InternalProductionJob"] {
    const j = this.#job(id);
    j.terminatedAtMs ??= this.opts.now();
    return this.#jobModel(j);
  }

  // ---------------- services ----------------

  #versionState(s: StoredService, v: StoredVersion, now: number): ServiceVersionState {
    if (s.terminatedAtMs !== undefined && s.terminatedAtMs <= now) return "TERMINATED";
    if (now - v.createdMs < this.opts.serviceSchedule.startMs) return "STARTING";
    return v.healthy ? "RUNNING" : "UNHEALTHY";
  }

  /** Apply time-driven transitions: a finished rollout without a held canary promotes the canary. */
  #advance(s: StoredService): void {
    const now = this.opts.now();
    const c = s.canary;
    if (!c || (s.terminatedAtMs !== undefined && s.terminatedAtMs <= now)) return;
    const held = c.canaryPercent !== undefined && c.canaryPercent < 100;
    const done = now - c.createdMs >= this.opts.serviceSchedule.startMs + this.opts.serviceSchedule.rolloutMs;
    if (!held && done && c.healthy) {
      s.primary = c;
      s.canary = undefined;
    }
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
    const host = `${s.name}-${s.id.slice(-6)}.emulator.anyscale.invalid`;
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
      base_url: `https://${host}`,
      ended_at: s.terminatedAtMs !== undefined ? this.#iso(s.terminatedAtMs) : null,
      creator: EMULATOR_USER,
      is_multi_version: false,
      error_message: state === "UNHEALTHY" ? "Replicas failed health checks (emulated)." : null,
    };
  }

  /** Canary traffic: the held percent, or a linear ramp to 100 over the rollout time. */
  #canaryWeight(c: StoredVersion, now: number): number {
    if (c.canaryPercent !== undefined) return c.canaryPercent;
    const { startMs, rolloutMs } = this.opts.serviceSchedule;
    const into = now - c.createdMs - startMs;
    if (into <= 0) return 0;
    return Math.min(100, Math.round((100 * into) / Math.max(1, rolloutMs)));
  }

  applyService(body: S["ApplyProductionServiceV2Model"]): S["DecoratedProductionServiceV2APIModel"] {
    if (!body.name) throw invalid(["name"], "field required");
    const cc = this.templateById(body.compute_config_id);
    if (cc.archived_at) throw invalid(["compute_config_id"], `compute config '${cc.name}' is archived`);
    if (body.rollout_strategy === "MULTI_VERSION")
      throw invalid(["rollout_strategy"], "MULTI_VERSION is not emulated");
    const projectId = body.project_id ?? this.defaultProject(cc.config.cloud_id).id;
    this.projectById(projectId);
    const nowMs = this.opts.now();
    this.#registerBuild(body.build_id);
    const existing = this.services.find(
      (s) => s.name === body.name && s.projectId === projectId && this.serviceState(s) !== "TERMINATED",
    );
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
    if (!existing) {
      if (body.rollout_strategy === "IN_PLACE") {
        throw invalid(["rollout_strategy"], "IN_PLACE is not allowed when creating a service");
      }
      const s: StoredService = {
        id: this.#id("service2"),
        name: body.name,
        projectId,
        cloudId: cc.config.cloud_id,
        createdAt: this.#iso(nowMs),
        createdMs: nowMs,
        authToken: body.config?.access?.use_bearer_token === false ? null : `emulated-${this.#seq}`,
        primary: version, // canary_percent is ignored when creating a service
        history: [record(version, body.canary_percent)],
      };
      this.services.push(s);
      this.counters.serviceApplies += 1;
      return this.serviceModel(s);
    }
    if (existing.cloudId !== cc.config.cloud_id) {
      throw invalid(["compute_config_id"], "a service cannot change cloud once created");
    }
    // Re-applying with canary_percent on the active canary only moves its traffic (and 100 completes it).
    if (existing.canary && body.version && body.version === existing.canary.model.version) {
      existing.canary.canaryPercent = body.canary_percent ?? undefined;
      existing.history.push(record(existing.canary, body.canary_percent));
      this.counters.serviceApplies += 1;
      return this.serviceModel(existing);
    }
    if (existing.canary) throw new ApiError(409, `Service '${body.name}' already has a rollout in progress.`);
    version.canaryPercent = body.canary_percent ?? undefined;
    if (body.rollout_strategy === "IN_PLACE") {
      existing.primary = { ...version, createdMs: nowMs - this.opts.serviceSchedule.startMs };
    } else {
      existing.canary = version;
    }
    existing.history.push(record(version, body.canary_percent));
    this.counters.serviceApplies += 1;
    return this.serviceModel(existing);
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

  listServices(q: { name?: string; project_id?: string }): S["DecoratedListServiceAPIModel"][] {
    return this.services
      .filter((s) => (q.name ? s.name.toLowerCase().includes(q.name.toLowerCase()) : true))
      .filter((s) => (q.project_id ? s.projectId === q.project_id : true))
      .map((s) => ({ ...this.serviceModel(s), type: "V2" as const }))
      .reverse();
  }

  terminateService(id: string): S["DecoratedProductionServiceV2APIModel"] {
    const s = this.#service(id);
    s.terminatedAtMs ??= this.opts.now() + Math.min(50, this.opts.serviceSchedule.startMs);
    return this.serviceModel(s);
  }
}

export function isTerminalJob(s: HaJobState): boolean {
  return s === "SUCCESS" || s === "TERMINATED" || s === "OUT_OF_RETRIES" || s === "BROKEN";
}
