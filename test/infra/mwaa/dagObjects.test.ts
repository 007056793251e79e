// DagObjects under Pulumi mocks: one S3 object per file, stable names, keys and count outputs, and
// argument errors as ResourceErrors. Mocks are installed first, then the module is imported.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

import type * as DagObjectsModule from "../../../infra/mwaa/dagObjects.js";
import { installMocks, settle, valueOf, type Recorder } from "../mocks.js";

const OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";

let mod: typeof DagObjectsModule;
let mocks: Recorder;

beforeAll(async () => {
  mocks = await installMocks("pr-7");
  mod = await import("../../../infra/mwaa/dagObjects.js");
});

async function upload(name: string, args: DagObjectsModule.DagObjectsArgs) {
  const component = new mod.DagObjects(name, args);
  const keys = await valueOf(component.keys);
  const count = await valueOf(component.count);
  await settle();
  const objects = mocks.byType(OBJECT).filter((o) => o.name.startsWith(`${name}-`));
  return { keys, count, objects };
}

describe("DagObjects", () => {
  it("uploads one object per file under the prefix, with content and content type", async () => {
    const { keys, count, objects } = await upload("preview-dags", {
      bucket: "llm-platform-dev-dags-0000000",
      keyPrefix: "dags/",
      files: {
        "pr_7__llm_data_update.py": "# dag\n",
        "llm_workloads/storage.py": pulumi.output("x = 1\n"),
        ".airflowignore": "llm_workloads/\n",
      },
    });
    expect(keys).toEqual([
      "dags/.airflowignore",
      "dags/llm_workloads/storage.py",
      "dags/pr_7__llm_data_update.py",
    ]);
    expect(count).toBe(3);
    const byKey = Object.fromEntries(objects.map((o) => [String(o.inputs["key"]), o.inputs]));
    expect(byKey["dags/pr_7__llm_data_update.py"]).toEqual({
      bucket: "llm-platform-dev-dags-0000000",
      key: "dags/pr_7__llm_data_update.py",
      content: "# dag\n",
      contentType: "text/x-python",
    });
    expect(byKey["dags/llm_workloads/storage.py"]?.["content"]).toBe("x = 1\n");
    expect(byKey["dags/.airflowignore"]?.["contentType"]).toBe("text/plain");
    // Names come from the paths only: the same file keeps its resource (an edit is an in-place update).
    expect(objects.map((o) => o.name).sort()).toEqual(
      [".airflowignore", "llm_workloads/storage.py", "pr_7__llm_data_update.py"]
        .map((p) => mod.objectResourceName("preview-dags", p))
        .sort(),
    );
  });

  it("uploads to the bucket root with an empty prefix", async () => {
    const { keys, objects } = await upload("preview-anyscale", {
      bucket: pulumi.output("bucket-x"),
      keyPrefix: "",
      files: { "anyscale/jobs/finetune.yaml": "name: f\n" },
    });
    expect(keys).toEqual(["anyscale/jobs/finetune.yaml"]);
    expect(objects[0]?.inputs).toMatchObject({ bucket: "bucket-x", contentType: "application/yaml" });
  });

  it("handles no files", async () => {
    const { keys, count, objects } = await upload("empty", { bucket: "b", keyPrefix: "dags/", files: {} });
    expect(keys).toEqual([]);
    expect(count).toBe(0);
    expect(objects).toEqual([]);
  });

  it.each<[string, DagObjectsModule.DagObjectsArgs, RegExp]>([
    [
      "a parent-directory path",
      { bucket: "b", keyPrefix: "dags/", files: { "../x.py": "" } },
      /`files\["\.\.\/x\.py"\]`/,
    ],
    ["an absolute path", { bucket: "b", keyPrefix: "dags/", files: { "/x.py": "" } }, /must be relative/],
    ["a prefix without a slash", { bucket: "b", keyPrefix: "dags", files: { "x.py": "" } }, /`keyPrefix`/],
    [
      "a too long key",
      { bucket: "b", keyPrefix: "dags/", files: { ["a".repeat(1020) + ".py"]: "" } },
      /longer than/,
    ],
  ])("rejects %s with a ResourceError", (_what, args, want) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    let error: unknown;
    try {
      new mod.DagObjects(name, args);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(pulumi.ResourceError);
    expect((error as Error).message).toMatch(want);
  });
});
