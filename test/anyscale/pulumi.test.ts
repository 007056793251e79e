// AnyscaleComputeConfig under pulumi.runtime.setMocks, and its serialized provider run the way Pulumi's
// dynamic-provider host runs it: in a fresh plain-Node process (no tsx loader), via require-from-string.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startValidatedEmulator, TOKEN, type ValidatedEmulator } from "./helpers.js";

const run = promisify(execFile);
let emu: ValidatedEmulator;
const created: pulumi.runtime.MockResourceArgs[] = [];

beforeAll(async () => {
  emu = await startValidatedEmulator();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        created.push(args);
        const inputs = args.inputs as Record<string, unknown>;
        return {
          id: "cpt_mock",
          state: {
            ...inputs,
            nameVersion: `${String(inputs.name)}:1`,
            version: 1,
            computeConfigId: "cpt_mock",
          },
        };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    "llm-platform",
    "test",
    false,
  );
});
afterAll(async () => emu.close());

const output = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("AnyscaleComputeConfig", () => {
  it("registers a dynamic resource whose provider serializes without the token", async () => {
    process.env.ANYSCALE_CLI_TOKEN = TOKEN;
    const { AnyscaleComputeConfig } = await import("../../infra/anyscale/computeConfigResource.js");
    const r = new AnyscaleComputeConfig("gpu", {
      name: "llm-finetune-gpu",
      spec: { cloud: "emulator-cloud", head_node: { instance_type: "m5.xlarge" } },
    });
    expect(await output(r.nameVersion)).toBe("llm-finetune-gpu:1");
    expect(await output(r.computeConfigId)).toBe("cpt_mock");
    const res = created.find((c) => c.name === "gpu");
    expect(res?.type).toBe("pulumi-nodejs:dynamic/anyscale:ComputeConfig");
    const providerText = String((res?.inputs as Record<string, unknown> | undefined)?.__provider);
    expect(providerText).toContain("computeConfigLifecycle.ts");
    expect(providerText).not.toContain(TOKEN);
    expect(JSON.stringify(res?.inputs)).not.toContain(TOKEN);
  });

  it("maps logical keys to name:version for the renderer", async () => {
    const { AnyscaleComputeConfig, computeConfigNameVersions } =
      await import("../../infra/anyscale/computeConfigResource.js");
    const spec = { cloud: "emulator-cloud", head_node: { instance_type: "m5.xlarge" } };
    const refs = computeConfigNameVersions({
      "llm-serve": new AnyscaleComputeConfig("serve", { name: "llm-serve", spec }),
      "llm-finetune-gpu": new AnyscaleComputeConfig("ft", { name: "llm-finetune-gpu", spec }),
    });
    const value = await output(refs);
    expect(value).toEqual({ "llm-finetune-gpu": "llm-finetune-gpu:1", "llm-serve": "llm-serve:1" });
    expect(Object.keys(value)).toEqual(["llm-finetune-gpu", "llm-serve"]);
  });

  it("runs the serialized provider in a plain Node process against the emulator", async () => {
    const { computeConfigProvider } = await import("../../infra/anyscale/computeConfigResource.js");
    const sf = await pulumi.runtime.serializeFunction(() => computeConfigProvider, { allowSecrets: true });
    const dir = await mkdtemp(join(tmpdir(), "anyscale-provider-"));
    try {
      await writeFile(join(dir, "provider.js"), sf.text);
      const requireFromString = createRequire(import.meta.url).resolve("require-from-string");
      const host = `
        const requireFromString = require(${JSON.stringify(requireFromString)});
        const text = require("node:fs").readFileSync(${JSON.stringify(join(dir, "provider.js"))}, "utf8");
        const provider = requireFromString(text).${sf.exportName}();
        (async () => {
          const spec = { cloud: "emulator-cloud", head_node: { instance_type: "m5.xlarge" } };
          const checked = await provider.check({}, { name: "from-provider", spec, host: process.env.EMU });
          const c = await provider.create(checked.inputs);
          const u = await provider.update(c.id, c.outs, { ...checked.inputs, limits: { idle_termination_minutes: 10 } });
          const r = await provider.read(c.id, u.outs);
          await provider.delete(c.id, u.outs);
          const gone = await provider.read(c.id, u.outs);
          console.log(JSON.stringify({ created: c.outs.nameVersion, updated: u.outs.nameVersion, read: r.props.nameVersion, gone }));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const { stdout } = await run(process.execPath, ["-e", host], {
        cwd: dir,
        env: { PATH: process.env.PATH, ANYSCALE_CLI_TOKEN: TOKEN, EMU: emu.url },
      });
      expect(JSON.parse(stdout.trim().split("\n").pop()!)).toEqual({
        created: "from-provider:1",
        updated: "from-provider:2",
        read: "from-provider:2",
        gone: {},
      });
      expect(emu.violations).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
