// The Kubernetes image, the chart's airflowVersion, the auth manager and the Airflow version the DAGs are
// tested on (python/requirements.lock) agree: read from the Dockerfile, the component's defaults, the Helm
// values and every kubernetes stack file.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { parse } from "yaml";
import { describe, expect, it } from "vitest";

import { DEFAULT_AIRFLOW_VERSION as CONFIG_DEFAULT_AIRFLOW } from "../../../infra/config/load.js";
import { DEFAULT_AIRFLOW_VERSION, DEFAULT_IMAGES, resolveArgs } from "../../../infra/kubernetes/args.js";
import { FAB_AUTH_MANAGER, helmValues } from "../../../infra/kubernetes/values.js";
import {
  constraintsUrl,
  MWAA_CONSTRAINED_PACKAGES,
  MWAA_PINNED_PACKAGES,
  MWAA_PYTHON_VERSION,
  providerPinsFromLock,
} from "../../../infra/mwaa/requirements.js";
import { REPO_ROOT } from "../../../pipelines/src/definitions-loader.js";

const lock = readFileSync(path.join(REPO_ROOT, "python", "requirements.lock"), "utf8");
const tested = providerPinsFromLock(lock, ["apache-airflow"])["apache-airflow"]!;
const dockerfile = readFileSync(path.join(REPO_ROOT, "infra/kubernetes/image/Dockerfile"), "utf8");
/** Shell words of the Dockerfile's RUN instructions (continuations joined, quotes removed). */
const runWords = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .filter((l) => l.startsWith("RUN "))
  .flatMap((l) => l.slice(4).trim().split(/\s+/))
  .map((w) => w.replace(/^"|"$/g, ""));

/** `airflow.providers.<name>.…` → the distribution that ships it. */
function providerDistribution(classPath: string): string {
  const m = /^airflow\.providers\.([a-z0-9_]+)\./.exec(classPath);
  if (!m) throw new Error(`${classPath} is not a provider class`);
  return `apache-airflow-providers-${m[1]!.replace(/_/g, "-")}`;
}

describe("Airflow version agreement", () => {
  it("the tested version is every default: config, component, stock image", () => {
    expect(tested).toMatch(/^3\.\d+\.\d+$/);
    expect(CONFIG_DEFAULT_AIRFLOW).toBe(tested);
    expect(DEFAULT_AIRFLOW_VERSION).toBe(tested);
    expect(DEFAULT_IMAGES.apache).toEqual({
      repository: "apache/airflow",
      tag: tested,
      airflowVersion: tested,
    });
    // No Runtime default: its tags do not name the Airflow patch version.
    expect(DEFAULT_IMAGES["astro-runtime"]).toBeUndefined();
    const values = helmValues(
      resolveArgs({ namespace: "n", dagFiles: { "a.py": "" }, anyscaleApiToken: "t" }),
    );
    expect(values["airflowVersion"]).toBe(tested);
    expect(values["defaultAirflowTag"]).toBe(tested);
  });

  it("the project Dockerfile builds on that version, for MWAA's Python, under its constraints", () => {
    const from = /^FROM (\S+)$/m.exec(dockerfile)?.[1];
    expect(from).toBe(`apache/airflow:${tested}-python${MWAA_PYTHON_VERSION}`);
    expect(runWords).toContain(`apache-airflow==${tested}`);
    expect(runWords).toContain(constraintsUrl(tested));
  });

  it("the image installs the provider of the auth manager the chart is given", () => {
    const config = helmValues(
      resolveArgs({ namespace: "n", dagFiles: { "a.py": "" }, anyscaleApiToken: "t" }),
    )["config"] as Record<string, Record<string, string>>;
    const authManager = config["core"]?.["auth_manager"];
    expect(authManager).toBe(FAB_AUTH_MANAGER);
    expect(runWords).toContain(providerDistribution(authManager!));
  });

  it("the image installs what MWAA installs: constrained providers by name, the rest at the lock's versions", () => {
    for (const name of MWAA_CONSTRAINED_PACKAGES) expect(runWords, name).toContain(name);
    for (const [name, version] of Object.entries(providerPinsFromLock(lock, MWAA_PINNED_PACKAGES))) {
      expect(runWords, name).toContain(`${name}==${version}`);
    }
  });

  it("every kubernetes stack file names an image carrying its airflowVersion", () => {
    const files = readdirSync(REPO_ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
    const k8s = files
      .map((f) => ({
        f,
        config: (parse(readFileSync(path.join(REPO_ROOT, f), "utf8")) as { config: Record<string, unknown> })
          .config,
      }))
      .filter(({ config }) => config["llm-platform:target"] === "kubernetes");
    expect(k8s.length).toBeGreaterThan(0);
    for (const { f, config } of k8s) {
      const version = (config["llm-platform:airflowVersion"] as string | undefined) ?? CONFIG_DEFAULT_AIRFLOW;
      expect(version, f).toBe(tested);
      const image = (config["llm-platform:kubernetes"] as { image?: { airflowVersion?: string } }).image;
      expect(image?.airflowVersion ?? DEFAULT_IMAGES.apache?.airflowVersion, f).toBe(version);
    }
  });
});
