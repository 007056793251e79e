// The typed client against the emulator (real HTTP, no mocked fetch), every exchange checked against the
// OpenAPI document.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AnyscaleApiError,
  AnyscaleAmbiguousWriteError,
  AnyscaleConnectionError,
  createAnyscaleClient,
  DEFAULT_ANYSCALE_HOST,
  resolveHost,
  type AnyscaleClient,
} from "../../infra/anyscale/client.js";
import { toCreateRequest } from "../../infra/anyscale/computeConfigSpec.js";
import { startValidatedEmulator, testClient, TOKEN, waitFor, type ValidatedEmulator } from "./helpers.js";

let emu: ValidatedEmulator;
let client: AnyscaleClient;

beforeAll(async () => {
  emu = await startValidatedEmulator();
  client = testClient(emu.url);
});
afterEach(() => {
  expect(emu.violations).toEqual([]);
});
afterAll(async () => {
  await emu.close();
});

const spec = {
  cloud: "emulator-cloud",
  head_node: { instance_type: "m5.xlarge" },
  worker_nodes: [{ instance_type: "g5.xlarge", min_nodes: 0, max_nodes: 2 }],
};

async function newComputeConfig(name: string) {
  return client.createComputeConfig(toCreateRequest(name, spec, { cloudId: "cld_emulator1" }));
}

