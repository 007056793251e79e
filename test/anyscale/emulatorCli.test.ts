// `npm run anyscale:emulator` entry: starts on the given port, enforces the token, exits non-zero on bad options.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AnyscaleApiError } from "../../infra/anyscale/client.js";
import { testClient, TOKEN } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

function launch(args: string[], env: Record<string, string> = {}) {
  const child = spawn(TSX, ["local/anyscale-emulator/main.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, listening, exited, output: () => ({ out, err }) };
}

describe("anyscale:emulator CLI", () => {
  it("serves with the token from ANYSCALE_CLI_TOKEN and answers 401 to others", async () => {
    const p = launch(["--port", "0", "--job-pending-ms", "10"], { ANYSCALE_CLI_TOKEN: TOKEN });
    try {
      const url = await p.listening;
      expect((await testClient(url).userInfo()).username).toBe("emulator");
      const err = await testClient(url, { token: "sss_other" })
        .listClouds()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AnyscaleApiError);
      expect((err as AnyscaleApiError).status).toBe(401);
      expect(p.output().out).not.toContain(TOKEN);
    } finally {
      p.child.kill("SIGTERM");
      await p.exited;
    }
  });

  it("rejects a bad option with a message naming it and a non-zero exit", async () => {
    const p = launch(["--port", "0", "--fault-rate", "2"], { ANYSCALE_CLI_TOKEN: TOKEN });
    p.listening.catch(() => undefined);
    expect(await p.exited).toBe(1);
    expect(p.output().err).toMatch(/--fault-rate: .*(1|less)/i);
  });

  it("refuses to start without a token", async () => {
    const p = launch(["--port", "0"]);
    p.listening.catch(() => undefined);
    expect(await p.exited).toBe(1);
    expect(p.output().err).toMatch(/no token: pass --token or set ANYSCALE_CLI_TOKEN/);
  });
});
