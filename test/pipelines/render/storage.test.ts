// Storage-root rebasing: given/want over strings, then a whole render moved to another bucket.
import { describe, expect, it } from "vitest";

import { loadDefinitions } from "../../../pipelines/src/definitions-loader.js";
import { rebaseStrings, renderAllSync } from "../../../pipelines/src/render/index.js";

const root = { from: "s3://llm-platform-artifacts", to: "s3://acme-ml-prod" };

describe("rebaseStrings", () => {
  const cases: Array<[string, unknown, unknown]> = [
    ["the root itself", "s3://llm-platform-artifacts", "s3://acme-ml-prod"],
    ["a path under it", "s3://llm-platform-artifacts/lora/x", "s3://acme-ml-prod/lora/x"],
    ["inside a word", "--out=s3://llm-platform-artifacts/runs", "--out=s3://acme-ml-prod/runs"],
    [
      "twice in one string",
      "s3://llm-platform-artifacts/a s3://llm-platform-artifacts/b",
      "s3://acme-ml-prod/a s3://acme-ml-prod/b",
    ],
    ["a longer bucket name stays", "s3://llm-platform-artifacts-old/x", "s3://llm-platform-artifacts-old/x"],
    ["another bucket stays", "s3://other/llm-platform-artifacts", "s3://other/llm-platform-artifacts"],
    [
      "nested values",
      { a: ["s3://llm-platform-artifacts/x", 3, null, { b: "s3://llm-platform-artifacts" }], n: 1, t: true },
      { a: ["s3://acme-ml-prod/x", 3, null, { b: "s3://acme-ml-prod" }], n: 1, t: true },
    ],
  ];
  for (const [name, given, want] of cases) it(name, () => expect(rebaseStrings(given, root)).toEqual(want));

  it.each([["s3://"], ["s3://Bad_Bucket"], ["https://x/y"], ["s3://bucket/"]])(
    "refuses the root %s",
    (to) => {
      expect(() => rebaseStrings("x", { from: root.from, to })).toThrow(/must look like s3:\/\/bucket/);
    },
  );
});

describe("renderAllSync with a storage root", () => {
  it("moves every artifact URI of every file and changes nothing else", async () => {
    const defs = await loadDefinitions();
    const plain = renderAllSync(defs);
    const moved = renderAllSync(defs, { storageRoot: root });
    expect(moved.map((f) => f.path)).toEqual(plain.map((f) => f.path));
    // S3 assets are written as create_asset(bucket=..., key=...): read them back as the URI they stand for, and
    // ignore the layout ruff chooses for lines whose length changed with the bucket name.
    const uris = (text: string): string =>
      text
        .replace(/create_asset\(\s*bucket="([^"]+)",\s*key="([^"]+)",?\s*\)/g, "s3://$1/$2")
        .replace(/\s+/g, " ")
        .replace(/,\s*([)\]}])/g, "$1")
        .replace(/([([{])\s+/g, "$1")
        .replace(/\s+([)\]}])/g, "$1");
    let occurrences = 0;
    for (const [i, f] of plain.entries()) {
      occurrences += uris(f.content).split(root.from).length - 1;
      expect(uris(moved[i]!.content), f.path).toBe(uris(f.content).replaceAll(root.from, root.to));
      expect(uris(moved[i]!.content)).not.toContain(root.from);
    }
    expect(occurrences).toBeGreaterThan(10);
  });
});
