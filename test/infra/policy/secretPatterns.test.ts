// Detectors shared by the policy pack and the component (table-driven given/want).
import { describe, expect, it } from "vitest";

import {
  findSecretLikeValues,
  isSecretKeyName,
  secretValueReasons,
} from "../../../infra/policy/rules/secretPatterns.js";

describe("isSecretKeyName", () => {
  it.each<[string, boolean]>([
    ["password", true],
    ["pass", true],
    ["apiSecretKey", true],
    ["jwtSecret", true],
    ["fernetKey", true],
    ["webserver.secret_key", true],
    ["core.fernet_key", true],
    ["AIRFLOW__CORE__FERNET_KEY", true],
    ["AIRFLOW_CONN_ANYSCALE_CONN", true],
    ["ANYSCALE_CLI_TOKEN", true],
    ["brokerUrl", true],
    ["sshKey", true],
    ["secretKey", false], // the chart's `secret:` list: a key NAME inside a Secret
    ["secretName", false],
    ["jwtSecretName", false],
    ["fernetKeySecretName", false],
    ["existingSecret", false],
    ["secrets.backend", false],
    ["secrets.backend_kwargs", false],
    ["passwordFile", false],
    ["executor", false],
  ])("%s → %s", (given, want) => {
    expect(isSecretKeyName(given)).toBe(want);
  });
});

describe("secretValueReasons", () => {
  it.each<[string, string[]]>([
    ["postgresql://airflow:s3cret@db:5432/airflow", ["a URI with an embedded password"]],
    [
      "anyscale://:aph0_abcdefghijklmnopqrstuv@",
      ["a URI with an embedded password", "an Anyscale API token"],
    ],
    ["https://hooks.slack.com/services/T0001/B0001/abcdef", ["a Slack webhook URL"]],
    ["xoxb-123456789012-abcdefghij", ["a Slack token"]],
    ["AKIAABCDEFGHIJKLMNOP", ["an AWS access key id"]],
    ["-----BEGIN RSA PRIVATE KEY-----", ["a PEM private key"]],
    ['{"conn_type": "anyscale", "password": "t"}', ["an Airflow connection with a password"]],
    ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", ["a JWT"]],
    ["s3://bucket/dags/", []],
    ["https://airflow.apache.org", []],
    ["postgresql://airflow@db:5432/airflow", []],
    ["AIRFLOW_CONN_ANYSCALE_CONN", []],
  ])("%s", (given, want) => {
    expect(secretValueReasons(given)).toEqual(want);
  });
});

describe("findSecretLikeValues", () => {
  it.each<[string, unknown, string[]]>([
    [
      "clean chart values",
      { secret: [{ envName: "AIRFLOW_CONN_X", secretName: "s", secretKey: "AIRFLOW_CONN_X" }] },
      [],
    ],
    [
      "literal password key",
      { data: { metadataConnection: { pass: "p" } } },
      ["data.metadataConnection.pass"],
    ],
    ["empty and null secrets are fine", { fernetKey: null, apiSecretKey: "" }, []],
    [
      "env entry with secret name",
      { env: [{ name: "AIRFLOW__CORE__FERNET_KEY", value: "k" }] },
      ["env[0].value"],
    ],
    ["env entry with harmless name", { env: [{ name: "AIRFLOW__CORE__LOAD_EXAMPLES", value: "False" }] }, []],
    ["URI deep in a list", { a: [{ b: "mysql://u:p@h/db" }] }, ["a[0].b"]],
  ])("%s", (_label, given, wantPaths) => {
    expect(findSecretLikeValues(given).map((f) => f.path)).toEqual(wantPaths);
  });

  it("never echoes the secret value in a finding", () => {
    const findings = findSecretLikeValues({ password: "hunter2-unique" });
    expect(JSON.stringify(findings)).not.toContain("hunter2-unique");
  });
});
