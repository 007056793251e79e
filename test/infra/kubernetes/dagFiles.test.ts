// Table-driven tests of the DAG ConfigMap helper (pure; no Pulumi runtime needed).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

import {
  AIRFLOWIGNORE_HEADER,
  CONFIGMAP_MAX_BYTES,
  dagConfigMap,
  DagFilesError,
} from "../../../infra/kubernetes/dagFiles.js";
import { dagFilesFromRendered } from "../../../infra/delivery/bundle.js";

const IGNORE_BYTES = ".airflowignore".length + Buffer.byteLength(AIRFLOWIGNORE_HEADER);

describe("dagFilesFromRendered", () => {
  it("keeps dags/* relative to the DAGs folder and leaves the Anyscale YAML out", () => {
    expect(
      dagFilesFromRendered([
        { path: "dags/a.py", content: "a" },
        { path: "dags/sub/b.py", content: "b" },
        { path: "anyscale/jobs/j.yaml", content: "j" },
        { path: "anyscale/services/s.yaml", content: "s" },
      ]),
    ).toEqual({ "a.py": "a", "sub/b.py": "b" });
  });
});

describe("dagConfigMap", () => {
  it("holds each file under its own name, sorted, after the .airflowignore", () => {
    const got = dagConfigMap({ "z.py": "z", "pr_1__b.py": "b", "a.py": "a" });
    expect(got.data).toEqual({
      ".airflowignore": AIRFLOWIGNORE_HEADER,
      "a.py": "a",
      "pr_1__b.py": "b",
      "z.py": "z",
    });
    expect(Object.keys(got.data)).toEqual([".airflowignore", "a.py", "pr_1__b.py", "z.py"]);
  });

  it("keeps a rendered .airflowignore after the kubelet rule", () => {
    const got = dagConfigMap({ "a.py": "a", ".airflowignore": "tests/\n" });
    expect(got.data[".airflowignore"]).toBe(`${AIRFLOWIGNORE_HEADER}tests/\n`);
  });

  it("counts UTF-8 bytes of keys and values the way the API server does", () => {
    const got = dagConfigMap({ "e.py": "ü€" });
    expect(got.totalBytes).toBe(IGNORE_BYTES + "e.py".length + Buffer.byteLength("ü€", "utf8"));
  });

  it("accepts exactly 1 MiB and rejects one byte more, naming the size and the limit", () => {
    const key = "big.py";
    const fits = "x".repeat(CONFIGMAP_MAX_BYTES - IGNORE_BYTES - key.length);
    expect(dagConfigMap({ [key]: fits }).totalBytes).toBe(CONFIGMAP_MAX_BYTES);
    expect(() => dagConfigMap({ [key]: `${fits}x` })).toThrow(DagFilesError);
    expect(() => dagConfigMap({ [key]: `${fits}x` })).toThrow(
      `\`dagFiles\` total ${CONFIGMAP_MAX_BYTES + 1} bytes (1 files) exceeds the 1 MiB ConfigMap limit (${CONFIGMAP_MAX_BYTES} bytes)`,
    );
  });

  it.each([
    ["", "is empty"],
    ["/abs.py", "is not at the root of the DAGs folder"],
    ["anyscale/jobs/x.yaml", "only flat file names"],
    ["llm_workloads/storage.py", "ship packages in the image"],
    ["sp ace.py", "may contain only"],
    [".hidden.py", "must not start with '.'"],
    ["..data", "must not start with '.'"],
    [`${"d".repeat(251)}.py`, "longer than 253"],
  ])("rejects path %j (%s)", (given, want) => {
    expect(() => dagConfigMap({ [given]: "x" })).toThrow(DagFilesError);
    expect(() => dagConfigMap({ [given]: "x" })).toThrow(want);
  });

  it("rejects an empty file set", () => {
    expect(() => dagConfigMap({})).toThrow("`dagFiles` is empty");
  });
});

// The product's committed render (written by `npm run render-dags -- --out test/golden/render`).
const renderDir = join(process.cwd(), "test/golden/render");

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[relative(dir, full).split("\\").join("/")] = readFileSync(full, "utf8");
    }
  };
  walk(dir);
  return out;
}

describe("the product's rendered output", () => {
  it.skipIf(!existsSync(renderDir))(
    "fits in one DAGs ConfigMap (skipped until test/golden/render is generated)",
    () => {
      const tree = readTree(renderDir);
      const files = dagFilesFromRendered(Object.entries(tree).map(([path, content]) => ({ path, content })));
      const cm = dagConfigMap(files);
      const count = Object.keys(cm.data).length;
      const share = ((100 * cm.totalBytes) / CONFIGMAP_MAX_BYTES).toFixed(1);
      console.log(`rendered output: ${count} files, ${cm.totalBytes} bytes = ${share}% of the 1 MiB limit`);
      expect(cm.totalBytes).toBeLessThanOrEqual(CONFIGMAP_MAX_BYTES);
    },
  );
});
