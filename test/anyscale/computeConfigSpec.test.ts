// YAML -> REST mapping of compute configs (table-driven given/want), mirroring anyscale 0.26.112's
// compute_config_sdk conversion, and validation errors that name the field and the file.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  ComputeConfigSpecError,
  ComputeConfigSpecSchema,
  parseComputeConfigSpec,
  type ComputeConfigLimits,
  toCreateRequest,
  type ComputeConfigSpecInput,
} from "../../infra/anyscale/computeConfigSpec.js";

const ids = { cloudId: "cld_1" };

describe("toCreateRequest", () => {
  const cases: {
    name: string;
    given: ComputeConfigSpecInput;
    limits?: ComputeConfigLimits;
    want: Record<string, unknown>;
  }[] = [
    {
      name: "head-node only: head stays schedulable, no worker types, cross-zone flag always sent",
      given: { cloud: "c", head_node: { instance_type: "m5.2xlarge" } },
      want: {
        head_node_type: { name: "head-node", instance_type: "m5.2xlarge" },
        auto_select_worker_config: false,
        flags: { "allow-cross-zone-autoscaling": false },
      },
    },
    {
      name: "workers: head unschedulable, min/max -> min_workers/max_workers, market types",
      given: {
        cloud: "c",
        head_node: { instance_type: "m5.xlarge" },
        worker_nodes: [
          { instance_type: "g5.xlarge" },
          { name: "spot", instance_type: "g5.12xlarge", min_nodes: 1, max_nodes: 4, market_type: "SPOT" },
          { name: "prefer", instance_type: "g5.12xlarge", market_type: "PREFER_SPOT" },
        ],
      },
      want: {
        head_node_type: { name: "head-node", instance_type: "m5.xlarge", resources: { cpu: 0, gpu: 0 } },
        worker_node_types: [
          {
            name: "g5.xlarge",
            instance_type: "g5.xlarge",
            min_workers: 0,
            max_workers: 10,
            use_spot: false,
            fallback_to_ondemand: false,
          },
          {
            name: "spot",
            instance_type: "g5.12xlarge",
            min_workers: 1,
            max_workers: 4,
            use_spot: true,
            fallback_to_ondemand: false,
          },
          {
            name: "prefer",
            instance_type: "g5.12xlarge",
            min_workers: 0,
            max_workers: 10,
            use_spot: true,
            fallback_to_ondemand: true,
          },
        ],
      },
    },
    {
      name: "zones, cross-zone scaling, min/max resources into flags, REST-only limits top-level",
      given: {
        cloud: "c",
        head_node: { instance_type: "m5.xlarge", resources: { CPU: 4, GPU: 0, accelerator_slots: 2 } },
        zones: ["us-west-2a"],
        enable_cross_zone_scaling: true,
        min_resources: { GPU: 0 },
        max_resources: { GPU: 8 },
        flags: { custom: 1 },
        advanced_instance_config: { TagSpecifications: [] },
      },
      limits: { idle_termination_minutes: 30, maximum_uptime_minutes: 480 },
      want: {
        allowed_azs: ["us-west-2a"],
        head_node_type: {
          name: "head-node",
          instance_type: "m5.xlarge",
          resources: { cpu: 4, gpu: 0, custom_resources: { accelerator_slots: 2 } },
        },
        flags: {
          custom: 1,
          "allow-cross-zone-autoscaling": true,
          min_resources: { GPU: 0 },
          max_resources: { GPU: 8 },
        },
        idle_termination_minutes: 30,
        maximum_uptime_minutes: 480,
        advanced_configurations_json: { TagSpecifications: [] },
      },
    },
  ];
  it.each(cases)("$name", ({ given, limits, want }) => {
    const req = toCreateRequest("cfg", given, ids, limits);
    expect(req).toMatchObject({ name: "cfg", anonymous: false, new_version: true });
    expect(req.config).toMatchObject({ cloud_id: "cld_1", ...want });
    // The single deployment repeats the top-level config, as the SDK sends it.
    expect(req.config.deployment_configs).toHaveLength(1);
    expect(req.config.deployment_configs[0]?.head_node_type).toEqual(req.config.head_node_type);
    if (!("worker_node_types" in want)) expect(req.config.worker_node_types).toBeUndefined();
  });

  it("is deterministic", () => {
    const given = parse(
      "cloud: c\nhead_node: {instance_type: m5.xlarge}\nworker_nodes: [{instance_type: g5.xlarge}]\n",
    ) as unknown;
    const a = JSON.stringify(toCreateRequest("x", given as ComputeConfigSpecInput, ids));
    expect(JSON.stringify(toCreateRequest("x", given as ComputeConfigSpecInput, ids))).toBe(a);
  });
});

