// The few Airflow 3 REST API calls (`/api/v2`) the e2e drives DAGs with, as a user's script would: unpause,
// trigger with conf, wait for the run, read its task instances and the asset events it emitted.

export type RunState = "queued" | "running" | "success" | "failed";

export interface DagRun {
  dag_run_id: string;
  dag_id: string;
  state: RunState;
  run_after: string;
  start_date: string | null;
  end_date: string | null;
  conf: Record<string, unknown> | null;
  run_type: string;
  triggered_by?: string | null;
}

export interface TaskInstance {
  task_id: string;
  state: string | null;
  try_number: number;
  map_index: number;
}

export interface AssetEvent {
  uri: string;
  extra: Record<string, unknown> | null;
  source_dag_id: string | null;
  source_run_id: string | null;
}

const TERMINAL: readonly string[] = ["success", "failed"];

export class AirflowClient {
  #token?: string;

  constructor(
    readonly url: string,
    readonly login: () => Promise<string>,
  ) {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.#token ??= await this.login();
    const res = await fetch(`${this.url}/api/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(`airflow: ${method} /api/v2${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  async unpause(dagId: string): Promise<void> {
    await this.#call("PATCH", `/dags/${dagId}`, { is_paused: false });
  }

  async trigger(dagId: string, conf: Record<string, unknown> = {}): Promise<DagRun> {
    return this.#call<DagRun>("POST", `/dags/${dagId}/dagRuns`, { logical_date: null, conf });
  }

  async run(dagId: string, runId: string): Promise<DagRun> {
    return this.#call<DagRun>("GET", `/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`);
  }

  async runs(dagId: string): Promise<DagRun[]> {
    const page = await this.#call<{ dag_runs: DagRun[] }>("GET", `/dags/${dagId}/dagRuns?limit=100`);
    return page.dag_runs;
  }

  async taskInstances(dagId: string, runId: string): Promise<TaskInstance[]> {
    const page = await this.#call<{ task_instances: TaskInstance[] }>(
      "GET",
      `/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances?limit=100`,
    );
    return page.task_instances;
  }

  /** task id -> state of a run's task instances. */
  async taskStates(dagId: string, runId: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const ti of await this.taskInstances(dagId, runId)) out[ti.task_id] = ti.state ?? "none";
    return out;
  }

  async assetEvents(sourceDagId: string, sourceRunId: string): Promise<AssetEvent[]> {
    const q = new URLSearchParams({ source_dag_id: sourceDagId, source_run_id: sourceRunId, limit: "50" });
    const page = await this.#call<{ asset_events: AssetEvent[] }>("GET", `/assets/events?${q.toString()}`);
    return page.asset_events;
  }

  /** Polls the run until it succeeded or failed (or `timeoutMs` passed: then it throws). */
  async waitForRun(
    dagId: string,
    runId: string,
    timeoutMs: number,
    onPoll?: () => Promise<void>,
  ): Promise<DagRun> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.run(dagId, runId);
      if (TERMINAL.includes(run.state)) return run;
      if (Date.now() > deadline) {
        const states = await this.taskStates(dagId, runId);
        throw new Error(
          `${dagId} ${runId}: still ${run.state} after ${timeoutMs} ms; tasks ${JSON.stringify(states)}`,
        );
      }
      if (onPoll) await onPoll();
      await new Promise((r) => setTimeout(r, onPoll ? 200 : 500));
    }
  }
}

/** The run stamp the DAGs name their outputs by (`run_after` as %Y%m%dt%H%M%S, UTC; see render/templating.ts). */
export function runStamp(runAfter: string): string {
  const d = new Date(runAfter);
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `t${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`
  );
}
