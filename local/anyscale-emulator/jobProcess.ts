// A submitted job run for real: each attempt is `bash -c <entrypoint>` in the unpacked working dir, in its own
// process group (so terminate and timeouts kill everything it started), with stdout and stderr appended to one log
// file per attempt. The job's state follows the processes: exit 0 -> SUCCESS; otherwise the attempt FAILED and the
// job is retried until `max_retries` retries are used (-> OUT_OF_RETRIES); `timeout_s` bounds each attempt (as the
// SDK documents it: "the timeout in seconds for each job run"); terminate -> TERMINATED.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

export type AttemptStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "STOPPED";
export type LocalJobState =
  "PENDING" | "RUNNING" | "RESTARTING" | "SUCCESS" | "OUT_OF_RETRIES" | "TERMINATED";

export interface Attempt {
  readonly id: string;
  readonly name: string;
  status: AttemptStatus;
  readonly startedMs: number;
  finishedMs?: number;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  readonly logPath: string;
}

export interface LocalJobSpec {
  readonly jobId: string;
  readonly entrypoint: string;
  /** Prepares the working dir (unpacking the package); rejects when it cannot (the attempt fails). */
  readonly prepare: () => Promise<string>;
  /** The attempt's environment, given its working dir. */
  readonly env: (cwd: string) => Record<string, string>;
  readonly maxRetries: number;
  readonly timeoutS?: number | null;
  /** Lines written at the top of every attempt's log (what was recorded but not installed). */
  readonly preamble: string[];
  readonly dir: string;
  readonly now: () => number;
  /** Grace between SIGTERM and SIGKILL of a process group (ms). */
  readonly killGraceMs?: number;
  readonly onChange?: () => void;
}

const RESTART_DELAY_MS = 100;

export class LocalJob {
  readonly attempts: Attempt[] = [];
  #state: LocalJobState = "PENDING";
  #child?: ChildProcess;
  #terminated = false;
  #workDir?: Promise<string>;
  #timers = new Set<NodeJS.Timeout>();
  #error: string | null = null;
  readonly #settled: Promise<void>;
  #settle!: () => void;

  constructor(readonly spec: LocalJobSpec) {
    mkdirSync(join(spec.dir, "logs"), { recursive: true });
    this.#settled = new Promise((r) => (this.#settle = r));
    this.#later(() => void this.#attempt(), 0);
  }

  get state(): LocalJobState {
    return this.#state;
  }

  get error(): string | null {
    return this.#error;
  }

  /** The working dir the attempts run in, once unpacked. */
  cwd?: string;

  /** Resolves once the job is in a terminal state and no process of it is left. */
  get settled(): Promise<void> {
    return this.#settled;
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #set(state: LocalJobState): void {
    this.#state = state;
    if (state === "SUCCESS" || state === "OUT_OF_RETRIES" || state === "TERMINATED") {
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      if (!this.#child) this.#settle();
    }
    this.spec.onChange?.();
  }

  async #attempt(): Promise<void> {
    if (this.#terminated) return;
    const n = this.attempts.length + 1;
    const suffix = this.spec.jobId.replace(/^prodjob_/, "");
    const attempt: Attempt = {
      id: `prodjobrun_${suffix}_${n}`,
      name: `raysubmit_${suffix}_${n}`,
      status: "RUNNING",
      startedMs: this.spec.now(),
      logPath: join(this.spec.dir, "logs", `attempt-${n}.log`),
    };
    this.attempts.push(attempt);
    const log = openSync(attempt.logPath, "a");
    for (const line of this.spec.preamble) writeSync(log, `${line}\n`);
    let cwd: string;
    try {
      this.#workDir ??= this.spec.prepare();
      cwd = await this.#workDir;
      this.cwd = cwd;
    } catch (e) {
      writeSync(log, `emulator: runtime environment setup failed: ${(e as Error).message}\n`);
      closeSync(log);
      this.#error = `Runtime environment setup failed: ${(e as Error).message}`;
      return this.#finish(attempt, null, null, false);
    }
    if (this.#terminated) {
      closeSync(log);
      return;
    }
    this.#set("RUNNING");
    const child = spawn("bash", ["-c", this.spec.entrypoint], {
      cwd,
      env: this.spec.env(cwd),
      detached: true, // own process group: kill(-pid) reaches everything the entrypoint started
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.#child = child;
    let timedOut = false;
    const timeoutS = this.spec.timeoutS;
    if (timeoutS !== undefined && timeoutS !== null && timeoutS > 0) {
      this.#later(() => {
        timedOut = true;
        this.#killGroup(child);
      }, timeoutS * 1000);
    }
    child.once("error", (e) => {
      this.#error = `Could not start the entrypoint: ${e.message}`;
    });
    child.once("close", (code, signal) => {
      this.#child = undefined;
      if (timedOut) {
        const fd = openSync(attempt.logPath, "a");
        writeSync(fd, `emulator: job run exceeded timeout_s=${timeoutS} and was stopped\n`);
        closeSync(fd);
      }
      this.#finish(attempt, code, signal, timedOut);
    });
  }

  #finish(attempt: Attempt, code: number | null, signal: NodeJS.Signals | null, timedOut: boolean): void {
    attempt.finishedMs = this.spec.now();
    attempt.exitCode = code;
    attempt.signal = signal;
    attempt.timedOut = timedOut;
    if (this.#terminated) {
      attempt.status = "STOPPED";
      this.#set("TERMINATED");
      this.#settle();
      return;
    }
    if (code === 0) {
      attempt.status = "SUCCEEDED";
      this.#error = null;
      this.#set("SUCCESS");
      this.#settle();
      return;
    }
    attempt.status = "FAILED";
    if (code !== null || signal !== null) {
      this.#error = timedOut
        ? `Job run exceeded timeout_s=${this.spec.timeoutS}.`
        : `Job failed: entrypoint exited with ${code !== null ? `code ${code}` : `signal ${signal}`}.`;
    }
    if (this.attempts.length > this.spec.maxRetries) {
      this.#set("OUT_OF_RETRIES");
      this.#settle();
      return;
    }
    this.#set("RESTARTING");
    this.#later(() => void this.#attempt(), RESTART_DELAY_MS);
  }

  #killGroup(child: ChildProcess): void {
    const pid = child.pid;
    if (pid === undefined) return;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // the group is already gone
      }
    };
    signalGroup("SIGTERM");
    const t = setTimeout(() => signalGroup("SIGKILL"), this.spec.killGraceMs ?? 2000);
    t.unref();
    child.once("close", () => {
      clearTimeout(t);
      signalGroup("SIGKILL"); // children that ignored SIGTERM and outlived the leader
    });
  }

  /** Stop the job: kills the running attempt's process group; the job ends TERMINATED. */
  terminate(): void {
    if (this.#terminated || this.#state === "SUCCESS" || this.#state === "OUT_OF_RETRIES") return;
    this.#terminated = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#child) {
      this.#killGroup(this.#child);
    } else {
      const last = this.attempts.at(-1);
      if (last && last.status === "RUNNING") {
        last.status = "STOPPED";
        last.finishedMs = this.spec.now();
      }
      this.#set("TERMINATED");
      this.#settle();
    }
  }
}
