// What a closed pull request may leave on Anyscale: services its preview DAGs rolled out, jobs still running
// and its compute configs. Services and jobs are started by Airflow, not by Pulumi, so destroying the stack
// alone would leave a GPU service billing. Everything is found BY PREFIX (`pr_<n>__` for services and jobs,
// `pr-<n>-` for compute configs), so workloads that only the PR introduced are stopped too; the base
// branch's render only adds names to check. This code runs from the base branch: the PR-close workflow
// archives the compute configs here instead of letting `pulumi destroy` run the dynamic provider code stored
// in the PR's state.
import { AnyscaleApiError, type AnyscaleClient } from "../client.js";

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
  /** Compute configs archived (`name`). */
  readonly computeConfigsArchived: string[];
  /** Compute configs Anyscale would not archive yet (still used by a terminating cluster), with the reason. */
  readonly computeConfigsInUse: string[];
}

/** The slice of the client cleanup uses (the emulator-tested AnyscaleClient satisfies it). */
export type CleanupClient = Pick<
  AnyscaleClient,
  | "findServiceByName"
  | "listServices"
  | "terminateService"
  | "listJobs"
  | "terminateJob"
  | "searchComputeConfigs"
  | "archiveComputeConfig"
>;

/** `pr_<n>__` (dag ids, jobs, services) → `pr-<n>-` (the stack's compute-config names). */
export function computeConfigPrefix(workloadPrefix: string): string {
  return `${workloadPrefix.replace(/__$/, "").replace("_", "-")}-`;
}

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
  const report: CleanupReport = {
    servicesTerminated: [],
    jobsTerminated: [],
    alreadyStopped: [],
    computeConfigsArchived: [],
    computeConfigsInUse: [],
  };
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
  // Jobs by prefix over the whole listing (the API's `name` filter is not documented as a prefix match), so
  // a job only the PR introduced is stopped as well.
  const activeJobs = (await client.listJobs({})).filter(
    (j) => j.name.startsWith(requiredPrefix) && ACTIVE_JOB_STATES.has(j.state.current_state),
  );
  for (const name of names.jobs) {
    if (!activeJobs.some((j) => j.name === name)) report.alreadyStopped.push(name);
  }
  for (const job of activeJobs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    await client.terminateJob(job.id);
    report.jobsTerminated.push(`${job.name} (${job.id})`);
  }
  // Compute configs named for this preview stack (`pr-<n>-<key>`), archived like `pulumi destroy` would.
  const ccPrefix = computeConfigPrefix(requiredPrefix);
  const configs = (
    await client.searchComputeConfigs({
      orgwide: true,
      name: { contains: ccPrefix },
      include_anonymous: false,
      archive_status: "NOT_ARCHIVED",
      version: -1,
    })
  ).filter((t) => t.name.startsWith(ccPrefix));
  for (const t of configs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    try {
      await client.archiveComputeConfig(t.id);
      report.computeConfigsArchived.push(t.name);
    } catch (e) {
      if (e instanceof AnyscaleApiError && e.status === 409) {
        report.computeConfigsInUse.push(`${t.name}: ${e.detail}`);
        continue;
      }
      throw e;
    }
  }
  return report;
}
