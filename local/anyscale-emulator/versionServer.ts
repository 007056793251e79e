// One service version served for real: `python -m llm_workloads.testing.local_service` as a child process (own
// process group) on its own loopback port. The child prints its URL on stdout; the version is healthy once its
// `GET /-/healthz` answers 200, and UNHEALTHY when the child exits, answers the health check with an error
// several times in a row, or does not get healthy within `healthTimeoutMs`.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export type VersionHealth = "STARTING" | "RUNNING" | "UNHEALTHY" | "STOPPED";

export interface VersionServerSpec {
  readonly python: string;
  /** Prepares the working dir (unpacks the version's package, or an empty dir). */
  readonly prepare: () => Promise<string>;
  /** `model_id` the version serves (`<model_id>:<adapter>` selects an adapter); undefined: any base id. */
  readonly modelId?: string;
  readonly versionName: string;
  /** The version's stable model name and the adapter it means (`model_alias` / `alias_adapter` args). */
  readonly alias?: { name: string; adapter: string };
  readonly scenarioPath?: string;
  /** A fault: the server starts but reports itself unhealthy. */
  readonly neverHealthy: boolean;
  readonly env: Record<string, string>;
  readonly dir: string;
  readonly healthTimeoutMs: number;
  readonly onChange?: () => void;
}

const HEALTH_POLL_MS = 100;
const FAILED_CHECKS_UNHEALTHY = 3;

export class VersionServer {
  #health: VersionHealth = "STARTING";
  #child?: ChildProcess;
  #port?: number;
  #stopped = false;
  #exited: Promise<void> = Promise.resolve();
  #error: string | null = null;
  #startedMs?: number;
  #endedMs?: number;

  constructor(readonly spec: VersionServerSpec) {
    mkdirSync(spec.dir, { recursive: true });
    void this.#start();
  }

  get health(): VersionHealth {
    return this.#health;
  }

  get port(): number | undefined {
    return this.#health === "RUNNING" ? this.#port : undefined;
  }

  get error(): string | null {
    return this.#error;
  }

  #set(h: VersionHealth, error?: string): void {
    if (this.#health === h || this.#health === "STOPPED") return;
    this.#health = h;
    if (error) this.#error = error;
    this.spec.onChange?.();
  }

  async #start(): Promise<void> {
    let cwd: string;
    try {
      cwd = await this.spec.prepare();
    } catch (e) {
      this.#set("UNHEALTHY", `Runtime environment setup failed: ${(e as Error).message}`);
      return;
    }
    if (this.#stopped) return;
    const args = [
      "-m",
      "llm_workloads.testing.local_service",
      "--port",
      "0",
      "--version",
      this.spec.versionName,
    ];
    if (this.spec.modelId) args.push("--model-id", this.spec.modelId);
    if (this.spec.alias && this.spec.modelId)
      args.push("--alias", `${this.spec.alias.name}=${this.spec.alias.adapter}`);
    if (this.spec.scenarioPath) args.push("--scenario", this.spec.scenarioPath);
    if (this.spec.neverHealthy) args.push("--never-healthy");
    const log = createWriteStream(join(this.spec.dir, "server.log"), { flags: "a" });
    const child = spawn(this.spec.python, args, {
      cwd,
      env: this.spec.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    this.#startedMs = Date.now();
    this.#exited = new Promise((resolve) => child.once("close", () => resolve()));
    child.stderr?.pipe(log);
    const deadline = setTimeout(
      () => this.#set("UNHEALTHY", `Not healthy within ${this.spec.healthTimeoutMs} ms.`),
      this.spec.healthTimeoutMs,
    );
    child.once("close", (code, signal) => {
      clearTimeout(deadline);
      log.end();
      this.#child = undefined;
      this.#endedMs = Date.now();
      this.#set("UNHEALTHY", `Replica exited (${code !== null ? `code ${code}` : `signal ${signal}`}).`);
    });
    child.once("error", (e) => this.#set("UNHEALTHY", `Could not start the replica: ${e.message}`));
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      log.write(`${line}\n`);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m && this.#port === undefined) {
        this.#port = Number(m[1]);
        void this.#pollHealth(deadline);
      }
    });
  }

  async #pollHealth(deadline: NodeJS.Timeout): Promise<void> {
    let failures = 0;
    while (!this.#stopped && this.#health === "STARTING") {
      try {
        const res = await fetch(`http://127.0.0.1:${this.#port}/-/healthz`, {
          signal: AbortSignal.timeout(2000),
        });
        await res.body?.cancel();
        if (res.ok) {
          clearTimeout(deadline);
          this.#set("RUNNING");
          return;
        }
        failures += 1;
        if (failures >= FAILED_CHECKS_UNHEALTHY) {
          clearTimeout(deadline);
          this.#set("UNHEALTHY", `Health check answered ${res.status} ${FAILED_CHECKS_UNHEALTHY} times.`);
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
    }
  }

  /** Stop the server (SIGTERM to its group, SIGKILL after a grace); resolves when the child is gone. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.#stopped) return this.#exited;
    this.#stopped = true;
    this.#health = "STOPPED";
    const child = this.#child;
    const pid = child?.pid;
    if (child && pid !== undefined) {
      const kill = (sig: NodeJS.Signals) => {
        try {
          process.kill(-pid, sig);
        } catch {
          // already gone
        }
      };
      kill("SIGTERM");
      const t = setTimeout(() => kill("SIGKILL"), graceMs);
      await this.#exited;
      clearTimeout(t);
    }
    this.spec.onChange?.();
  }

  /** When its process started and ended (epoch ms; undefined: not yet). */
  get lifetime(): { startedMs?: number; endedMs?: number } {
    return { startedMs: this.#startedMs, endedMs: this.#endedMs };
  }

  /** Whether its process is alive (started and not yet exited). */
  get alive(): boolean {
    return this.#child !== undefined;
  }

  /** pid of the server process (tests check it is gone after a rollback). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }
}
