// Adding a DAG file or rotating a connection token must change only the ConfigMap or the Secret, never the Helm
// values: the chart copies values (volumes, annotations, env, config checksums) into every pod template, the
// immutable migration Job's included, so any difference there restarts every pod and can fail the upgrade.
// Identical values (byte for byte) mean identical rendered pod templates for the same chart version.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

import type * as KubernetesModule from "../../../infra/kubernetes/index.js";
import { installMocks, revealed, valueOf, type Recorded, type Recorder } from "../mocks.js";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";

let k8sMod: typeof KubernetesModule;
let mocks: Recorder;
beforeAll(async () => {
  mocks = await installMocks("k8s-dev");
  k8sMod = await import("../../../infra/kubernetes/index.js");
});

const DAGS = { "llm_finetune.py": "# dag 1\n", "llm_data_update.py": "# dag 2\n" };

async function deploy(name: string, dagFiles: Record<string, string>, token: string) {
  const c = new k8sMod.AstroKubernetesAirflow(name, {
    namespace: "airflow-k8s-dev",
    dagFiles,
    anyscaleApiToken: pulumi.secret(token),
    slackApiToken: pulumi.secret("xoxb-1"),
    executor: "CeleryExecutor", // the executor with the most pod templates (workers, triggerer, scheduler)
  });
  await valueOf(c.releaseStatus);
  const mine = (type: string): Recorded => {
    const found = mocks.created.filter((r) => r.type === type && r.name.startsWith(`${name}-`));
    const one = type === SECRET ? found.find((r) => r.name === `${name}-connections`) : found[0];
    if (one === undefined) throw new Error(`no ${type} for ${name}`);
    return one;
  };
  return {
    release: JSON.stringify(revealed(mine(RELEASE).inputs)),
    dags: JSON.stringify(revealed(mine(CONFIGMAP).inputs["data"])),
    connections: JSON.stringify(revealed(mine(SECRET).inputs["stringData"])),
  };
}

describe("Helm values across a DAG addition and a token rotation", () => {
  let base: Awaited<ReturnType<typeof deploy>>;
  beforeAll(async () => {
    base = await deploy("base", DAGS, "token-before");
  });

  it("adding a DAG file changes the ConfigMap and leaves the release inputs byte-identical", async () => {
    const added = await deploy("added", { ...DAGS, "pr_7__llm_report.py": "# dag 3\n" }, "token-before");
    expect(added.dags).not.toBe(base.dags); // the change did reach the cluster (so this test can fail)
    expect(added.release).toBe(base.release);
  });

  it("removing a DAG file leaves the release inputs byte-identical", async () => {
    const removed = await deploy("removed", { "llm_finetune.py": DAGS["llm_finetune.py"] }, "token-before");
    expect(removed.dags).not.toBe(base.dags);
    expect(removed.release).toBe(base.release);
  });

  it("rotating the Anyscale token changes the Secret and leaves the release inputs byte-identical", async () => {
    const rotated = await deploy("rotated", DAGS, "token-after");
    expect(rotated.connections).not.toBe(base.connections);
    expect(rotated.connections).toContain("token-after");
    expect(rotated.release).toBe(base.release);
  });
});
