/**
 * Issue 14: a branch that always skips a group (the group depends on the branch and none of the branch's targets
 * is in it) was not reported. Want: the group's dependsOn entry is refused naming both; a group whose task is a
 * target is told instead to list the branch in that task's dependsOn (the existing rule).
 */
import { describe, expect, it } from "vitest";
import { parsePipeline, type DefinitionError } from "../../../pipelines/src/model/index.js";
import { validPipeline } from "../fixtures/pipelines.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- cases poke at untyped shapes on purpose */
type Loose = any;

function issuesOf(given: (p: Loose) => void): { path: string; message: string }[] {
  const p = validPipeline() as Loose;
  given(p);
  try {
    parsePipeline(p, "defs/branch.ts");
    return [];
  } catch (e) {
    return (e as DefinitionError).issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

/** The fixture's branch `route` (targets big / small) and a group `extra` of two tasks. */
function withGroup(p: Loose, groupDependsOn: string[]): void {
  p.tasks.push({
    kind: "group",
    id: "extra",
    dependsOn: groupDependsOn,
    tasks: [
      { kind: "slack", id: "a", connection: "slack_default", channel: "#ai-team", text: "a" },
      {
        kind: "slack",
        id: "b",
        dependsOn: ["extra.a"],
        connection: "slack_default",
        channel: "#ai-team",
        text: "b",
      },
    ],
  });
}

describe("a group downstream of a branch", () => {
  it.each([
    {
      name: "group depending on the branch, no target inside: always skipped",
      given: (p: Loose) => withGroup(p, ["route"]),
      want: [
        {
          path: "tasks.7.dependsOn.0",
          message:
            'group "extra" depends on branch "route" but none of its tasks is a target of the branch: ' +
            "Airflow would always skip the group (make the branch target its first task, or depend on a join)",
        },
      ],
    },
    {
      name: "group depending on the branch and on another task: still always skipped",
      given: (p: Loose) => withGroup(p, ["count", "route"]),
      want: [
        { path: "tasks.7.dependsOn.1", message: expect.stringContaining('group "extra" depends on branch') },
      ],
    },
    {
      name: "group depending on a join after the branch: fine",
      given: (p: Loose) => withGroup(p, ["end"]),
      want: [],
    },
  ])("$name", ({ given, want }) => {
    expect(issuesOf(given)).toEqual(want);
  });
});
