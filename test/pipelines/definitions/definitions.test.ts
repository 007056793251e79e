/**
 * The product's three pipelines: they load and validate, they fix the seed demo's defects (structure checked
 * here), and everything they call exists in the workload package with the flags/arguments they pass.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadDefinitions, REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";
import { flattenTasks, taskEdges, topoOrder, type FlatTask } from "../../../pipelines/src/graph/tasks.js";
import { isConcat, isMacroRef, type Pipeline, type Task } from "../../../pipelines/src/model/index.js";
import { run } from "../cli/harness.js";

let pipelines: Map<string, Pipeline>;
let files: Map<string, string>;

beforeAll(async () => {
  const loaded = await loadDefinitions();
  pipelines = new Map(loaded.map((d) => [d.pipeline.dagId, d.pipeline]));
  files = new Map(loaded.map((d) => [d.pipeline.dagId, d.file]));
});

function tasks(dagId: string): FlatTask[] {
  return [...flattenTasks(pipelines.get(dagId)!).tasks];
}
function task<K extends Task["kind"]>(dagId: string, id: string, kind: K): Extract<Task, { kind: K }> {
  const t = tasks(dagId).find((x) => x.fullId === id);
  expect(t, `${dagId}: task ${id}`).toBeDefined();
  expect(t!.task.kind).toBe(kind);
  return t!.task as Extract<Task, { kind: K }>;
}
function literalArgv(argv: readonly unknown[]): string[] {
  return argv.filter((a): a is string => typeof a === "string");
}
function usesRunStamp(v: unknown): boolean {
  return isConcat(v) && v.concat.some((p) => isMacroRef(p) && p.macro === "run_stamp");
}

describe("pipelines/definitions", () => {
  it("holds exactly the three product pipelines, one module each", () => {
    expect([...pipelines.keys()].sort()).toEqual([
      "llm_data_update",
      "llm_finetune_deploy",
      "llm_retrain_rollout",
    ]);
    for (const [dagId, file] of files) expect(file).toBe(`pipelines/definitions/${dagId}.ts`);
  });

  it("every DAG has tags, retries >= 2 and a bounded execution timeout", () => {
    for (const p of pipelines.values()) {
      expect(p.tags.length).toBeGreaterThan(0);
      expect(p.defaultArgs.retries).toBeGreaterThanOrEqual(2);
      expect(p.defaultArgs.executionTimeoutSeconds).toBeGreaterThan(0);
    }
  });

  it("validate (schema, graph, render in memory) passes on the real definitions", async () => {
    const r = await run(["validate"], REPO_ROOT);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("llm_finetune_deploy", () => {
  it("fine-tunes, then deploys, then evaluates, with a teardown for a half-done rollout", () => {
    const p = pipelines.get("llm_finetune_deploy")!;
    const flat = flattenTasks(p);
    const order = topoOrder(flat, taskEdges(flat));
    const pos = (id: string) => order.indexOf(id);
    expect(pos("finetune.train")).toBeLessThan(pos("deploy.rollout"));
    expect(pos("deploy.rollout")).toBeLessThan(pos("evaluate.run"));
    const train = task("llm_finetune_deploy", "finetune.train", "anyscaleJob");
    expect(usesRunStamp(train.entrypoint[train.entrypoint.indexOf("--adapter-name") + 1])).toBe(true);
    const teardown = task("llm_finetune_deploy", "cleanup.rollback_unfinished", "serviceTeardown");
    expect(teardown.setups).toEqual(["deploy.rollout"]);
  });
});

describe("llm_retrain_rollout", () => {
  const DAG = "llm_retrain_rollout";

  it("allows one run at a time", () => {
    expect(pipelines.get(DAG)!.maxActiveRuns).toBe(1);
  });

  it("trains the challenger into a new per-run adapter folder", () => {
    const train = task(DAG, "finetune.train_challenger", "anyscaleJob");
    expect(usesRunStamp(train.entrypoint[train.entrypoint.indexOf("--adapter-name") + 1])).toBe(true);
  });

  it("rolls out silently (canary 0 %), then promotes the same service at 100 %", () => {
    const silent = task(DAG, "deploy.silent_rollout", "anyscaleService");
    const promote = task(DAG, "promote", "anyscaleService");
    expect(silent.canaryPercent).toBe(0);
    expect(promote.canaryPercent).toBe(100);
    expect(promote.name).toBe(silent.name);
    expect(promote.applications).toEqual(silent.applications);
  });

  it("evaluates champion and challenger in one job on the same test set (challenger on the canary)", () => {
    const evaluate = task(DAG, "evaluate.champion_and_challenger", "anyscaleJob");
    const argv = evaluate.entrypoint;
    const models = argv.flatMap((a, i) => (argv[i - 1] === "--model" ? [a] : []));
    expect(models).toHaveLength(2);
    expect(JSON.stringify(models[0])).toContain("champion=");
    expect(JSON.stringify(models[1])).toContain("challenger=");
    expect(literalArgv(argv)).toEqual(
      expect.arrayContaining(["--canary-label", "challenger", "--service-name"]),
    );
    expect(argv.filter((a) => a === "--test-uri")).toHaveLength(1);
  });

  it("branches on the decision read from XCom, not on an exit code, and alerts on Slack", () => {
    const route = task(DAG, "decide.route", "branch");
    expect(route.on).toEqual({ xcom: { task: "decide.read_decision", field: "decision" } });
    expect(route.cases.map((c) => [c.value, c.goTo])).toEqual([
      ["promote", ["registry.record_promotion"]],
      ["keep_champion", ["alert"]],
    ]);
    // The registry is written (create-only) before the service is promoted.
    expect(task(DAG, "promote", "anyscaleService").dependsOn).toEqual(["registry.record_promotion"]);
    expect(task(DAG, "decide.read_decision", "python").callable).toBe(
      "llm_workloads.airflow_tasks.decision:read_decision",
    );
    expect(task(DAG, "alert", "slack").connection).toBe("slack_api_default");
  });

  it("reports after either path (join trigger rule) and tears down the canary also after failures", () => {
    expect(task(DAG, "report.build", "anyscaleJob").triggerRule).toBe("none_failed_min_one_success");
    const teardown = task(DAG, "cleanup.rollback_canary", "serviceTeardown");
    expect(teardown).toMatchObject({ action: "rollbackCanary", setups: ["deploy.silent_rollout"] });
    const flat = flattenTasks(pipelines.get(DAG)!);
    const order = topoOrder(flat, taskEdges(flat));
    expect(order.at(-1)).toBe("cleanup.rollback_canary");
  });
});

describe("llm_data_update", () => {
  const DAG = "llm_data_update";

  it("reads Zendesk, Slack and the S3 drop, then plans, builds (locally or on Ray), publishes and gates", () => {
    const callables = tasks(DAG).flatMap((t) =>
      t.task.kind === "python" ? [t.task.callable.split(":")[1]] : [],
    );
    expect(callables).toEqual([
      "fetch_zendesk_tickets",
      "fetch_slack_messages",
      "read_s3_jsonl_drop",
      "plan_build",
      "build_dataset",
      "publish_dataset",
    ]);
    expect(task(DAG, "build.engine", "branch").cases).toEqual([
      { op: "eq", value: "ray", goTo: ["build.on_ray"] },
    ]);
    expect(task(DAG, "build.engine", "branch").otherwise).toEqual(["build.local"]);
    expect(task(DAG, "build.on_ray", "anyscaleJob").entrypoint.slice(0, 3)).toEqual([
      "python",
      "-m",
      "llm_workloads.dataset_ray",
    ]);
    expect(task(DAG, "build.publish", "python").triggerRule).toBe("none_failed_min_one_success");
    expect(task(DAG, "build.changed", "branch").cases).toEqual([
      { op: "eq", value: true, goTo: ["build.emit_dataset", "gate.enough_records"] },
    ]);
    expect(task(DAG, "build.emit_dataset", "emitAsset").asset).toMatch(/^s3:\/\//);
    const gate = task(DAG, "gate.enough_records", "branch");
    expect(gate.on).toEqual({ xcom: { task: "build.publish", field: "new_since_champion" } });
    expect(gate.cases).toEqual([
      { op: "gte", value: { param: "retrain_threshold" }, goTo: ["gate.trigger_retraining"] },
    ]);
    expect(task(DAG, "gate.trigger_retraining", "triggerPipeline").dagId).toBe("llm_retrain_rollout");
  });

  it("surfaces unusable records (count and location) instead of dropping them silently", () => {
    const text = JSON.stringify(task(DAG, "build.notify", "slack").text);
    expect(text).toContain('"field":"rejected_count"');
    expect(text).toContain('"field":"rejected_uri"');
  });
});

describe("what the definitions call exists in the workload package", () => {
  const WORKLOADS = path.join(REPO_ROOT, "pipelines", "workloads");
  const source = (module: string) => readFile(path.join(WORKLOADS, ...module.split(".")) + ".py", "utf8");

  it("python callables exist and accept the keyword arguments passed", async () => {
    for (const dagId of pipelines.keys()) {
      for (const t of tasks(dagId)) {
        if (t.task.kind !== "python") continue;
        const [module, fn] = t.task.callable.split(":") as [string, string];
        const text = await source(module);
        const signature = new RegExp(`^def ${fn}\\(([\\s\\S]*?)\\)\\s*->`, "m").exec(text);
        expect(signature, `${dagId}/${t.fullId}: def ${fn} in ${module}`).not.toBeNull();
        for (const arg of Object.keys(t.task.args))
          expect(signature![1], `${dagId}/${t.fullId}: ${fn}(${arg}=...)`).toMatch(
            new RegExp(`\\b${arg}\\s*:`),
          );
      }
    }
  });

  it("job entrypoints are python -m modules of the package, and every flag they pass is declared", async () => {
    for (const dagId of pipelines.keys()) {
      for (const t of tasks(dagId)) {
        if (t.task.kind !== "anyscaleJob") continue;
        const argv = literalArgv(t.task.entrypoint);
        expect(argv.slice(0, 2)).toEqual(["python", "-m"]);
        const text = await source(argv[2]!);
        for (const flag of argv.filter((a) => a.startsWith("--")))
          expect(text, `${dagId}/${t.fullId}: ${argv[2]} ${flag}`).toContain(`"${flag}"`);
      }
    }
  });

  it("the service application builder exists", async () => {
    const svc = task("llm_retrain_rollout", "deploy.silent_rollout", "anyscaleService");
    const [module, fn] = svc.applications[0]!.importPath.split(":") as [string, string];
    expect(await source(module)).toMatch(new RegExp(`^def ${fn}\\(`, "m"));
  });
});

describe("training settings match serving", () => {
  it("the adapter rank fits the service's max_lora_rank, and a larger one is refused at render time", async () => {
    const platform = await import("../../../pipelines/definitions/shared/platform.js");
    const served = platform.SERVICE_APPLICATIONS[0]!.args.max_lora_rank;
    expect(platform.TRAINING_SETTINGS.loraRank).toBeLessThanOrEqual(served);
    expect(() => platform.assertRankServable(served, served)).not.toThrow();
    expect(() => platform.assertRankServable(16, 8)).toThrow(
      /TRAINING_SETTINGS\.loraRank: 16 exceeds the service's max_lora_rank 8/,
    );
  });
});