describe("validation", () => {
  const cases: { name: string; given: unknown; paths: string[] }[] = [
    { name: "missing cloud and head node", given: {}, paths: ["cloud", "head_node"] },
    {
      name: "unknown key (typo)",
      given: { cloud: "c", head_node: { instance_type: "m" }, worker_node: [] },
      paths: ["(root)"],
    },
    {
      name: "max below min",
      given: {
        cloud: "c",
        head_node: { instance_type: "m" },
        worker_nodes: [{ instance_type: "g", min_nodes: 5, max_nodes: 2 }],
      },
      paths: ["worker_nodes.0.max_nodes"],
    },
    {
      name: "duplicate worker names",
      given: {
        cloud: "c",
        head_node: { instance_type: "m" },
        worker_nodes: [{ instance_type: "g" }, { instance_type: "g" }],
      },
      paths: ["worker_nodes.1.name"],
    },
    {
      name: "bad market type and empty zones",
      given: {
        cloud: "c",
        head_node: { instance_type: "m" },
        zones: [],
        worker_nodes: [{ instance_type: "g", market_type: "CHEAP" }],
      },
      paths: ["worker_nodes.0.market_type", "zones"],
    },
    {
      name: "auto-select with explicit workers",
      given: {
        cloud: "c",
        head_node: { instance_type: "m" },
        worker_nodes: [],
        auto_select_worker_config: true,
      },
      paths: ["auto_select_worker_config"],
    },
    {
      name: "REST-only limit inside the spec (the SDK model refuses it)",
      given: { cloud: "c", head_node: { instance_type: "m" }, idle_termination_minutes: 20 },
      paths: ["(root)"],
    },
  ];
  it.each(cases)("$name", ({ given, paths }) => {
    let err: unknown;
    try {
      parseComputeConfigSpec(given, "infra/compute-configs/gpu.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ComputeConfigSpecError);
    const e = err as ComputeConfigSpecError;
    expect(e.message).toMatch(/^infra\/compute-configs\/gpu\.yaml: invalid compute config/);
    expect(e.issues.map((i) => i.path).sort()).toEqual(paths);
  });

  it("rejects bad limits, naming the field", () => {
    expect(() =>
      toCreateRequest("cfg", { cloud: "c", head_node: { instance_type: "m" } }, ids, {
        maximum_uptime_minutes: 0,
      }),
    ).toThrow(/limits\.maximum_uptime_minutes/);
  });

  it("rejects a name with a version tag", () => {
    expect(() => toCreateRequest("cfg:2", { cloud: "c", head_node: { instance_type: "m" } }, ids)).toThrow(
      /must not contain ":"/,
    );
  });
});

// Every spec the repository declares goes through the installed SDK's own `ComputeConfig` model (and the REST
// body built from it through the generated REST client's models), so a field the SDK refuses fails here.
describe.skipIf(!existsSync(join(process.cwd(), ".venv/bin/python")))(
  "against the installed anyscale SDK",
  () => {
    interface Item {
      source: string;
      spec: unknown;
      rest?: unknown;
    }
    /** Every `llm-platform:computeConfigs` entry of every Pulumi.<stack>.yaml. */
    function stackFileEntries(): {
      source: string;
      entry: { spec: unknown; limits?: ComputeConfigLimits };
    }[] {
      const files = readdirSync(process.cwd()).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
      return files.flatMap((f) => {
        const doc = parse(readFileSync(join(process.cwd(), f), "utf8")) as {
          config?: Record<string, unknown>;
        };
        const configs = (doc.config?.["llm-platform:computeConfigs"] ?? {}) as Record<
          string,
          { spec: unknown; limits?: ComputeConfigLimits }
        >;
        return Object.entries(configs).map(([k, entry]) => ({ source: `${f}#${k}`, entry }));
      });
    }
    const entries = stackFileEntries();
    const items: Item[] = [
      ...entries.flatMap(({ source, entry }) => [
        { source: `${source} (as written)`, spec: entry.spec },
        {
          source: `${source} (parsed, with REST body)`,
          spec: parseComputeConfigSpec(entry.spec, source),
          rest: toCreateRequest("cfg", entry.spec as ComputeConfigSpecInput, ids, entry.limits),
        },
      ]),
      // Control: a REST-only limit inside the spec must fail, or the harness proves nothing.
      {
        source: "control: limit inside spec",
        spec: { cloud: "c", head_node: { instance_type: "m" }, idle_termination_minutes: 20 },
      },
    ];
    let sdk: { results: { source: string; error: string | null }[]; fields: string[] };
    beforeAll(() => {
      const python = join(process.cwd(), ".venv/bin/python");
      const checker = join(process.cwd(), "test/anyscale/sdk/check_compute_configs.py");
      const r = spawnSync(python, [checker], { input: JSON.stringify(items), encoding: "utf8" });
      if (r.status !== 0) throw new Error(`SDK checker failed: ${r.stderr}`);
      sdk = JSON.parse(r.stdout) as typeof sdk;
    });

    it("loads every stack file's spec as written and as parsed, and its REST body", () => {
      expect(entries.length).toBeGreaterThanOrEqual(9); // dev, prod, k8s-dev × 3 configs
      expect(sdk.results).toHaveLength(items.length);
      const failed = sdk.results.filter((r) => r.error !== null && !r.source.startsWith("control:"));
      expect(failed).toEqual([]);
    });

    it("refuses what the SDK refuses (the check can fail)", () => {
      const control = sdk.results.find((r) => r.source.startsWith("control:"));
      expect(control?.error).toMatch(/unexpected keyword argument 'idle_termination_minutes'/);
    });

    it("accepts exactly the SDK model's top-level fields", () => {
      expect(Object.keys(ComputeConfigSpecSchema.shape).sort()).toEqual(sdk.fields);
    });
  },
);
