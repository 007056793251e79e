// Pulumi entrypoint. Reads the stack configuration once (validated before any resource is declared), the
// pipeline definitions, the workload package and the provider pins, and declares the stack (stack.ts).
// The default export is the program: Pulumi calls it and uses its result as the stack outputs; `npm run
// plan` and the tests call it under mocks.
import { readFile } from "node:fs/promises";
import path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { DefinitionError } from "../pipelines/src/model/index.js";
import { loadDefinitions, REPO_ROOT } from "../pipelines/src/definitions-loader.js";
import { StackConfigError } from "./config/load.js";
import { readStackConfig, readStackSecrets } from "./config/read.js";
import { readWorkloadPackage } from "./delivery/bundle.js";
import { MWAA_PINNED_PACKAGES, providerPinsFromLock } from "./mwaa/index.js";
import { declareStack } from "./stack.js";

/** Where the program reads its files (repo-relative, so `pulumi up` and `npm run plan` agree). */
const PROGRAM_FILES = {
  workloads: path.join(REPO_ROOT, "pipelines", "workloads", "llm_workloads"),
  lock: path.join(REPO_ROOT, "python", "requirements.lock"),
} as const;

export default async function program(): Promise<Record<string, unknown>> {
  try {
    const config = readStackConfig();
    const secrets = readStackSecrets(config);
    const definitions = await loadDefinitions();
    const workloadFiles = await readWorkloadPackage(PROGRAM_FILES.workloads);
    const providerPins = providerPinsFromLock(
      await readFile(PROGRAM_FILES.lock, "utf8"),
      MWAA_PINNED_PACKAGES,
    );
    const out = declareStack({ config, secrets, definitions, workloadFiles, providerPins });
    return { ...out };
  } catch (err) {
    // Configuration and definition problems are the user's to fix: print the message, not a stack trace.
    if (err instanceof StackConfigError || err instanceof DefinitionError)
      throw new pulumi.RunError(err.message);
    throw err;
  }
}
