// `npm run dev` as a user runs it: start, wait for the URL, check what listens and that the login works,
// press Ctrl-C (SIGINT to the foreground process group), then check that no process and no port is left.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { descendants, isAlive } from "../../local/stack/processes.js";
import { portIsFree } from "../../local/stack/ports.js";

const REPO = new URL("../..", import.meta.url).pathname;

/** Listening TCP sockets (address:port) of one process, from /proc (Linux). */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    }
  } catch {
    return []; // exited meanwhile
  }
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      const [local, state, inode] = [cols[1], cols[3], cols[9]];
      if (!local || state !== "0A" || !inode || !inodes.has(inode)) continue; // 0A = LISTEN
      const [hex, port] = local.split(":") as [string, string];
      found.push(`${hexAddress(hex)}:${parseInt(port, 16)}`);
    }
  }
  return found;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

function hexAddress(hex: string): string {
  if (hex.length === 8)
    return hex
      .match(/../g)!
      .map((b) => parseInt(b, 16))
      .reverse()
      .join(".");
  return hex === "0000000000000000FFFF00000100007F"
    ? "127.0.0.1"
    : hex === "00000000000000000000000001000000"
      ? "::1"
      : hex;
}

interface Dev {
  child: ChildProcess;
  out: () => string;
  /** npm's own exit: the signal (as a shell shows ^C) or the exit code. */
  exited: Promise<string>;
  readyMs: number;
}

/** `npm run dev` in its own process group (SIGINT to the group is what a terminal's Ctrl-C sends). */
async function startDev(stateDir: string, spawned: ChildProcess[]): Promise<Dev> {
  const started = Date.now();
  const child = spawn("npm", ["run", "dev", "--silent", "--", "--state-dir", stateDir], {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  spawned.push(child);
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, sig) => resolve(sig ?? String(code))),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ctrl-C stops everything")) resolve();
    });
    void exited.then((code) => reject(new Error(`dev exited ${code} before it was ready:\n${out}\n${err}`)));
  });
  return { child, out: () => out, exited, readyMs: Date.now() - started };
}

describe("npm run dev", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "local-stack-"));
  const spawned: ChildProcess[] = [];
  const families: number[][] = [];
  afterAll(() => {
    // A failed assertion must not leave a stack behind: every group seen gets SIGKILL.
    for (const pid of [...spawned.map((c) => c.pid ?? 0), ...families.flat()]) {
      if (pid > 0 && isAlive(pid)) {
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, "SIGKILL");
          } catch {
            // not a group leader, or gone
          }
        }
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("starts on loopback, prints the login, and Ctrl-C leaves no process or port behind", async () => {
    // A first run killed outright (no chance to stop its children): the next start must end what it left.
    const crashed = await startDev(stateDir, spawned);
    const orphans = descendants(crashed.child.pid as number);
    families.push(orphans);
    process.kill(-(crashed.child.pid as number), "SIGKILL");
    await crashed.exited;
    expect(orphans.filter(isAlive).length).toBeGreaterThanOrEqual(5); // its detached groups outlive it

    const dev = await startDev(stateDir, spawned);
    const { child, readyMs } = dev;
    expect(orphans.filter(isAlive)).toEqual([]);
    const out = dev.out();
    const exited = dev.exited;

    const url = /^Airflow\s+(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
    const login = /^login\s+(\S+) \/ (\S+)$/m.exec(out);
    expect(url).toBeDefined();
    for (const service of [
      "s3 (moto)",
      "slack sink",
      "zendesk sink",
      "anyscale emulator",
      "airflow scheduler",
      "airflow dag-processor",
      "airflow triggerer",
    ]) {
      expect(out).toContain(`ready  ${service}`);
    }
    expect(out).toMatch(/airflow dags\s+3 parsed: llm_data_update, llm_finetune_deploy, llm_retrain_rollout/);
    expect(out).not.toContain("import error");
    // The printed login works against the real API server.
    const token = await fetch(`${url}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: login?.[1], password: login?.[2] }),
    });
    expect(token.status).toBe(201);
    expect(out).not.toMatch(/sss_|xoxb-|zd-local-/); // tokens stay in the environment

    const family = [child.pid as number, ...descendants(child.pid as number)];
    families.push(family);
    const sockets = family.flatMap(listeningSockets);
    expect(sockets.length).toBeGreaterThanOrEqual(5); // moto, Airflow API, emulator, two sinks
    expect(sockets.filter((s) => !s.startsWith("127.0.0.1:"))).toEqual([]);
    const ports = sockets.map((s) => Number(s.split(":").at(-1)));

    const stopAt = Date.now();
    process.kill(-(child.pid as number), "SIGINT");
    expect(["0", "SIGINT"]).toContain(await exited);
    const stopMs = Date.now() - stopAt;
    expect(dev.out()).toContain("local stack: stopped");
    expect(family.filter(isAlive)).toEqual([]);
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
    const stopped = dev
      .out()
      .split("\n")
      .filter((l) => l.startsWith("  stopped"));
    console.log(
      `npm run dev: URL after ${(readyMs / 1000).toFixed(1)} s, stopped in ${(stopMs / 1000).toFixed(1)} s, ` +
        `${family.length} processes, ${ports.length} ports\n${stopped.join("\n")}`,
    );
  }, 240_000);
});