describe("transport", () => {
  it("defaults the host the way the anyscale CLI does", () => {
    const saved = process.env.ANYSCALE_HOST;
    delete process.env.ANYSCALE_HOST;
    expect(resolveHost(undefined)).toBe(DEFAULT_ANYSCALE_HOST);
    process.env.ANYSCALE_HOST = "http://127.0.0.1:1/";
    expect(resolveHost(undefined)).toBe("http://127.0.0.1:1");
    if (saved === undefined) delete process.env.ANYSCALE_HOST;
    else process.env.ANYSCALE_HOST = saved;
  });

  it("reads the token from ANYSCALE_CLI_TOKEN and fails clearly without one", async () => {
    const saved = process.env.ANYSCALE_CLI_TOKEN;
    delete process.env.ANYSCALE_CLI_TOKEN;
    expect(() => createAnyscaleClient({ host: emu.url })).toThrow(/ANYSCALE_CLI_TOKEN/);
    process.env.ANYSCALE_CLI_TOKEN = TOKEN;
    expect((await createAnyscaleClient({ host: emu.url }).userInfo()).username).toBe("emulator");
    if (saved === undefined) delete process.env.ANYSCALE_CLI_TOKEN;
    else process.env.ANYSCALE_CLI_TOKEN = saved;
  });

  it("does not expose the token as a property", () => {
    expect(JSON.stringify(client)).not.toContain(TOKEN);
  });

  it("reports an unreachable host after retrying", async () => {
    const c = testClient("http://127.0.0.1:9", { retries: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await expect(c.userInfo()).rejects.toThrow(AnyscaleConnectionError);
    expect(c.stats.attempts).toBe(3);
  });

  it("times out slow calls and retries them before giving up", async () => {
    const local = await startValidatedEmulator({ faults: { latencyMs: 300 } });
    const c = testClient(local.url, {
      timeoutMs: 50,
      retries: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const err = await c.listClouds().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnyscaleConnectionError);
    expect((err as Error).message).toMatch(/timeout|aborted/i);
    expect(c.stats.attempts).toBe(2);
    await local.close();
  });

  it("honours Retry-After on 429 (sleeps at least the hinted time)", async () => {
    const local = await startValidatedEmulator({
      faults: { rate: 1, statuses: [429], retryAfterSeconds: 2 },
    });
    const slept: number[] = [];
    const c = testClient(local.url, {
      retries: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 10_000 },
      sleep: (ms) => {
        slept.push(ms);
        if (slept.length === 2) local.setFaults({ rate: 0 });
        return Promise.resolve();
      },
    });
    await expect(c.listClouds()).resolves.toHaveLength(1);
    expect(slept.length).toBe(2);
    expect(Math.min(...slept)).toBeGreaterThanOrEqual(2000);
    expect(local.violations).toEqual([]);
    await local.close();
  });

  it("does not blindly retry a create that failed after it may have taken effect (service apply)", async () => {
    const local = await startValidatedEmulator({ faults: { rate: 0 } });
    const c = testClient(local.url);
    const cc = await c.createComputeConfig(toCreateRequest("svc-amb", spec, { cloudId: "cld_emulator1" }));
    local.setFaults({ rate: 1, statuses: [502], afterCommitShare: 1 });
    await expect(
      c.applyService({ name: "amb", ray_serve_config: {}, build_id: "bld_1", compute_config_id: cc.id }),
    ).rejects.toThrow(AnyscaleAmbiguousWriteError);
    expect(local.state.counters.serviceApplies).toBe(1);
    await local.close();
  });
});

describe("clouds and projects", () => {
  it("finds clouds and the default project", async () => {
    const cloud = await client.findCloudByName("emulator-cloud");
    expect(cloud?.id).toBe("cld_emulator1");
    expect(await client.findCloudByName("nope")).toBeUndefined();
    expect((await client.listClouds()).map((c) => c.name)).toEqual(["emulator-cloud"]);
    expect((await client.getDefaultCloud()).id).toBe("cld_emulator1");
    const project = await client.getDefaultProject("cld_emulator1");
    expect(project.is_default).toBe(true);
    expect((await client.findProjectByName("default", "cld_emulator1"))?.id).toBe(project.id);
    expect(await client.findProjectByName("default", "cld_other")).toBeUndefined();
    expect((await client.listProjects({ parentCloudId: "cld_emulator1" })).map((p) => p.id)).toEqual([
      project.id,
    ]);
  });
});

describe("compute configs", () => {
  it("creates versions under one name and resolves name:version", async () => {
    const v1 = await newComputeConfig("cc-versions");
    const v2 = await client.createComputeConfig(
      toCreateRequest("cc-versions", spec, { cloudId: "cld_emulator1" }, { idle_termination_minutes: 30 }),
    );
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v2.id).not.toBe(v1.id);
    expect((await client.findComputeConfig("cc-versions"))?.id).toBe(v2.id);
    expect((await client.findComputeConfig("cc-versions", { version: 1 }))?.id).toBe(v1.id);
    expect((await client.getComputeConfig(v2.id))?.config.idle_termination_minutes).toBe(30);
    expect(await client.getComputeConfig("cpt_missing")).toBeUndefined();
  });

  it("archives every version, hides them from search, keeps them readable by id", async () => {
    const v1 = await newComputeConfig("cc-archive");
    await newComputeConfig("cc-archive");
    await client.archiveComputeConfig(v1.id);
    expect(await client.findComputeConfig("cc-archive")).toBeUndefined();
    expect((await client.findComputeConfig("cc-archive", { includeArchived: true }))?.version).toBe(2);
    expect((await client.getComputeConfig(v1.id))?.archived_at).toBeTruthy();
  });

  it("pages through search results", async () => {
    for (let i = 0; i < 3; i++) await newComputeConfig("cc-paging");
    const all = await client.searchComputeConfigs({ name: { equals: "cc-paging" }, version: -2 });
    expect(all.map((t) => t.version).sort()).toEqual([1, 2, 3]);
    const page = await client.api.POST("/api/v2/compute_templates/search", {
      params: { query: { count: 2 } },
      body: { name: { equals: "cc-paging" }, version: -2 },
    });
    expect(page.data?.results).toHaveLength(2);
    expect(page.data?.metadata?.next_paging_token).toBeTruthy();
  });
});

describe("jobs", () => {
  it("moves PENDING -> RUNNING -> SUCCESS", async () => {
    const cc = await newComputeConfig("cc-jobs");
    const job = await client.createJob({
      name: "finetune-ok",
      config: { entrypoint: "python -m llm_workloads.finetune", compute_config_id: cc.id },
    });
    expect(job.state.current_state).toBe("PENDING");
    const seen = new Set<string>();
    await waitFor(
      async () => (await client.getJob(job.id))!.state.current_state,
      (s) => (seen.add(s), s === "SUCCESS"),
    );
    expect(seen).toContain("RUNNING");
    const runs = await client.api.POST("/api/v2/decorated_ha_jobs/job_runs/search", {
      body: { ha_job_ids: [job.id, "prodjob_unknown"] },
    });
    expect(runs.data?.results[job.id]?.map((r) => r.status)).toEqual(["SUCCEEDED"]);
    expect(runs.data?.results.prodjob_unknown).toEqual([]);
  });

  it("ends a failing job in OUT_OF_RETRIES with an error, and terminates on request", async () => {
    emu.setFaults({ failingJobNames: ["finetune-bad"] });
    const cc = await newComputeConfig("cc-jobs-fail");
    const bad = await client.createJob({
      name: "finetune-bad",
      config: { entrypoint: "python x.py", compute_config_id: cc.id },
    });
    const done = await waitFor(
      async () => (await client.getJob(bad.id))!,
      (j) => j.state.current_state === "OUT_OF_RETRIES",
    );
    expect(done.state.error).toMatch(/failed/);
    const long = await client.createJob({
      name: "long",
      config: { entrypoint: "python y.py", compute_config_id: cc.id },
    });
    const t = await client.terminateJob(long.id);
    expect(t.state.goal_state).toBe("TERMINATED");
    expect((await client.getJob(long.id))!.state.current_state).toBe("TERMINATED");
    expect((await client.listJobs({ name: "long" })).map((j) => j.id)).toEqual([long.id]);
  });
});

describe("services", () => {
  it("starts, rolls out a held canary at the requested percent, completes, terminates", async () => {
    const cc = await newComputeConfig("cc-svc");
    const base = {
      ray_serve_config: { applications: [{ import_path: "serve:app" }] },
      build_id: "bld_1",
      compute_config_id: cc.id,
    };
    const created = await client.applyService({ name: "llm", version: "v1", canary_percent: 10, ...base });
    expect(created.current_state).toBe("STARTING");
    await waitFor(
      async () => (await client.getService(created.id))!.current_state,
      (s) => s === "RUNNING",
    );

    const rolling = await client.applyService({ name: "llm", version: "v2", canary_percent: 25, ...base });
    expect(rolling.id).toBe(created.id);
    expect(rolling.current_state).toBe("ROLLING_OUT");
    const held = await waitFor(
      async () => (await client.getService(created.id))!,
      (s) => s.canary_version?.current_state === "RUNNING",
    );
    expect(held.current_state).toBe("ROLLING_OUT");
    expect(held.canary_version?.weight).toBe(25);
    expect(held.primary_version.weight).toBe(75);

    await client.applyService({ name: "llm", version: "v2", canary_percent: 100, ...base });
    const done = await waitFor(
      async () => (await client.getService(created.id))!,
      (s) => s.current_state === "RUNNING",
    );
    expect(done.primary_version.version).toBe("v2");
    expect(done.canary_version).toBeNull();
    expect(emu.state.serviceHistory(created.id)).toEqual([
      { version: "v1", canaryPercent: 10, computeConfigId: cc.id },
      { version: "v2", canaryPercent: 25, computeConfigId: cc.id },
      { version: "v2", canaryPercent: 100, computeConfigId: cc.id },
    ]);
    expect((await client.findServiceByName("llm"))?.id).toBe(created.id);

    await client.terminateService(created.id);
    await waitFor(
      async () => (await client.getService(created.id))!.current_state,
      (s) => s === "TERMINATED",
    );
  });

  it("reports UNHEALTHY for a service that never becomes healthy", async () => {
    emu.setFaults({ unhealthyServiceNames: ["sick"] });
    const cc = await newComputeConfig("cc-svc-sick");
    const s = await client.applyService({
      name: "sick",
      ray_serve_config: {},
      build_id: "b",
      compute_config_id: cc.id,
    });
    const done = await waitFor(
      async () => (await client.getService(s.id))!,
      (x) => x.current_state !== "STARTING",
    );
    expect(done.current_state).toBe("UNHEALTHY");
    expect(done.error_message).toBeTruthy();
  });

  it("refuses to archive a compute config a running service uses, with the reason", async () => {
    const cc = await newComputeConfig("cc-busy");
    const s = await client.applyService({
      name: "busy",
      ray_serve_config: {},
      build_id: "b",
      compute_config_id: cc.id,
    });
    const err = await client.archiveComputeConfig(cc.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnyscaleApiError);
    expect((err as AnyscaleApiError).status).toBe(409);
    expect((err as AnyscaleApiError).detail).toContain("service 'busy'");
    await client.terminateService(s.id);
    await waitFor(
      async () => (await client.getService(s.id))!.current_state,
      (x) => x === "TERMINATED",
    );
    await expect(client.archiveComputeConfig(cc.id)).resolves.toBeUndefined();
  });
});

describe("emulator admin endpoints", () => {
  it("set faults, report counters and service history, behind the same token", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const local = await startValidatedEmulator();
    const c = testClient(local.url);
    const cc = await c.createComputeConfig(toCreateRequest("admin", spec, { cloudId: "cld_emulator1" }));
    const svc = await c.applyService({
      name: "adm",
      version: "a",
      ray_serve_config: {},
      build_id: "b",
      compute_config_id: cc.id,
    });
    const stats = (await (await fetch(`${local.url}/_emulator/stats`, { headers: auth })).json()) as {
      counters: { computeTemplateCreates: number; serviceApplies: number };
    };
    expect(stats.counters).toMatchObject({ computeTemplateCreates: 1, serviceApplies: 1 });
    const hist = await (
      await fetch(`${local.url}/_emulator/services/${svc.id}/history`, { headers: auth })
    ).json();
    expect(hist).toEqual({ versions: [{ version: "a", canaryPercent: null, computeConfigId: cc.id }] });
    const set = await fetch(`${local.url}/_emulator/faults`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ rate: 1, statuses: [503] }),
    });
    expect(set.status).toBe(200);
    const flaky = testClient(local.url, { retries: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(flaky.listClouds()).rejects.toMatchObject({ status: 503 });
    expect((await fetch(`${local.url}/_emulator/stats`)).status).toBe(401);
    await local.close();
  });
});

