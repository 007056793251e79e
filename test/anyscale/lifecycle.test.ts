// AnyscaleComputeConfig's provider functions (create/diff/update/delete/read) against the emulator.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AnyscaleClient } from "../../infra/anyscale/client.js";
import {
  checkComputeConfig,
  createComputeConfig,
  deleteComputeConfig,
  diffComputeConfig,
  readComputeConfig,
  updateComputeConfig,
  type ComputeConfigInputs,
} from "../../infra/anyscale/computeConfigLifecycle.js";
import { startValidatedEmulator, testClient, TOKEN, type ValidatedEmulator } from "./helpers.js";

let emu: ValidatedEmulator;
let client: AnyscaleClient;
beforeAll(async () => {
  emu = await startValidatedEmulator({
    clouds: [
      { id: "cld_a", name: "cloud-a", isDefault: true },
      { id: "cld_b", name: "cloud-b" },
    ],
  });
  client = testClient(emu.url);
});
afterEach(() => expect(emu.violations).toEqual([]));
afterAll(async () => emu.close());

// REST-only cluster-lifetime limits travel next to the spec (the SDK's ComputeConfig model refuses them).
const LIMITS = { idle_termination_minutes: 30, maximum_uptime_minutes: 600 };
function inputs(name: string, spec: Record<string, unknown>, limits = LIMITS): ComputeConfigInputs {
  const r = checkComputeConfig(undefined, { name, spec, limits });
  if (!r.inputs) throw new Error(JSON.stringify(r.failures));
  return r.inputs;
}
const base = {
  cloud: "cloud-a",
  head_node: { instance_type: "m5.xlarge" },
  worker_nodes: [{ instance_type: "g5.12xlarge", min_nodes: 0, max_nodes: 2, market_type: "SPOT" }],
};

describe("check", () => {
  it("names each invalid field", () => {
    const r = checkComputeConfig(undefined, {
      name: "a:b",
      spec: {
        cloud: "",
        head_node: {},
        worker_nodes: [{ instance_type: "x", min_nodes: 3, max_nodes: 1 }],
        extra: 1,
      },
    });
    const props = (r.failures ?? []).map((f) => f.property).sort();
    expect(props).toEqual([
      "name",
      "spec",
      "spec.cloud",
      "spec.head_node.instance_type",
      "spec.worker_nodes.0.max_nodes",
    ]);
    expect(r.failures?.find((f) => f.property === "spec")?.reason).toMatch(/extra/);
  });
});

describe("lifecycle", () => {
  it("create -> diff -> update (new version) -> read -> delete (archive) -> read gone", async () => {
    const v1in = inputs("llm-finetune-gpu", base);
    const created = await createComputeConfig(client, v1in);
    expect(created.outs).toMatchObject({ version: 1, nameVersion: "llm-finetune-gpu:1", cloudId: "cld_a" });
    expect(created.id).toBe(created.outs.computeConfigId);
    const stored = emu.state.templateById(created.outs.computeConfigId).config;
    expect(stored.idle_termination_minutes).toBe(30);
    expect(stored.maximum_uptime_minutes).toBe(600);
    expect(stored.worker_node_types?.[0]).toMatchObject({
      use_spot: true,
      fallback_to_ondemand: false,
      max_workers: 2,
    });

    // Same spec with defaults written out: no change.
    const explicit = inputs("llm-finetune-gpu", { ...base, enable_cross_zone_scaling: false });
    expect(diffComputeConfig(created.outs, explicit)).toMatchObject({ changes: false, replaces: [] });

    const v2in = inputs("llm-finetune-gpu", {
      ...base,
      worker_nodes: [{ instance_type: "g5.12xlarge", min_nodes: 0, max_nodes: 4, market_type: "SPOT" }],
    });
    const d = diffComputeConfig(created.outs, v2in);
    expect(d).toMatchObject({
      changes: true,
      replaces: [],
      changedFields: ["spec.worker_nodes[0].max_nodes"],
    });
    const updated = await updateComputeConfig(client, created.outs, v2in);
    expect(updated.outs).toMatchObject({ version: 2, nameVersion: "llm-finetune-gpu:2" });
    expect(updated.outs.computeConfigId).not.toBe(created.outs.computeConfigId);
    // Re-running the same update (e.g. after a lost state write) adopts the version instead of making v3.
    expect((await updateComputeConfig(client, updated.outs, v2in)).outs.version).toBe(2);

    const read = await readComputeConfig(client, created.id, updated.outs);
    expect(read).toEqual({ id: created.id, props: updated.outs });

    await deleteComputeConfig(client, created.id, updated.outs);
    expect(emu.state.templateById(created.outs.computeConfigId).archived_at).toBeTruthy();
    expect(await readComputeConfig(client, created.id, updated.outs)).toEqual({});
    // Deleting again (already archived) is fine.
    await deleteComputeConfig(client, created.id, updated.outs);
  });

  it("marks name and cloud changes as replacements", () => {
    const a = inputs("n1", base);
    const outs = { ...a, cloudId: "cld_a", computeConfigId: "cpt_x", version: 1, nameVersion: "n1:1" };
    expect(diffComputeConfig(outs, inputs("n2", base)).replaces).toEqual(["name"]);
    expect(diffComputeConfig(outs, inputs("n1", { ...base, cloud: "cloud-b" })).replaces).toEqual([
      "spec.cloud",
    ]);
  });

  it("read notices a config archived outside Pulumi", async () => {
    const c = await createComputeConfig(client, inputs("oob-archived", base));
    await client.archiveComputeConfig(c.outs.computeConfigId);
    expect(await readComputeConfig(client, c.id, c.outs)).toEqual({});
    expect(await readComputeConfig(client, "cpt_gone", { ...c.outs, computeConfigId: "cpt_gone" })).toEqual(
      {},
    );
  });

  it("refuses to reuse an archived name, saying why", async () => {
    const c = await createComputeConfig(client, inputs("reused", base));
    await deleteComputeConfig(client, c.id, c.outs);
    await expect(createComputeConfig(client, inputs("reused", base))).rejects.toThrow(
      /archived.*can no longer be used/,
    );
  });

  it("fails an archive refused because a cluster still uses the config, with that reason", async () => {
    const c = await createComputeConfig(client, inputs("in-use", base));
    const job = await client.createJob({
      name: "uses-it",
      config: { entrypoint: "python a.py", compute_config_id: c.outs.computeConfigId },
    });
    await expect(deleteComputeConfig(client, c.id, c.outs)).rejects.toThrow(
      /Cannot archive Anyscale compute config in-use:1: .*job 'uses-it'/,
    );
    await client.terminateJob(job.id);
    await deleteComputeConfig(client, c.id, c.outs);
  });

  it("names the missing cloud and lists the visible ones", async () => {
    await expect(createComputeConfig(client, inputs("x", { ...base, cloud: "nope" }))).rejects.toThrow(
      /cloud "nope" \(spec.cloud\) was not found; clouds visible to this token: cloud-a, cloud-b/,
    );
  });

  it("keeps the token out of inputs and outputs", async () => {
    const c = await createComputeConfig(client, inputs("no-secrets", base));
    expect(JSON.stringify(c)).not.toContain(TOKEN);
  });
});
