// infra/preview/destroy-preview.sh with a stand-in `pulumi` on PATH that serves a stack export and records its
// calls: the S3 objects are destroyed by target, the dynamic resources (whose provider code comes from the PR)
// are only removed from the state, a provider with a custom plugin URL stops everything, and the stack is
// removed only when no cloud resource remains.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const script = join(process.cwd(), "infra/preview/destroy-preview.sh");
const dir = mkdtempSync(join(tmpdir(), "destroy-preview-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const urn = (type: string, name: string) => `urn:pulumi:pr-7::llm-platform::${type}::${name}`;
const OBJECT = urn("aws:s3/bucketObjectv2:BucketObjectv2", "preview-dags-x");
const DYNAMIC = urn("pulumi-nodejs:dynamic/anyscale:ComputeConfig", "compute-llm-batch-cpu");
const resources = (extraProvider: Record<string, unknown> = {}) => [
  { urn: urn("pulumi:pulumi:Stack", "llm-platform-pr-7"), type: "pulumi:pulumi:Stack", custom: false },
  {
    urn: urn("pulumi:providers:aws", "default"),
    type: "pulumi:providers:aws",
    custom: true,
    inputs: { ...extraProvider },
  },
  { urn: OBJECT, type: "aws:s3/bucketObjectv2:BucketObjectv2", custom: true },
  { urn: DYNAMIC, type: "pulumi-nodejs:dynamic/anyscale:ComputeConfig", custom: true },
];

/** A fake `pulumi`: `stack export` writes the state (objects go once destroyed, dynamic ones once deleted). */
function run(initial: unknown[]): { status: number | null; calls: string[]; stderr: string } {
  const state = join(dir, `state-${Math.random().toString(36).slice(2)}.json`);
  const log = `${state}.log`;
  writeFileSync(state, JSON.stringify({ deployment: { resources: initial } }));
  writeFileSync(log, "");
  const fake = join(dir, "pulumi");
  writeFileSync(
    fake,
    [
      "#!/usr/bin/env bash",
      `echo "$*" >> "${log}"`,
      'if [[ "$1 $2" == "stack export" ]]; then',
      '  out=""; while [[ $# -gt 0 ]]; do [[ "$1" == "--file" ]] && out="$2"; shift; done',
      `  cp "${state}" "$out"; exit 0`,
      "fi",
      'if [[ "$1" == "destroy" ]]; then',
      '  args=("$@"); for ((i=0;i<${#args[@]};i++)); do if [[ "${args[$i]}" == "--target" ]]; then t="${args[$((i+1))]}";',
      `    jq --arg u "$t" '.deployment.resources |= map(select(.urn != $u))' "${state}" > "${state}.tmp" && mv "${state}.tmp" "${state}"; fi; done`,
      "fi",
      'if [[ "$1 $2" == "state delete" ]]; then',
      '  u="${@: -1}"',
      `  jq --arg u "$u" '.deployment.resources |= map(select(.urn != $u))' "${state}" > "${state}.tmp" && mv "${state}.tmp" "${state}"`,
      "fi",
      "exit 0",
    ].join("\n"),
  );
  chmodSync(fake, 0o755);
  const r = spawnSync("bash", [script, "acme/llm-platform/pr-7"], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env["PATH"] ?? ""}` },
  });
  return { status: r.status, calls: readFileSync(log, "utf8").trim().split("\n"), stderr: r.stderr };
}

describe("destroy-preview.sh", () => {
  it("destroys the objects by target, deletes the dynamic resources from state, then removes the stack", () => {
    const r = run(resources());
    expect(r.status, r.stderr).toBe(0);
    const s = "--stack acme/llm-platform/pr-7";
    expect(r.calls).toEqual([
      `stack export ${s} --file ${r.calls[0]!.split("--file ")[1]!}`,
      `destroy ${s} --yes --skip-preview --target ${OBJECT}`,
      `state delete ${s} --yes ${DYNAMIC}`,
      `stack export ${s} --file ${r.calls[3]!.split("--file ")[1]!}`,
      `stack rm ${s} --yes --force`,
    ]);
    // Never a destroy that could reach the dynamic resource.
    expect(r.calls.filter((c) => c.startsWith("destroy")).some((c) => c.includes("dynamic"))).toBe(false);
  });

  it("refuses a state whose provider downloads its plugin from a custom URL", () => {
    const r = run(resources({ pluginDownloadURL: "https://evil.example/plugins" }));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/pluginDownloadURL/);
    expect(r.calls.some((c) => c.startsWith("destroy") || c.startsWith("state delete"))).toBe(false);
  });

  it("refuses a stack that is not a preview", () => {
    const r = spawnSync("bash", [script, "acme/llm-platform/dev"], { encoding: "utf8" });
    expect(r.status).toBe(2);
  });
});
