// The Anyscale API routes the emulator answers (each one is a path of infra/anyscale/openapi.yaml), over
// EmulatorState. A handler returns {status, body} or throws an ApiError; it may be async.
import { PackageStore } from "./packages.js";
import type { ServiceRouter } from "./router.js";
import { ApiError, EMULATOR_ORG_ID, type EmulatorState } from "./state.js";

/** What the routes need besides the state: the local runtime's package store, job logs and routers. */
export interface RouteDeps {
  /** Present when jobs and services run locally (the presigned upload URL is the emulator's). */
  readonly packages?: PackageStore;
  /** The log chunks of a job run, or undefined when the run is unknown. */
  readonly jobLogs: (runId: string, pageToken: string | undefined, pageSize: number) => unknown;
  /** A listening router for a service the apply may create. */
  readonly newRouter?: (serviceId: () => string) => Promise<ServiceRouter>;
}

function requireQuery(query: Record<string, string>, name: string): string {
  const value = query[name];
  if (!value) {
    throw new ApiError(
      422,
      [{ loc: ["query", name], msg: "field required", type: "value_error.missing" }],
      `${name}: field required`,
    );
  }
  return value;
}

const missing = (...loc: string[]) =>
  new ApiError(
    422,
    [{ loc: ["body", ...loc], msg: "field required", type: "value_error.missing" }],
    `${loc.join(".")}: field required`,
  );

export interface HandlerResult {
  status: number;
  body?: unknown;
}

type Handler = (ctx: {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}) => HandlerResult | Promise<HandlerResult>;

export interface Route {
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

export function buildRoutes(state: EmulatorState, deps: RouteDeps): Route[] {
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
      return ok({ result: state.defaultProject(requireQuery(query, "parent_cloud_id")) });
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
      const b = requireObject(body);
      const ids = b.ha_job_ids;
      if (!Array.isArray(ids)) throw missing("ha_job_ids");
      // `job.get_logs(run=NAME)` asks for one run by name; runs come oldest first, the newest `max` of them.
      const runName = typeof b.run_name === "string" ? b.run_name : undefined;
      const max = typeof b.max_runs_per_job === "number" ? b.max_runs_per_job : 100;
      const runs = (id: string) =>
        state
          .jobRuns(id)
          .filter((r) => runName === undefined || r.name === runName)
          .slice(-max);
      return ok({ results: Object.fromEntries(ids.map((id) => [String(id), runs(String(id))])) });
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
    route("PUT", "/api/v2/services-v2/apply", async ({ body }) => {
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
      // Local mode: a new service gets a query router (listening before the service exists).
      let serviceId = "";
      const router = deps.newRouter ? await deps.newRouter(() => serviceId) : undefined;
      try {
        const result = state.applyService(b as never, router);
        serviceId = result.id;
        return ok({ result }, 202);
      } finally {
        if (router && !state.usesRouter(serviceId, router)) await router.close();
      }
    }),
    route("GET", "/api/v2/services-v2/", ({ query }) => ok(page(state.listServices(query), query))),
    route("GET", "/api/v2/services-v2/{service_id}", ({ params }) =>
      ok({ result: state.getService(params.service_id!) }),
    ),
    route("POST", "/api/v2/services-v2/{service_id}/terminate", ({ params }) =>
      ok({ result: state.terminateService(params.service_id!) }, 202),
    ),
    route("POST", "/api/v2/services-v2/{service_id}/rollback", ({ params }) =>
      ok({ result: state.rollbackService(params.service_id!) }),
    ),

    // ---- what job submit and service deploy send besides the above (anyscale 0.26.112) ----
    route("GET", "/ext/v0/cluster_computes/{cluster_compute_id}", ({ params }) =>
      ok({ result: state.templateById(params.cluster_compute_id!) }),
    ),
    route("GET", "/ext/v0/projects/default_project", ({ query }) => {
      const p = state.defaultProject(requireQuery(query, "parent_cloud_id"));
      return ok({ result: { ...p, cluster_config: "", organization_id: EMULATOR_ORG_ID } });
    }),
    route("GET", "/api/v2/workos/deployment_infra", () => ok({ result: { deployment_infra: "aws" } })),
    route("POST", "/api/v2/builds/get_or_create_build_from_image_uri", ({ body }) => {
      const b = requireObject(body);
      if (typeof b.image_uri !== "string") throw missing("image_uri");
      const ray = typeof b.ray_version === "string" ? b.ray_version : null;
      return ok({ result: state.buildForImage(b.image_uri, ray) });
    }),
    route("GET", "/ext/v0/cluster_environment_builds/default", () => ok({ result: state.defaultBuild() })),
    route("GET", "/api/v2/clouds/{cloud_id}/resources", ({ params }) => {
      const c = state.cloudById(params.cloud_id!);
      return ok({
        results: [
          {
            cloud_resource_id: `cldrsrc_${c.id.replace(/^cld_/, "")}`,
            name: "default",
            provider: c.provider,
            region: c.region,
            is_default: true,
          },
        ],
        metadata: { total: 1, next_paging_token: null },
      });
    }),
    route(
      "POST",
      "/api/v2/clouds/{cloud_id}/generate_cloud_data_bucket_presigned_url",
      ({ params, body }) => {
        state.cloudById(params.cloud_id!);
        const b = requireObject(body);
        for (const k of ["file_type", "file_name", "access_mode"])
          if (typeof b[k] !== "string") throw missing(k);
        const name = b.file_name as string;
        if (
          b.file_type !== "runtime_env_packages" ||
          b.access_mode !== "WRITE" ||
          !PackageStore.validName(name)
        ) {
          throw new ApiError(
            400,
            "The emulator's cloud data bucket accepts only WRITE of runtime_env_packages/<name>.zip " +
              `(got ${String(b.access_mode)} ${String(b.file_type)}/${name}).`,
          );
        }
        if (!deps.packages) {
          throw new ApiError(400, "Uploads need the local runtime (the emulator runs simulated).");
        }
        return ok({ result: deps.packages.presign(name) });
      },
    ),
    route("GET", "/api/v2/logs/job_logs_download_v2/{job_id}", ({ params, query }) => {
      const size = Math.min(1000, Math.max(1, Number(query.page_size ?? 1000) || 1000));
      const result = deps.jobLogs(params.job_id!, query.next_page_token, size);
      if (result === undefined) throw new ApiError(404, `Job run '${params.job_id}' not found`);
      return ok({ result });
    }),
  ];
}
