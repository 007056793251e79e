// cleanup-preview against the emulator: a closed PR's running services and jobs (found by prefix, also those
// only the PR introduced) are terminated and its compute configs archived; production's are untouched, a
// second run finds nothing left, and names without the preview prefix are refused.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { AnyscaleClient } from "../../infra/anyscale/client.js";
import { runCleanup } from "../../infra/anyscale/cleanup/command.js";
import { anyscaleNamesFromRendered, cleanupPreview } from "../../infra/anyscale/cleanup/previewCleanup.js";
import { toCreateRequest } from "../../infra/anyscale/computeConfigSpec.js";
import { REPO_ROOT } from "../../pipelines/src/definitions-loader.js";
import { startValidatedEmulator, testClient, type ValidatedEmulator } from "./helpers.js";

let emu: ValidatedEmulator;
let client: AnyscaleClient;
// Jobs stay RUNNING for the whole test unless terminated.
beforeAll(async () => {
  emu = await startValidatedEmulator({ jobSchedule: { pendingMs: 10, runningMs: 600_000 } });
  client = testClient(emu.url);
});
afterEach(() => expect(emu.violations).toEqual([]));
afterAll(async () => emu.close());

const spec = { cloud: "emulator-cloud", head_node: { instance_type: "m5.xlarge" } };

async function startWorkloads(names: { service: string; job: string }) {
  const cc = await client.createComputeConfig(
    toCreateRequest(`cc-${names.job}`, spec, { cloudId: "cld_emulator1" }),
  );
  const service = await client.applyService({
    name: names.service,
    ray_serve_config: {},
    build_id: "bld_1",
    compute_config_id: cc.id,
  });
  const job = await client.createJob({
    name: names.job,
    config: { entrypoint: "python x.py", compute_config_id: cc.id },
  });
  return { service, job };
}

function capture() {
  let out = "";
  return {
    io: { out: (t: string) => void (out += t), err: () => undefined, cwd: REPO_ROOT },
    out: () => out,
  };
}

describe("cleanup-preview", () => {
  it("derives the preview's names from its own render", () => {
    const names = anyscaleNamesFromRendered([
      { path: "anyscale/services/pr_7__llm-viggo.yaml" },
      { path: "anyscale/jobs/pr_7__llm-report.yaml" },
      { path: "dags/pr_7__x.py" },
    ]);
    expect(names).toEqual({ services: ["pr_7__llm-viggo"], jobs: ["pr_7__llm-report"] });
  });

  it("terminates the PR's service and running jobs only, and is idempotent", async () => {
    const pr = await startWorkloads({ service: "pr_41__llm-viggo", job: "pr_41__llm-finetune-initial" });
    const prod = await startWorkloads({ service: "llm-viggo", job: "llm-finetune-initial" });
    const c = capture();
    await runCleanup({ stack: "pr-41" }, c.io, () => client);
    expect(c.out()).toMatch(/terminated service pr_41__llm-viggo/);
    expect(c.out()).toMatch(/terminated job pr_41__llm-finetune-initial/);
    expect((await client.getService(pr.service.id))!.goal_state).toBe("TERMINATED");
    expect((await client.getJob(pr.job.id))!.state.current_state).toBe("TERMINATED");
    expect((await client.getService(prod.service.id))!.goal_state).toBe("RUNNING");
    expect((await client.getJob(prod.job.id))!.state.current_state).not.toBe("TERMINATED");

    const again = capture();
    await runCleanup({ stack: "pr-41" }, again.io, () => client);
    expect(again.out()).toMatch(/pr-41: 0 services and 0 jobs terminated/);
  });

  it("also stops a prefixed service the base branch's render does not know", async () => {
    const extra = await startWorkloads({ service: "pr_42__experimental-svc", job: "pr_42__unrelated" });
    const c = capture();
    await runCleanup({ stack: "pr-42" }, c.io, () => client);
    expect(c.out()).toMatch(/terminated service pr_42__experimental-svc/);
    expect((await client.getService(extra.service.id))!.goal_state).toBe("TERMINATED");
  });

  it("also stops a prefixed job the base branch's render does not know", async () => {
    const extra = await startWorkloads({ service: "pr_44__svc", job: "pr_44__only-in-the-pr" });
    const other = await startWorkloads({ service: "pr_440__svc", job: "pr_440__only-in-the-pr" });
    const c = capture();
    await runCleanup({ stack: "pr-44" }, c.io, () => client);
    expect(c.out()).toMatch(/terminated job pr_44__only-in-the-pr/);
    expect((await client.getJob(extra.job.id))!.state.current_state).toBe("TERMINATED");
    // pr_440__ is another PR: the prefix match is exact, not a substring of the number.
    expect((await client.getJob(other.job.id))!.state.current_state).not.toBe("TERMINATED");
  });

  it("archives the preview stack's compute configs (pr-<n>-*) and no other", async () => {
    const mk = (name: string) =>
      client.createComputeConfig(toCreateRequest(name, spec, { cloudId: "cld_emulator1" }));
    const mine = await mk("pr-45-llm-batch-cpu");
    const neighbour = await mk("pr-450-llm-batch-cpu");
    const dev = await mk("dev-llm-batch-cpu");
    const c = capture();
    await runCleanup({ stack: "pr-45" }, c.io, () => client);
    expect(c.out()).toMatch(/archived compute config pr-45-llm-batch-cpu/);
    expect((await client.getComputeConfig(mine.id))?.archived_at).toBeTruthy();
    expect((await client.getComputeConfig(neighbour.id))?.archived_at).toBeFalsy();
    expect((await client.getComputeConfig(dev.id))?.archived_at).toBeFalsy();
  });

  it("refuses names outside the preview prefix and non-preview stacks", async () => {
    await expect(cleanupPreview(client, { services: ["llm-viggo"], jobs: [] }, "pr_1__")).rejects.toThrow(
      /lacks the prefix/,
    );
    await expect(cleanupPreview(client, { services: [], jobs: [] }, "")).rejects.toThrow(/preview prefix/);
    await expect(runCleanup({ stack: "prod" }, capture().io, () => client)).rejects.toThrow(/pr-123/);
  });
});
