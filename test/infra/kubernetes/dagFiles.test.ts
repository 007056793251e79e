// Table-driven tests of the DAG ConfigMap helper (pure; no Pulumi runtime needed).
import { describe, expect, it } from "vitest";

import {
  CONFIGMAP_MAX_BYTES,
  configMapKey,
  dagConfigMap,
  DagFilesError,
} from "../../../infra/kubernetes/dagFiles.js";

describe("configMapKey", () => {
  it.each([
    ["llm_finetune.py", "llm_finetune.py"],
    ["anyscale/jobs/finetune.yaml", "anyscale__jobs__finetune.yaml"],
    ["a/b/c/d.py", "a__b__c__d.py"],
  ])("%s → %s", (given, want) => {
    expect(configMapKey(given)).toBe(want);
  });
});

describe("dagConfigMap", () => {
  it("maps nested paths to flat keys with a key→path projection, sorted", () => {
    const got = dagConfigMap({ "z.py": "z", "anyscale/services/svc.yaml": "s", "a.py": "a" });
    expect(got.data).toEqual({ "a.py": "a", "anyscale__services__svc.yaml": "s", "z.py": "z" });
    expect(Object.keys(got.data)).toEqual(["a.py", "anyscale__services__svc.yaml", "z.py"]);
    expect(got.items).toEqual([
      { key: "a.py", path: "a.py" },
      { key: "anyscale__services__svc.yaml", path: "anyscale/services/svc.yaml" },
      { key: "z.py", path: "z.py" },
    ]);
  });

  it("counts UTF-8 bytes of keys and values the way the API server does", () => {
    const got = dagConfigMap({ "e.py": "ü€" });
    expect(got.totalBytes).toBe("e.py".length + Buffer.byteLength("ü€", "utf8"));
  });

  it("accepts exactly 1 MiB and rejects one byte more, naming the size and the limit", () => {
    const key = "big.py";
    const fits = "x".repeat(CONFIGMAP_MAX_BYTES - key.length);
    expect(dagConfigMap({ [key]: fits }).totalBytes).toBe(CONFIGMAP_MAX_BYTES);
    expect(() => dagConfigMap({ [key]: `${fits}x` })).toThrow(DagFilesError);
    expect(() => dagConfigMap({ [key]: `${fits}x` })).toThrow(
      `\`dagFiles\` total ${CONFIGMAP_MAX_BYTES + 1} bytes (1 files) exceeds the 1 MiB ConfigMap limit (${CONFIGMAP_MAX_BYTES} bytes)`,
    );
  });

  it.each([
    ["", "is empty"],
    ["/abs.py", "must be relative"],
    ["a/../b.py", "'..'"],
    ["a//b.py", "empty"],
    ["sp ace.py", "may contain only"],
    ["a__b.py", "'__'"],
    [`${"d/".repeat(127)}x.py`, "longer than 253"],
  ])("rejects path %j (%s)", (given, want) => {
    expect(() => dagConfigMap({ [given]: "x" })).toThrow(DagFilesError);
    expect(() => dagConfigMap({ [given]: "x" })).toThrow(want);
  });

  it("rejects a path that is both a file and a directory", () => {
    expect(() => dagConfigMap({ anyscale: "x", "anyscale/jobs.yaml": "y" })).toThrow(
      '`dagFiles` path "anyscale" is a file and also the directory of "anyscale/jobs.yaml"',
    );
  });

  it("rejects an empty file set", () => {
    expect(() => dagConfigMap({})).toThrow("`dagFiles` is empty");
  });
});
