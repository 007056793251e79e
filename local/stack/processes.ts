// Child processes of the local stack: each in its own process group, output to a log file, stopped by group
// (SIGTERM, then SIGKILL after a grace period) together with any descendant that left the group, so Ctrl-C
// leaves nothing running.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from "node:fs";

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  readonly running: boolean;
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  /** Each started group leader is recorded here (pid and start time), for `stopLeftovers`. */
  pidFile?: string;
}

/** The start time `ps` reports for a pid ("" when it is gone): with the pid, it identifies one process. */
function startTime(pid: number): string {
  try {
    return execFileSync("ps", ["-p", String(pid), "-o", "lstart="], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/**
 * Kills the process groups a run recorded in `pidFile` that are still alive: what is left when the stack's
 * own process was killed (SIGKILL, a crash) before it could stop its children. A pid counts only if its
 * start time is the recorded one, so a reused pid is never touched.
 */
export function stopLeftovers(pidFile: string): number {
  if (!existsSync(pidFile)) return 0;
  let stopped = 0;
  for (const line of readFileSync(pidFile, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const { pid, started } = JSON.parse(line) as { pid: number; started: string };
    if (started && startTime(pid) === started) {
      signal(-pid, "SIGKILL");
      signal(pid, "SIGKILL");
      stopped += 1;
    }
  }
  return stopped;
}

/** pid -> parent pid of every process on the machine (`ps` works on Linux and macOS). */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  let out: string;
  try {
    out = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" });
  } catch {
    return table;
  }
  for (const line of out.split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid !== undefined && ppid !== undefined && Number.isInteger(pid)) table.set(pid, ppid);
  }
  return table;
}

/** Every live descendant of `root` (children, grandchildren, ...). */
export function descendants(root: number): number[] {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pids: number[], deadline: number): Promise<number[]> {
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(50);
    alive = alive.filter(isAlive);
  }
  return alive;
}

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions,
): ManagedProcess {
  const log = openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    // detached: a new process group, so a signal to the group reaches the workers it forks.
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
  if (opts.pidFile)
    appendFileSync(opts.pidFile, `${JSON.stringify({ pid, started: startTime(pid), name })}\n`);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, sig) => {
      running = false;
      resolve(code ?? sig ?? "unknown");
    });
    child.once("error", () => {
      running = false;
      resolve("spawn error");
    });
  });
  return {
    name,
    pid,
    logFile: opts.logFile,
    exited,
    get running() {
      return running;
    },
    async stop(graceMs = 4000) {
      // SIGTERM to the leader only, as a container runtime does: Airflow's components then stop their own
      // workers in order (signalling those directly makes e.g. the triggerer wait for a lost child).
      const family = new Set([pid, ...descendants(pid)]);
      signal(pid, "SIGTERM");
      const deadline = Date.now() + graceMs;
      // A second SIGTERM after a while: Airflow's "signal again if you don't want to wait" (the triggerer
      // otherwise gives its trigger runner 10 s, the scheduler waits for running tasks).
      const again = Date.now() + graceMs / 2;
      let signalledAgain = false;
      let lastScan = Date.now();
      while (isAlive(pid) && running && Date.now() < deadline) {
        await sleep(50);
        if (!signalledAgain && Date.now() > again) {
          signal(pid, "SIGTERM");
          signalledAgain = true;
        }
        if (Date.now() - lastScan > 500) {
          for (const d of descendants(pid)) family.add(d); // workers started while it shut down
          lastScan = Date.now();
        }
      }
      // Whatever outlived the leader (or the leader itself after the grace period): TERM, then KILL.
      let left = [...family].filter(isAlive);
      // A leader still alive after two SIGTERMs gets SIGKILL at once; orphaned workers get a SIGTERM first.
      if (left.length > 0 && !left.includes(pid)) {
        signal(-pid, "SIGTERM");
        for (const p of left) signal(p, "SIGTERM");
        left = await waitGone(left, Date.now() + 2000);
      }
      if (left.length > 0) {
        signal(-pid, "SIGKILL");
        for (const p of left) signal(p, "SIGKILL");
        await waitGone(left, Date.now() + 2000);
      }
      await Promise.race([exited, sleep(2000)]);
    },
  };
}
