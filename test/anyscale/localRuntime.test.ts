// The emulator's local runtime over its REST API, every exchange validated against infra/anyscale/openapi.yaml:
// a working-dir upload through the presigned URL, a job that really runs and whose logs come back in chunks, a
// service version that really answers behind its router, canary rollback and terminate. (The real Python SDK
// drives the same paths in test_sdk_jobs.py / test_sdk_services.py.)
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCreateRequest } from "../../infra/anyscale/computeConfigSpec.js";
import { startValidatedEmulator, testClient, TOKEN, waitFor, type ValidatedEmulator } from "./helpers.js";

const PYTHON = join(import.meta.dirname, "..", "..", ".venv", "bin", "python");
const spec = { cloud: "emulator-cloud", head_node: { instance_type: "m5.xlarge" }, worker_nodes: [] };

let emu: ValidatedEmulator;
let client: ReturnType<typeof testClient>;
let tmp: string;

beforeAll(async () => {
  emu = await startValidatedEmulator({ runtime: "local" });
  client = testClient(emu.url);
  tmp = mkdtempSync(join(tmpdir(), "emu-local-test-"));
});
afterAll(async () => {
  await emu.close();
  rmSync(tmp, { recursive: true, force: true });
  // The one exchange outside the document is the unknown route the last test sends on purpose.
  expect(emu.violations).toEqual(["DELETE /api/v2/no_such_thing -> 404: not in the OpenAPI document"]);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Zip `files` under one top-level folder (as the SDK does) and upload it; returns the file_uri. */
async function upload(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(dir, rel), text);
  const zip = join(tmp, `${name}.zip`);
  execFileSync(PYTHON, ["-m", "zipfile", "-c", zip, dir]);
  const presigned = await client.api.POST(
    "/api/v2/clouds/{cloud_id}/generate_cloud_data_bucket_presigned_url",
    {
      params: { path: { cloud_id: "cld_emulator1" } },
      body: { file_type: "runtime_env_packages", file_name: `pkg_${name}.zip`, access_mode: "WRITE" },
    },
  );
  const info = presigned.data!.result;
  expect(info.file_exists).toBe(false);
  const body = await readFile(zip);
  const forged = await fetch(info.url.replace(/signature=[^&]+/, "signature=forged"), {
    method: "PUT",
    body,
  });
  expect(forged.status).toBe(403);
  expect((await fetch(info.url, { method: "PUT", body })).status).toBe(200);
  return info.file_uri;
}

describe("local runtime over REST", () => {
  it("runs an uploaded job and serves its logs in chunks behind the bearer token", async () => {
    const cc = await client.createComputeConfig(
      toCreateRequest("local-jobs", spec, { cloudId: "cld_emulator1" }),
    );
    const uri = await upload("job", { "data.txt": "payload-line\n" });
    const job = await client.createJob({
      name: "cat-data",
      config: {
        entrypoint: "cat data.txt; echo done >&2",
        compute_config_id: cc.id,
        runtime_env: { working_dir: uri },
        max_retries: 0,
      },
    });
    const done = await waitFor(
      async () => (await client.getJob(job.id))!,
      (j) => j.state.current_state === "SUCCESS" || j.state.current_state === "OUT_OF_RETRIES",
      15_000,
    );
    expect(done.state.current_state).toBe("SUCCESS");
    const runId = done.last_job_run_id!;
    const logs = await client.api.GET("/api/v2/logs/job_logs_download_v2/{job_id}", {
      params: { path: { job_id: runId }, query: { page_size: 1000 } },
    });
    const result = logs.data!.result;
    expect(result.log_chunks.length).toBeGreaterThan(0);
    const chunkUrl = result.log_chunks[0]!.chunk_url;
    expect((await fetch(chunkUrl)).status).toBe(403);
    const text = await (
      await fetch(chunkUrl, { headers: { authorization: `Bearer ${result.bearer_token}` } })
    ).text();
    expect(text.split("\n")).toEqual(expect.arrayContaining(["payload-line", "done"]));
  });

  it("serves a version behind the service router, rolls a canary back and terminates", async () => {
    const cc = await client.createComputeConfig(
      toCreateRequest("local-svc", spec, { cloudId: "cld_emulator1" }),
    );
    const app = (root: string) => ({
      applications: [
        {
          name: "llm",
          import_path: "llm_workloads.serve_app:build_app",
          args: { model_id: "m", lora_root: root },
        },
      ],
    });
    const base = { name: "rest-llm", build_id: "bld_rest", compute_config_id: cc.id };
    const created = await client.applyService({ ...base, ray_serve_config: app("s3://b/v1") });
    const up = await waitFor(
      async () => (await client.getService(created.id))!,
      (s) => s.current_state !== "STARTING",
      20_000,
    );
    expect(up.current_state).toBe("RUNNING");
    const chat = (headers: Record<string, string>) =>
      fetch(`${up.base_url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "m:any", messages: [{ role: "user", content: "hello" }] }),
      });
    const auth = { authorization: `Bearer ${up.auth_token}` };
    expect((await chat({})).status).toBe(401);
    const answered = await chat(auth);
    expect(answered.status).toBe(200);
    expect(answered.headers.get("x-emulator-served-by")).toBe(up.primary_version.version);

    await client.applyService({ ...base, ray_serve_config: app("s3://b/v2"), canary_percent: 0 });
    const held = await waitFor(
      async () => (await client.getService(created.id))!,
      (s) => s.canary_version?.current_state === "RUNNING",
      20_000,
    );
    expect(held.current_state).toBe("ROLLING_OUT");
    const canary = await chat({ ...auth, "x-anyscale-version": "canary" });
    expect(canary.headers.get("x-emulator-served-by")).toBe(held.canary_version!.version);

    // Another config while the canary is held replaces that canary, and its server goes.
    const heldPid = emu.state.servicePids(created.id).find((p) => p.role === "canary")!.pid!;
    await client.applyService({ ...base, ray_serve_config: app("s3://b/v3"), canary_percent: 0 });
    const replaced = await waitFor(
      async () => (await client.getService(created.id))!,
      (s) => s.canary_version?.current_state === "RUNNING",
      20_000,
    );
    expect(replaced.canary_version!.version).not.toBe(held.canary_version!.version);
    await waitFor(
      () => Promise.resolve(isAlive(heldPid)),
      (alive) => !alive,
    );

    const rolledBack = await client.api.POST("/api/v2/services-v2/{service_id}/rollback", {
      params: { path: { service_id: created.id } },
      body: {},
    });
    expect(rolledBack.data!.result.canary_version).toBeNull();
    const again = await client.api.POST("/api/v2/services-v2/{service_id}/rollback", {
      params: { path: { service_id: created.id } },
      body: {},
    });
    expect(again.response.status).toBe(409);

    await client.terminateService(created.id);
    const gone = await waitFor(
      async () => (await client.getService(created.id))!,
      (s) => s.current_state === "TERMINATED",
    );
    expect(gone.canary_version).toBeNull();
    expect(emu.state.servicePids(created.id).every((p) => p.pid === null)).toBe(true);
  });

  it("answers an unknown route with a 404 naming method and path", async () => {
    const res = await fetch(`${emu.url}/api/v2/no_such_thing`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(404);
    expect(JSON.stringify(await res.json())).toContain("DELETE /api/v2/no_such_thing");
  });
});
