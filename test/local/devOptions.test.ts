// `npm run dev`'s bad input: one clear error naming the option or file, exit 1, nothing started or wiped.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand } from "../../pipelines/src/cli/run.js";
import { devCommand } from "../../local/stack/command.js";

const dir = mkdtempSync(join(tmpdir(), "dev-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function dev(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), cwd: dir };
  const never = new Promise<string>(() => undefined);
  const code = await runCommand(devCommand(io, never), args, io);
  return { code, out, err };
}

describe("npm run dev options", () => {
  it("refuses a bad port naming the option", async () => {
    const r = await dev(["--airflow-port", "http", "--state-dir", join(dir, "a")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: option airflowPort: /m);
    expect(existsSync(join(dir, "a"))).toBe(false);
  });

  it("refuses a bad sink script naming the file and the field, before touching the state dir", async () => {
    const script = join(dir, "script.json");
    writeFileSync(
      script,
      JSON.stringify({ slack: { channels: {} }, zendesk: { mrFieldId: -1, tickets: [] } }),
    );
    const r = await dev(["--sink-script", script, "--state-dir", join(dir, "b")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${script}: zendesk.mrFieldId: `);
    expect(existsSync(join(dir, "b"))).toBe(false);
  });

  it("never wipes a directory that is not a state dir", async () => {
    const precious = join(dir, "precious");
    mkdirSync(precious);
    writeFileSync(join(precious, "notes.txt"), "keep me");
    const r = await dev(["--state-dir", precious]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--state-dir ${precious}: not empty and not a local-stack state dir`);
    expect(readFileSync(join(precious, "notes.txt"), "utf8")).toBe("keep me");
  });
});
