// Under 30 % injected 429/5xx answers and dropped connections (half of the 500/502s and drops happening after
// the request took effect), 200
// consecutive operations all succeed and no create happens twice (counted server-side).
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AnyscaleClient } from "../../infra/anyscale/client.js";
import { toCreateRequest } from "../../infra/anyscale/computeConfigSpec.js";
import { startValidatedEmulator, testClient, type ValidatedEmulator } from "./helpers.js";

let emu: ValidatedEmulator;
let client: AnyscaleClient;

beforeAll(async () => {
  emu = await startValidatedEmulator({
    seed: 7,
    faults: { rate: 0.3, statuses: [0, 429, 500, 502, 503], afterCommitShare: 0.5 },
  });
  client = testClient(emu.url, { retries: { maxRetries: 12, baseDelayMs: 1, maxDelayMs: 4 } });
});
afterAll(async () => {
  await emu.close();
});

it("200 operations succeed and every create happens exactly once", async () => {
  const created: { name: string; version: number; id: string }[] = [];
  const jobs: string[] = [];
  let ops = 0;
  for (let i = 0; ops < 200; i++) {
    const name = `cc-fault-${i % 10}`;
    const spec = {
      cloud: "emulator-cloud",
      head_node: { instance_type: "m5.xlarge" },
      worker_nodes: [{ instance_type: "g5.xlarge", max_nodes: 1 + i }],
    };
    const t = await client.createComputeConfig(toCreateRequest(name, spec, { cloudId: "cld_emulator1" }));
    created.push({ name, version: t.version, id: t.id });
    ops++;
    expect((await client.getComputeConfig(t.id))?.version).toBe(t.version);
    ops++;
    expect((await client.findComputeConfig(name))?.id).toBe(t.id);
    ops++;
    if (i % 3 === 0) {
      const job = await client.createJob({
        name: `job-${i}`,
        config: { entrypoint: `python run.py --i ${i}`, compute_config_id: t.id },
      });
      jobs.push(job.id);
      ops++;
      expect((await client.getJob(job.id))?.name).toBe(`job-${i}`);
      ops++;
    }
  }
  // Exactly one server-side create per successful client create: nothing was created twice.
  expect(emu.state.counters.computeTemplateCreates).toBe(created.length);
  expect(emu.state.counters.jobCreates).toBe(jobs.length);
  expect(emu.state.templates).toHaveLength(created.length);
  // Versions per name are 1..n without gaps (a duplicate create would leave a gap or an extra version).
  for (let k = 0; k < 10; k++) {
    const versions = created.filter((c) => c.name === `cc-fault-${k}`).map((c) => c.version);
    expect(versions).toEqual(versions.map((_v, idx) => idx + 1));
  }
  // Faults really were injected, including after-commit ones that forced a look-up.
  const injected = emu.exchanges.filter((x) => x.injected);
  expect(injected.length).toBeGreaterThan(0.2 * emu.exchanges.length);
  const afterCommitCreates = injected.filter(
    (x) =>
      x.method === "POST" &&
      (x.path === "/api/v2/compute_templates/" || x.path.endsWith("/create")) &&
      [500, 502].includes(x.status),
  );
  expect(afterCommitCreates.length).toBeGreaterThan(0);
  expect(emu.violations).toEqual([]);
  console.log(
    `faults: ${ops} ops, ${emu.exchanges.length} HTTP exchanges, ${injected.length} injected, ` +
      `${afterCommitCreates.length} creates took effect but lost their answer, client retries ${client.stats.retries}`,
  );
});
