/**
 * Table-driven given/want tests for every rejection of the definition model: each case mutates a valid pipeline
 * and names the field path and message it must be rejected with.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DefinitionError,
  parsePipeline,
  PipelineSchema,
  type PipelineInput,
} from "../../../pipelines/src/model/index.js";
import { clone, validPipeline } from "../fixtures/pipelines.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- cases poke at untyped shapes on purpose */
type Loose = any;

const FILE = "defs/fixture.ts";

function issuesOf(p: unknown): { path: string; message: string }[] {
  try {
    parsePipeline(p, FILE);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    const err = e as DefinitionError;
    for (const i of err.issues) expect(i.file).toBe(FILE);
    return err.issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

interface Case {
  readonly name: string;
  readonly given: (p: Loose) => void;
  readonly want: { path: string; message: RegExp };
}

const long = (n: number) => "a".repeat(n);

const cases: Case[] = [
  // Strictness
  { name: "unknown top-level key", given: (p) => (p.schedul = 1), want: { path: "", message: /schedul/ } },
  {
    name: "unknown task key",
    given: (p) => (p.tasks[0].entry_point = []),
    want: { path: "tasks.0", message: /entry_point/ },
  },
  {
    name: "unknown task kind",
    given: (p) => (p.tasks[0].kind = "bash"),
    want: { path: "tasks.0.kind", message: /./ },
  },
  // Ids and dependencies
  {
    name: "unknown dependency id",
    given: (p) => p.tasks[1].dependsOn.push("nope"),
    want: { path: "tasks.1.dependsOn.1", message: /unknown task or group id "nope"/ },
  },
  {
    name: "cycle names its ids",
    given: (p) => (p.tasks[0].dependsOn = ["count"]),
    want: {
      path: "tasks",
      message: /dependency cycle: (train -> rollout -> count -> train|.*count.*train.*)/,
    },
  },
  {
    name: "self dependency",
    given: (p) => (p.tasks[0].dependsOn = ["train"]),
    want: { path: "tasks.0.dependsOn.0", message: /cannot depend on itself/ },
  },
  {
    name: "duplicate top-level id",
    given: (p) => (p.tasks[2].id = "train"),
    want: { path: "tasks.2.id", message: /duplicate task id "train"/ },
  },
  {
    name: "duplicate id inside a group",
    given: (p) => (p.tasks[6].tasks[1].id = "report"),
    want: { path: "tasks.6.tasks.1.id", message: /duplicate task id "end.report"/ },
  },
  {
    name: "group id colliding with a task id",
    given: (p) => (p.tasks[6].id = "train"),
    want: { path: "tasks.0.id", message: /duplicate task id "train"/ },
  },
  {
    name: "dag id with a space",
    given: (p) => (p.dagId = "bad id"),
    want: { path: "dagId", message: /A-Za-z0-9_.-/ },
  },
  {
    name: "dag id over 250 chars",
    given: (p) => (p.dagId = long(251)),
    want: { path: "dagId", message: /250/ },
  },
  {
    name: "task id with a dot",
    given: (p) => (p.tasks[0].id = "a.b"),
    want: { path: "tasks.0.id", message: /group prefixes/ },
  },
  {
    name: "full task id over 250 chars",
    given: (p) => {
      p.tasks[6].id = long(200);
      p.tasks[6].tasks[0].id = long(60);
      p.tasks[6].tasks[1].dependsOn = [`${long(200)}.${long(60)}`];
    },
    want: { path: "tasks.6.tasks.0.id", message: /longer than 250/ },
  },
  // Branches and joins
  {
    name: "branch target that does not exist",
    given: (p) => (p.tasks[3].cases[0].goTo = ["missing"]),
    want: { path: "tasks.3.cases.0.goTo.0", message: /branch target "missing" does not exist/ },
  },
  {
    name: "branch target not downstream of the branch",
    given: (p) => (p.tasks[4].dependsOn = ["count"]),
    want: { path: "tasks.3.cases.0.goTo.0", message: /must list "route" in its dependsOn/ },
  },
  {
    name: "join after a branch without a permissive trigger rule",
    given: (p) => delete p.tasks[6].tasks[0].triggerRule,
    want: {
      path: "tasks.6.tasks.0.triggerRule",
      message: /joins paths of branch "route".*none_failed_min_one_success/,
    },
  },
  {
    name: "join after a branch with all_success explicitly",
    given: (p) => (p.tasks[6].tasks[0].triggerRule = "all_success"),
    want: { path: "tasks.6.tasks.0.triggerRule", message: /would be skipped with trigger rule all_success/ },
  },
  {
    name: "direct downstream of a branch that is no target",
    given: (p) =>
      p.tasks.push({
        kind: "slack",
        id: "x",
        dependsOn: ["route"],
        connection: "c",
        channel: "#a",
        text: "t",
      }),
    want: { path: "tasks.7.dependsOn", message: /none of its targets: Airflow would always skip it/ },
  },
  // Templates
  {
    name: "'{{' in a plain string",
    given: (p) => (p.tasks[4].text = "hello {{ ds }}"),
    want: { path: "tasks.4.text", message: /Jinja template/ },
  },
  {
    name: "'{%' in an entrypoint argument",
    given: (p) => p.tasks[0].entrypoint.push("{% if x %}"),
    want: { path: "tasks.0.entrypoint.5", message: /Jinja/ },
  },
  {
    name: "'{#' in service args",
    given: (p) => (p.tasks[1].applications[0].args.x = "{# c #}"),
    want: { path: "tasks.1.applications.0.args.x", message: /Jinja/ },
  },
  {
    name: "'{{' in a concat part",
    given: (p) => (p.tasks[5].text.concat[0] = "{{ params.x }}"),
    want: { path: "tasks.5.text.concat.0", message: /Jinja template/ },
  },
  {
    name: "unknown macro",
    given: (p) => (p.tasks[2].args.version = { macro: "execution_date" }),
    want: { path: "tasks.2.args.version", message: /./ },
  },
  {
    name: "reference to an undeclared param",
    given: (p) => (p.tasks[0].entrypoint[4] = { param: "nope" }),
    want: { path: "tasks.0.entrypoint.4.param", message: /unknown param "nope"/ },
  },
  {
    name: "xcom from a task that is not upstream",
    given: (p) => (p.tasks[0].entrypoint[4] = { xcom: { task: "count" } }),
    want: { path: "tasks.0.entrypoint.4.xcom.task", message: /not upstream/ },
  },
  {
    name: "xcom from an unknown task",
    given: (p) => (p.tasks[5].text.concat[1] = { xcom: { task: "ghost" } }),
    want: { path: "tasks.5.text.concat.1.xcom.task", message: /unknown task id "ghost"/ },
  },
  {
    name: "json object using a reserved reference key",
    given: (p) => (p.tasks[2].args.version = { param: "epochs", extra: 1 }),
    want: { path: "tasks.2.args.version", message: /./ },
  },
  // Schedules and params
  {
    name: "cron with four fields",
    given: (p) => (p.schedule = { kind: "cron", cron: "0 5 * *" }),
    want: { path: "schedule.cron", message: /5 fields/ },
  },
  {
    name: "cron minute out of range",
    given: (p) => (p.schedule = { kind: "cron", cron: "60 5 * * *" }),
    want: { path: "schedule.cron", message: /minute "60" is outside 0-59/ },
  },
  {
    name: "unknown cron preset",
    given: (p) => (p.schedule = { kind: "cron", cron: "@fortnightly" }),
    want: { path: "schedule.cron", message: /unknown preset/ },
  },
  {
    name: "asset schedule without a URI",
    given: (p) => (p.schedule = { kind: "asset", assets: ["my_dataset"] }),
    want: { path: "schedule.assets.0", message: /asset URI/ },
  },
  {
    name: "asset schedule with airflow:// URI",
    given: (p) => (p.schedule = { kind: "asset", assets: ["airflow://x"] }),
    want: { path: "schedule.assets.0", message: /asset URI/ },
  },
  {
    name: "param default below its minimum",
    given: (p) => (p.params.epochs.default = 0),
    want: { path: "params.epochs.default", message: /below minimum 1/ },
  },
  {
    name: "param default not matching its pattern",
    given: (p) => (p.params.name = { type: "string", default: "Bad", pattern: "^[a-z]+$" }),
    want: { path: "params.name.default", message: /does not match pattern/ },
  },
  {
    name: "param default outside its enum",
    given: (p) => (p.params.rank = { type: "integer", default: 3, enum: [4, 8] }),
    want: { path: "params.rank.default", message: /not one of enum/ },
  },
  {
    name: "param pattern that is not a regex",
    given: (p) => (p.params.name = { type: "string", default: "a", pattern: "([" }),
    want: { path: "params.name.default", message: /not a valid regular expression/ },
  },
  {
    name: "array param default item of the wrong type",
    given: (p) => (p.params.ids = { type: "array", items: { type: "integer" }, default: ["x"] }),
    want: { path: "params.ids.default", message: /item 0 is not of type integer/ },
  },
  {
    name: "param name that is not an identifier",
    given: (p) => (p.params["my-param"] = { type: "boolean", default: true }),
    want: { path: "params.my-param", message: /invalid key: param names must be Python identifiers/ },
  },
  {
    name: "retries below 2",
    given: (p) => (p.defaultArgs.retries = 1),
    want: { path: "defaultArgs.retries", message: /at least 2/ },
  },
  // Anyscale
  {
    name: "canaryPercent missing",
    given: (p) => delete p.tasks[1].canaryPercent,
    want: { path: "tasks.1.canaryPercent", message: /./ },
  },
  {
    name: "canaryPercent above 100",
    given: (p) => (p.tasks[1].canaryPercent = 101),
    want: { path: "tasks.1.canaryPercent", message: /100/ },
  },
  {
    name: "inPlace with a canary",
    given: (p) => (p.tasks[1].inPlace = true),
    want: { path: "tasks.1.canaryPercent", message: /inPlace upgrades cannot use a canary/ },
  },
  {
    name: "service name with uppercase letters",
    given: (p) => (p.tasks[1].name = "My-Service"),
    want: { path: "tasks.1.name", message: /lowercase/ },
  },
  {
    name: "service name over 57 characters",
    given: (p) => (p.tasks[1].name = "s" + long(57)),
    want: { path: "tasks.1.name", message: /57/ },
  },
  {
    name: "job name with an underscore",
    given: (p) => (p.tasks[0].name = "llm_finetune"),
    want: { path: "tasks.0.name", message: /lowercase letters, digits and single dashes/ },
  },
  {
    name: "job name ending with a dash",
    given: (p) => (p.tasks[0].name = "llm-"),
    want: { path: "tasks.0.name", message: /lowercase/ },
  },
  {
    name: "empty entrypoint",
    given: (p) => (p.tasks[0].entrypoint = []),
    want: { path: "tasks.0.entrypoint", message: /at least one argument/ },
  },
  {
    name: "entrypoint given as a shell string",
    given: (p) => (p.tasks[0].entrypoint = "python -m x"),
    want: { path: "tasks.0.entrypoint", message: /./ },
  },
  {
    name: "entrypoint element that is a number",
    given: (p) => (p.tasks[0].entrypoint = ["python", 3]),
    want: { path: "tasks.0.entrypoint.1", message: /./ },
  },
  {
    name: "both imageUri and containerfile",
    given: (p) => (p.tasks[0].containerfile = "Containerfile"),
    want: { path: "tasks.0", message: /exactly one of imageUri and containerfile/ },
  },
  {
    name: "neither imageUri nor containerfile",
    given: (p) => delete p.tasks[0].imageUri,
    want: { path: "tasks.0", message: /exactly one of imageUri and containerfile/ },
  },
  {
    name: "compute config with a space",
    given: (p) => (p.tasks[0].computeConfig = "gpu config"),
    want: { path: "tasks.0.computeConfig", message: /name:version/ },
  },
  {
    name: "compute config with version 0",
    given: (p) => (p.tasks[0].computeConfig = "gpu:0"),
    want: { path: "tasks.0.computeConfig", message: /name:version/ },
  },
  {
    name: "service import path without a colon",
    given: (p) => (p.tasks[1].applications[0].importPath = "llm_workloads.serve_app"),
    want: { path: "tasks.1.applications.0.importPath", message: /module.sub:attr/ },
  },
  {
    name: "teardown setup that is not a service rollout",
    given: (p) => (p.tasks[6].tasks[1].setups = ["train"]),
    want: { path: "tasks.6.tasks.1.setups.0", message: /must be an anyscaleService task/ },
  },
  {
    name: "teardown of another service than its setup",
    given: (p) => (p.tasks[6].tasks[1].service = "other-svc"),
    want: { path: "tasks.6.tasks.1.setups.0", message: /rolls out/ },
  },
  {
    name: "teardown with its own trigger rule",
    given: (p) => (p.tasks[6].tasks[1].triggerRule = "all_done"),
    want: { path: "tasks.6.tasks.1.triggerRule", message: /setup\/teardown/ },
  },
  {
    name: "teardown with nothing between it and its setup",
    given: (p) => (p.tasks[6].tasks[1].dependsOn = []),
    want: { path: "tasks.6.tasks.1.dependsOn", message: /runs right after the setup/ },
  },
  {
    name: "slack channel that is neither an id nor a #name",
    given: (p) => (p.tasks[4].channel = "ai team"),
    want: { path: "tasks.4.channel", message: /./ },
  },
  {
    name: "two jobs with the same Anyscale name",
    given: (p) => p.tasks.push({ ...clone(p.tasks[0]), id: "train2" }),
    want: { path: "tasks.7.name", message: /also used by task "train"/ },
  },
  {
    name: "same service rolled out with a different spec",
    given: (p) =>
      p.tasks.push({ ...clone(p.tasks[1]), id: "promote", dependsOn: ["rollout"], computeConfig: "other" }),
    want: { path: "tasks.7.name", message: /different spec/ },
  },
  {
    name: "python callable outside the workload package",
    given: (p) => (p.tasks[2].callable = "os:system"),
    want: { path: "tasks.2.callable", message: /llm_workloads/ },
  },
  // Environment and secrets
  {
    name: "env var name with a dash",
    given: (p) => (p.tasks[0].env = { "MY-VAR": "x" }),
    want: { path: "tasks.0.env.MY-VAR", message: /invalid key: env var names/ },
  },
  {
    name: "secret-named env var with a literal value",
    given: (p) => (p.tasks[0].env = { HF_TOKEN: "abc" }),
    want: { path: "tasks.0.env.HF_TOKEN", message: /looks like a secret/ },
  },
  {
    name: "secret-named env var from a param",
    given: (p) => (p.tasks[0].env = { API_KEY: { param: "epochs" } }),
    want: { path: "tasks.0.env.API_KEY", message: /looks like a secret/ },
  },
  {
    name: "random-looking env value",
    given: (p) => (p.tasks[0].env = { SETTING: "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z" }),
    want: { path: "tasks.0.env.SETTING", message: /looks like a secret key/ },
  },
  {
    name: "Slack token literal anywhere",
    given: (p) => (p.tasks[4].text = "token xoxb-1234567890-abcdefghij"),
    want: { path: "tasks.4.text", message: /a Slack token/ },
  },
  {
    name: "Hugging Face token in service args",
    given: (p) => (p.tasks[1].applications[0].args.hf = "hf_abcdefghijklmnopqrstuvwxyzABCDEF12"),
    want: { path: "tasks.1.applications.0.args.hf", message: /Hugging Face token/ },
  },
  {
    name: "credentials inside a URL",
    given: (p) => (p.tasks[0].entrypoint[2] = "https://user:pw@example.com/x"),
    want: { path: "tasks.0.entrypoint.2", message: /credentials in a URL/ },
  },
  {
    name: "secret flag on the command line",
    given: (p) => p.tasks[0].entrypoint.push("--auth-token", { param: "epochs" }),
    want: { path: "tasks.0.entrypoint.5", message: /secret on the command line/ },
  },
  {
    name: "secret flag with = on the command line",
    given: (p) => p.tasks[0].entrypoint.push({ concat: ["--api-key=", { param: "epochs" }] }),
    want: { path: "tasks.0.entrypoint.5", message: /secret on the command line/ },
  },
  {
    name: "secret reference outside env",
    given: (p) => (p.tasks[2].args.token = { secret: { connection: "hf" } }),
    want: { path: "tasks.2.args.token", message: /./ },
  },
];

describe("definition model rejections", () => {
  it("accepts the fixture as given", () => {
    expect(issuesOf(validPipeline())).toEqual([]);
  });

  it.each(cases)("$name", ({ given, want }) => {
    const p = clone(validPipeline()) as Loose;
    given(p);
    const issues = issuesOf(p);
    expect(issues.length, "expected the definition to be rejected").toBeGreaterThan(0);
    const match = issues.find((i) => i.path === want.path && want.message.test(i.message));
    expect(
      match,
      `no issue at ${want.path} matching ${want.message}; got ${JSON.stringify(issues)}`,
    ).toBeDefined();
  });
});

describe("definition model acceptances", () => {
  const accepted: { name: string; given: (p: Loose) => void }[] = [
    {
      name: "cron with steps, ranges and names",
      given: (p) => (p.schedule = { kind: "cron", cron: "*/15 0-6 * JAN-MAR MON-FRI" }),
    },
    { name: "cron preset", given: (p) => (p.schedule = { kind: "cron", cron: "@daily" }) },
    { name: "pinned compute config", given: (p) => (p.tasks[0].computeConfig = "fixture-gpu:3") },
    {
      name: "containerfile instead of image",
      given: (p) => ((p.tasks[0].containerfile = "Containerfile"), delete p.tasks[0].imageUri),
    },
    {
      name: "secret from a connection in env",
      given: (p) => (p.tasks[0].env = { HF_TOKEN: { secret: { connection: "hf_default" } } }),
    },
    {
      name: "--max-tokens is not a secret flag",
      given: (p) => p.tasks[0].entrypoint.push("--max-tokens", "128"),
    },
    {
      name: "inPlace with canary 100",
      given: (p) => ((p.tasks[1].inPlace = true), (p.tasks[1].canaryPercent = 100)),
    },
    { name: "join with none_failed", given: (p) => (p.tasks[6].tasks[0].triggerRule = "none_failed") },
    {
      name: "service name of exactly 57 characters",
      given: (p) => ((p.tasks[1].name = "s" + long(56)), (p.tasks[6].tasks[1].service = "s" + long(56))),
    },
  ];
  it.each(accepted)("$name", ({ given }) => {
    const p = clone(validPipeline()) as Loose;
    given(p);
    expect(issuesOf(p)).toEqual([]);
  });

  it("fills defaults (dependsOn, env, inPlace, auth, startDate)", () => {
    const parsed = parsePipeline(validPipeline(), FILE);
    const job = parsed.tasks[0]!;
    expect(job.dependsOn).toEqual([]);
    expect(job.kind === "anyscaleJob" && job.env).toEqual({});
    const svc = parsed.tasks[1]!;
    expect(svc.kind === "anyscaleService" && [svc.inPlace, svc.queryAuthTokenEnabled]).toEqual([false, true]);
    expect(parsed.startDate).toBe("2026-01-01");
  });
});

describe("robustness", () => {
  it("never throws on arbitrary JSON (returns issues instead)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(() => PipelineSchema.safeParse(v)).not.toThrow();
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("never throws on a valid pipeline with random task field values", () => {
    const keys = ["dependsOn", "id", "kind", "triggerRule", "entrypoint", "cases", "setups", "tasks", "on"];
    fc.assert(
      fc.property(fc.nat(6), fc.constantFrom(...keys), fc.jsonValue(), (i, key, value) => {
        const p = clone(validPipeline()) as Loose;
        p.tasks[i][key] = value;
        expect(() => PipelineSchema.safeParse(p)).not.toThrow();
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

export type { PipelineInput };
