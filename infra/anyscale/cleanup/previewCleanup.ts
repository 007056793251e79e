// What a closed pull request may leave running on Anyscale: services its preview DAGs rolled out and jobs
// still running. Compute configs are archived by `pulumi destroy`, but Anyscale services and jobs are
// started by Airflow, not by Pulumi, so destroying the stack alone would leave a GPU service billing.
// Names come from the preview's own render (`pr_<n>__` prefix), so only that PR's workloads are touched.
import type { AnyscaleClient } from "../client.js";

/** Job states in which a job still holds (or is about to hold) a cluster. */
export const ACTIVE_JOB_STATES: ReadonlySet<string> = new Set([
  "PENDING",
  "AWAITING_CLUSTER_START",
  "UPDATING",
  "RUNNING",
  "RESTARTING",
]);
/** Service states that need no termination. */
export const DONE_SERVICE_STATES: ReadonlySet<string> = new Set(["TERMINATING", "TERMINATED"]);

export interface AnyscaleNames {
  readonly services: readonly string[];
  readonly jobs: readonly string[];
}

/** Service and job names from rendered files (`anyscale/services/<name>.yaml`, `anyscale/jobs/<name>.yaml`). */
export function anyscaleNamesFromRendered(files: readonly { readonly path: string }[]): AnyscaleNames {
  const pick = (dir: string) =>
    files
      .filter((f) => f.path.startsWith(`anyscale/${dir}/`) && f.path.endsWith(".yaml"))
      .map((f) => f.path.slice(`anyscale/${dir}/`.length, -".yaml".length))
      .sort();
  return { services: pick("services"), jobs: pick("jobs") };
}

export interface CleanupReport {
  readonly servicesTerminated: string[];
  readonly jobsTerminated: string[];
  /** Names checked and found absent or already stopped. */
  readonly alreadyStopped: string[];
}

/** The slice of the client cleanup uses (the emulator-tested AnyscaleClient satisfies it). */
export type CleanupClient = Pick<
  AnyscaleClient,
  "findServiceByName" | "listServices" | "terminateService" | "listJobs" | "terminateJob"
>;

/**
 * Terminate every listed service that is not already stopping and every running job with a listed name.
 * Refuses names without `requiredPrefix`, so a mistake cannot stop production workloads.
 */
export async function cleanupPreview(
  client: CleanupClient,
  names: AnyscaleNames,
  requiredPrefix: string,
): Promise<CleanupReport> {
  if (!/^pr_[1-9][0-9]*__$/.test(requiredPrefix)) {
    throw new Error(
      `refusing to clean up without a preview prefix like "pr_123__" (got ${JSON.stringify(requiredPrefix)})`,
    );
  }
  for (const n of [...names.services, ...names.jobs]) {
    if (!n.startsWith(requiredPrefix))
      throw new Error(`refusing to touch "${n}": it lacks the prefix ${requiredPrefix}`);
  }
  const report: CleanupReport = { servicesTerminated: [], jobsTerminated: [], alreadyStopped: [] };
  // Also every service carrying the prefix: the PR may have added a service the base branch's render lacks.
  const found = (await client.listServices({ name: requiredPrefix }))
    .map((s) => s.name)
    .filter((n) => n.startsWith(requiredPrefix));
  const services = [...new Set([...names.services, ...found])].sort();
  for (const name of services) {
    const service = await client.findServiceByName(name);
    if (service === undefined || DONE_SERVICE_STATES.has(service.current_state)) {
      report.alreadyStopped.push(name);
      continue;
    }
    await client.terminateService(service.id);
    report.servicesTerminated.push(name);
  }
  for (const name of names.jobs) {
    const running = (await client.listJobs({ name })).filter(
      (j) => j.name === name && ACTIVE_JOB_STATES.has(j.state.current_state),
    );
    if (running.length === 0) report.alreadyStopped.push(name);
    for (const job of running) {
      await client.terminateJob(job.id);
      report.jobsTerminated.push(`${name} (${job.id})`);
    }
  }
  return report;
}
