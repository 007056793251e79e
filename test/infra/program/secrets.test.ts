// Sentinel secrets: every secret input set to a unique marker, the whole program run for both targets, and
// the marker searched for in every non-secret resource input, every output and every rendered file. The same
// search over the revealed inputs must find it (so the search itself works).
import { describe, expect, it } from "vitest";

import { redacted, revealed } from "../../../infra/plan/format.js";
import { P, planWith, type Planned } from "./helpers.js";

const SENTINEL = "SENTINEL-7f3a9c";
const SECRETS: Record<string, string> = {
  anyscaleApiToken: `sss_${SENTINEL}-anyscale`,
  slackApiToken: `xoxb-${SENTINEL}-slack`,
  slackWebhookUrl: `https://hooks.slack.com/services/T0/B0/${SENTINEL}`,
  airflowConnections: JSON.stringify({
    zendesk_default: { conn_type: "zendesk", login: "bot", password: `${SENTINEL}-zendesk` },
  }),
};

function setSecrets(
  raw: Record<string, string>,
  secretKeys: Set<string>,
  extra: Record<string, string> = {},
): void {
  for (const [k, v] of Object.entries({ ...SECRETS, ...extra })) {
    raw[`${P}:${k}`] = v;
    secretKeys.add(`${P}:${k}`);
  }
}

function assertNoLeak(plan: Planned): void {
  const plain = JSON.stringify(
    plan.resources.map((r) => ({ type: r.type, name: r.name, inputs: redacted(r.inputs) })),
  );
  expect(plain).not.toContain(SENTINEL);
  expect(JSON.stringify(plan.outputs)).not.toContain(SENTINEL);
  // The check can fail: the revealed inputs (what only encrypted state holds) do contain every secret.
  const all = JSON.stringify(plan.resources.map((r) => revealed(r.inputs)));
  for (const name of ["anyscale", "slack", "zendesk"]) expect(all).toContain(`${SENTINEL}-${name}`);
}

describe("no secret reaches a rendered file, a plain input or an output", () => {
  it("target mwaa (dev)", async () => {
    const plan = await planWith("dev", (raw, keys) => setSecrets(raw, keys));
    assertNoLeak(plan);
    // Rendered files are S3 object contents: plain inputs, so covered above; make sure there are some.
    expect(plan.byType("aws:s3/bucketObjectv2:BucketObjectv2").length).toBeGreaterThan(10);
  }, 120_000);

  it("target kubernetes (k8s-dev, external metadata database)", async () => {
    const plan = await planWith("k8s-dev", (raw, keys) =>
      setSecrets(raw, keys, { metadataDatabaseUrl: `postgresql://airflow:${SENTINEL}-db@db:5432/airflow` }),
    );
    assertNoLeak(plan);
    expect(JSON.stringify(plan.resources.map((r) => revealed(r.inputs)))).toContain(`${SENTINEL}-db`);
  }, 120_000);

  it("a preview (pr-9 on mwaa) creates no secret at all", async () => {
    const plan = await planWith("pr-9", (raw, keys) => setSecrets(raw, keys));
    expect(JSON.stringify(plan.resources.map((r) => revealed(r.inputs)))).not.toContain(SENTINEL);
  }, 120_000);
});