describe("errors a user can act on", () => {
  const cases: {
    name: string;
    call: (c: AnyscaleClient, bad: AnyscaleClient) => Promise<unknown>;
    status: number;
    message: RegExp;
  }[] = [
    {
      name: "401 bad token",
      call: (_c, bad) => bad.userInfo(),
      status: 401,
      message: /HTTP 401: Unauthorized.*Check ANYSCALE_CLI_TOKEN.*request id emu-/,
    },
    {
      name: "404 unknown job",
      call: (c) => c.terminateJob("prodjob_missing"),
      status: 404,
      message: /HTTP 404: Job 'prodjob_missing' not found.*Check the name or id/,
    },
    {
      name: "404 unknown project id",
      call: (c) => c.getDefaultProject("cld_missing"),
      status: 404,
      message: /Cloud 'cld_missing' not found/,
    },
    {
      name: "422 missing head node instance type",
      call: (c) =>
        c.createComputeConfig({
          name: "bad",
          anonymous: false,
          new_version: true,
          config: { cloud_id: "cld_emulator1", head_node_type: { name: "head-node" } },
        }),
      status: 422,
      message: /HTTP 422: .*config\.head_node_type\.instance_type: field required.*fix the fields/,
    },
    {
      name: "422 canary percent out of range",
      call: (c) =>
        c.applyService({
          name: "x",
          ray_serve_config: {},
          build_id: "b",
          compute_config_id: "cpt_x",
          canary_percent: 150,
        }),
      status: 422,
      message: /canary_percent: must be an integer between 0 and 100/,
    },
  ];
  it.each(cases)("$name", async ({ call, status, message }) => {
    const bad = testClient(emu.url, { token: "sss_wrong" });
    const err = await call(client, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnyscaleApiError);
    expect((err as AnyscaleApiError).status).toBe(status);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain("sss_wrong");
  });
});
