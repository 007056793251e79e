/** validatePipelines: problems that span definition files, each reported against the right file and field. */
import { describe, expect, it } from "vitest";
import {
  DefinitionError,
  parsePipeline,
  validatePipelines,
  type LoadedDefinition,
} from "../../../pipelines/src/model/index.js";
import { clone, validPipeline } from "../fixtures/pipelines.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument -- cases poke at untyped shapes on purpose */
type Loose = any;

function load(...ps: Loose[]): LoadedDefinition[] {
  return ps.map((p, i) => ({ file: `defs/p${i}.ts`, pipeline: parsePipeline(p, `defs/p${i}.ts`) }));
}

function issues(defs: LoadedDefinition[]): string[] {
  try {
    validatePipelines(defs);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return (e as DefinitionError).issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
  }
}

const producer = (): Loose => {
  const p = clone(validPipeline("producer")) as Loose;
  p.tasks.push({ kind: "emitAsset", id: "emit", dependsOn: ["train"], asset: "s3://bucket/datasets/viggo" });
  return p;
};
const consumer = (uri = "s3://bucket/datasets/viggo"): Loose => {
  const p = clone(validPipeline("consumer")) as Loose;
  p.schedule = { kind: "asset", assets: [uri] };
  return p;
};

describe("validatePipelines", () => {
  it("accepts a producer and a consumer of an asset, and a trigger of a loaded dag", () => {
    const c = consumer();
    const pr = producer();
    pr.tasks.push({ kind: "triggerPipeline", id: "kick", dependsOn: ["train"], dagId: "consumer" });
    expect(issues(load(pr, c))).toEqual([]);
    expect(validatePipelines(load(pr, c)).map((p) => p.dagId)).toEqual(["producer", "consumer"]);
  });

  const cases: { name: string; given: () => Loose[]; want: string }[] = [
    {
      name: "duplicate dag id in two files",
      given: () => [
        validPipeline("same"),
        { ...clone(validPipeline("same")), tasks: clone(validPipeline("other")).tasks },
      ],
      want: 'defs/p1.ts: dagId: dag id "same" is also used by defs/p0.ts',
    },
    {
      name: "asset schedule on an asset nobody emits",
      given: () => [producer(), consumer("s3://bucket/elsewhere")],
      want: 'defs/p1.ts: schedule.assets.0: no loaded pipeline emits asset "s3://bucket/elsewhere" (add an emitAsset task to its producer)',
    },
    {
      name: "trigger of an unknown dag",
      given: () => {
        const p = clone(validPipeline("a")) as Loose;
        p.tasks.push({ kind: "triggerPipeline", id: "kick", dependsOn: ["train"], dagId: "ghost" });
        return [p];
      },
      want: 'defs/p0.ts: tasks.7.dagId: no loaded pipeline has dag id "ghost"',
    },
    {
      name: "trigger conf key that is not a param of the target",
      given: () => {
        const p = clone(validPipeline("a")) as Loose;
        p.tasks.push({
          kind: "triggerPipeline",
          id: "kick",
          dependsOn: ["train"],
          dagId: "b",
          conf: { epoch: 3 },
        });
        return [p, validPipeline("b")];
      },
      want: 'defs/p0.ts: tasks.7.conf.epoch: "epoch" is not a param of b (params: epochs, threshold)',
    },
    {
      name: "pipeline triggering itself",
      given: () => {
        const p = clone(validPipeline("a")) as Loose;
        p.tasks.push({ kind: "triggerPipeline", id: "kick", dependsOn: ["train"], dagId: "a" });
        return [p];
      },
      want: "defs/p0.ts: tasks.7.dagId: a pipeline cannot trigger itself",
    },
    {
      name: "Anyscale job name used in two files",
      given: () => {
        const b = clone(validPipeline("b")) as Loose;
        b.tasks[0].name = "a-train";
        return [validPipeline("a"), b];
      },
      want: 'defs/p1.ts: tasks.0.name: Anyscale job name "a-train" is also used in defs/p0.ts',
    },
    {
      name: "one service with two specs in two files",
      given: () => {
        const b = clone(validPipeline("b")) as Loose;
        b.tasks[1].name = "a-svc";
        b.tasks[6].tasks[1].service = "a-svc";
        b.tasks[1].computeConfig = "other-gpu";
        return [validPipeline("a"), b];
      },
      want: 'defs/p1.ts: tasks.1.name: service "a-svc" has a different spec in defs/p0.ts (one YAML file per service)',
    },
  ];
  it.each(cases)("$name", ({ given, want }) => {
    const got = issues(load(...given()));
    expect(got, JSON.stringify(got)).toContain(want);
  });

  it("allows one service with the same spec in two files (canary in one, promote in another)", () => {
    const b = clone(validPipeline("b")) as Loose;
    b.tasks[1].name = "a-svc";
    b.tasks[1].canaryPercent = 100;
    b.tasks[6].tasks[1].service = "a-svc";
    expect(issues(load(validPipeline("a"), b))).toEqual([]);
  });
});
