// The local S3: a moto server from .venv on loopback, seeded by seed_data.py with the starting datasets.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitForHttp } from "./ports.js";
import { spawnManaged, type ManagedProcess } from "./processes.js";

const run = promisify(execFile);

/** moto accepts any credentials; these only keep boto3 from looking for real ones. */
export const S3_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "local-stack",
  AWS_SECRET_ACCESS_KEY: "local-stack",
  AWS_DEFAULT_REGION: "us-east-1",
} as const;

export interface RunningS3 {
  endpoint: string;
  process: ManagedProcess;
}

export interface SeedReport {
  bucket: string;
  datasets: Record<string, { dataset_uri: string; count: number; rejected_count: number }>;
  drop: string;
}

export async function startS3(
  venv: string,
  port: number,
  logDir: string,
  cwd: string,
  pidFile: string,
): Promise<RunningS3> {
  const process_ = spawnManaged(
    "s3 (moto)",
    join(venv, "bin", "moto_server"),
    ["-H", "127.0.0.1", "-p", String(port)],
    {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd, ...S3_CREDENTIALS },
      cwd,
      logFile: join(logDir, "moto.log"),
      pidFile,
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${endpoint}/moto-api/`, {
      what: "s3 (moto)",
      timeoutMs: 60_000,
      intervalMs: 100,
      alive: () => (process_.running ? undefined : `moto_server exited (log: ${process_.logFile})`),
    });
  } catch (e) {
    await process_.stop();
    throw e;
  }
  return { endpoint, process: process_ };
}

export async function seedS3(opts: {
  venv: string;
  repo: string;
  endpoint: string;
  artifactRoot: string;
}): Promise<SeedReport> {
  const { stdout } = await run(
    join(opts.venv, "bin", "python"),
    [join(opts.repo, "local", "stack", "seed_data.py"), "--artifact-root", opts.artifactRoot],
    {
      cwd: opts.repo,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? opts.repo,
        AWS_ENDPOINT_URL: opts.endpoint,
        ...S3_CREDENTIALS,
      },
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout) as SeedReport;
}
