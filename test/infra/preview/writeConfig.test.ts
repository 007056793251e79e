// The preview's stack file is the preview host's plain configuration: no secure value is ever copied.
import { readFileSync } from "node:fs";
import path from "node:path";

import { parse } from "yaml";
import { describe, expect, it } from "vitest";

import { previewStackFile } from "../../../infra/preview/writeConfig.js";
import { REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";

describe("previewStackFile", () => {
  const template = [
    "config:",
    "  aws:region: us-east-1",
    "  llm-platform:target: mwaa",
    "  llm-platform:anyscaleApiToken:",
    "    secure: v1:AAAAsentinelCiphertext",
    "  llm-platform:tags: { cost-center: ml }",
    "",
  ].join("\n");

  it("keeps plain values and drops every secure one", () => {
    const text = previewStackFile(template, "pr-7");
    expect(text).not.toContain("sentinelCiphertext");
    expect(parse(text)).toEqual({
      config: {
        "aws:region": "us-east-1",
        "llm-platform:target": "mwaa",
        "llm-platform:tags": { "cost-center": "ml" },
      },
    });
  });

  it("refuses a stack that is not a preview", () => {
    expect(() => previewStackFile(template, "dev")).toThrow(/dev is not a preview stack/);
  });

  it("works on the committed preview host file", () => {
    const host = readFileSync(path.join(REPO_ROOT, "Pulumi.previews.yaml"), "utf8");
    const config = (parse(previewStackFile(host, "pr-1")) as { config: Record<string, unknown> }).config;
    expect(config["llm-platform:artifactBucket"]).toBe("llm-platform-artifacts-previews");
    expect(Object.values(config).some((v) => typeof v === "object" && v !== null && "secure" in v)).toBe(
      false,
    );
  });
});
