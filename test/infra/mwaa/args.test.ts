// resolveArgs of the `mwaa` target: defaults, and one error per invalid argument, each naming the field.
import { describe, expect, it } from "vitest";

import {
  DEFAULT_LOGGING,
  MwaaArgsError,
  resolveArgs,
  type MwaaAirflowArgs,
} from "../../../infra/mwaa/args.js";
import { ANYSCALE_CONN_ID } from "../../../pipelines/src/render/dag.js";

const PINS = { "astro-provider-anyscale": "1.3.0", anyscale: "0.26.112" };
const minimal: MwaaAirflowArgs = {
  environmentName: "llm-platform-dev",
  providerPins: PINS,
  dagFiles: { "llm_data_update.py": "# dag\n" },
  anyscaleApiToken: "token",
};
const withArgs = (over: Partial<MwaaAirflowArgs>): MwaaAirflowArgs => ({ ...minimal, ...over });

describe("resolveArgs defaults", () => {
  it("fills in a small, private, logged environment with a created network", () => {
    const r = resolveArgs(minimal);
    expect(r).toMatchObject({
      environmentName: "llm-platform-dev",
      airflowVersion: "3.3.1",
      environmentClass: "mw1.small",
      minWorkers: 1,
      maxWorkers: 10,
      schedulers: 2,
      minWebservers: 2,
      maxWebservers: 2,
      webserverAccessMode: "PRIVATE_ONLY",
      weeklyMaintenanceWindowStart: undefined,
      anyscaleConnId: "anyscale_conn",
      slackConnId: "slack_alerts",
      slackApiConnId: "slack_api_default",
      connectionIds: ["anyscale_conn"],
      connectionsPrefix: "airflow/connections/llm-platform-dev",
      dagPaths: ["llm_data_update.py"],
      extraObjectKeys: [],
      isPreview: false,
      tags: {},
      pins: PINS,
    });
    expect(r.network).toEqual({
      kind: "created",
      vpcCidr: "10.42.0.0/16",
      natGateways: 1,
      availabilityZones: undefined,
      subnets: {
        private: ["10.42.0.0/18", "10.42.64.0/18"],
        public: ["10.42.128.0/19", "10.42.160.0/19"],
      },
    });
    expect(r.logging).toEqual(DEFAULT_LOGGING);
    expect(r.logging).toEqual({
      dagProcessing: { enabled: true, level: "WARNING" },
      scheduler: { enabled: true, level: "WARNING" },
      task: { enabled: true, level: "INFO" },
      webserver: { enabled: false, level: "WARNING" },
      worker: { enabled: true, level: "WARNING" },
    });
    expect(r.requirementsTxt).toContain("constraints-3.3.1/constraints-3.12.txt");
    expect(Object.keys(r.airflowConfigurationOptions)).toContain("secrets.backend");
  });

  it("uses the pipelines' Anyscale connection id", () => {
    expect(ANYSCALE_CONN_ID).toBe("anyscale_conn");
    expect(resolveArgs(minimal).anyscaleConnId).toBe(ANYSCALE_CONN_ID);
  });

  it("mw1.micro runs one of everything", () => {
    expect(resolveArgs(withArgs({ environmentClass: "mw1.micro" }))).toMatchObject({
      minWorkers: 1,
      maxWorkers: 1,
      schedulers: 1,
      minWebservers: 1,
      maxWebservers: 1,
    });
    // Explicit 1s are fine.
    expect(() =>
      resolveArgs(withArgs({ environmentClass: "mw1.micro", maxWorkers: 1, schedulers: 1 })),
    ).not.toThrow();
  });

  it("raises the default maxima to the given minima", () => {
    expect(resolveArgs(withArgs({ minWorkers: 12, minWebservers: 3 }))).toMatchObject({
      maxWorkers: 12,
      maxWebservers: 3,
    });
  });

  it("merges logging overrides per type", () => {
    const r = resolveArgs(withArgs({ logging: { webserver: { enabled: true, level: "ERROR" } } }));
    expect(r.logging.webserver).toEqual({ enabled: true, level: "ERROR" });
    expect(r.logging.task).toEqual({ enabled: true, level: "INFO" });
  });

  it("keeps an existing network as given", () => {
    const r = resolveArgs(
      withArgs({ network: { vpcId: "vpc-1", privateSubnetIds: ["subnet-a", "subnet-b"] } }),
    );
    expect(r.network).toEqual({
      kind: "existing",
      vpcId: "vpc-1",
      privateSubnetIds: ["subnet-a", "subnet-b"],
    });
  });

  it("orders connection ids: anyscale, slack webhook, slack API, extra (sorted)", () => {
    const r = resolveArgs(
      withArgs({
        slackWebhookUrl: "u",
        slackApiToken: "t",
        extraConnections: { zendesk_default: "z", aws_other: "a" },
      }),
    );
    expect(r.connectionIds).toEqual([
      "anyscale_conn",
      "slack_alerts",
      "slack_api_default",
      "aws_other",
      "zendesk_default",
    ]);
    expect(JSON.parse(r.airflowConfigurationOptions["secrets.backend_kwargs"]!)).toMatchObject({
      connections_lookup_pattern:
        "^(anyscale_conn|aws_other|slack_alerts|slack_api_default|zendesk_default)$",
    });
  });

  it("adds and overrides requirement pins", () => {
    const r = resolveArgs(
      withArgs({ requirements: { providers: { "astro-provider-anyscale": "1.4.0", pandas: "2.2.3" } } }),
    );
    expect(r.pins).toEqual({
      "astro-provider-anyscale": "1.4.0",
      anyscale: "0.26.112",
      pandas: "2.2.3",
    });
    expect(r.requirementsTxt).toMatch(/^astro-provider-anyscale==1\.4\.0$/m);
  });
});

describe("resolveArgs errors name the field", () => {
  const table: Array<[string, Partial<MwaaAirflowArgs>, RegExp]> = [
    [
      "a name starting with a digit",
      { environmentName: "1env" },
      /`environmentName` must start with a letter/,
    ],
    ["a name with a space", { environmentName: "my env" }, /`environmentName`/],
    ["a name over 80 chars", { environmentName: "a".repeat(81) }, /`environmentName`.*≤ 80/],
    ["Airflow 2", { airflowVersion: "2.10.3" }, /`airflowVersion` must be an Airflow 3 version/],
    ["a partial version", { airflowVersion: "3.3" }, /`airflowVersion`/],
    ["an unknown class", { environmentClass: "mw1.huge" as never }, /`environmentClass` must be one of/],
    ["zero workers", { minWorkers: 0 }, /`minWorkers` must be an integer from 1 to 25; got 0/],
    ["26 workers", { maxWorkers: 26 }, /`maxWorkers` must be an integer from 1 to 25/],
    ["fractional workers", { minWorkers: 1.5 }, /`minWorkers` must be an integer/],
    ["max < min workers", { minWorkers: 5, maxWorkers: 3 }, /`maxWorkers` \(3\) must be ≥ minWorkers \(5\)/],
    ["one scheduler on small", { schedulers: 1 }, /`schedulers` must be an integer from 2 to 5; got 1/],
    ["six schedulers", { schedulers: 6 }, /`schedulers` must be an integer from 2 to 5/],
    ["one webserver on small", { minWebservers: 1 }, /`minWebservers` must be an integer from 2 to 5/],
    [
      "max < min webservers",
      { minWebservers: 4, maxWebservers: 3 },
      /`maxWebservers` \(3\) must be ≥ minWebservers \(4\)/,
    ],
    [
      "autoscaling micro",
      { environmentClass: "mw1.micro", maxWorkers: 3 },
      /`maxWorkers` must be 1 \(or unset\) for mw1.micro/,
    ],
    ["two schedulers on micro", { environmentClass: "mw1.micro", schedulers: 2 }, /`schedulers` must be 1/],
    [
      "two webservers on micro",
      { environmentClass: "mw1.micro", minWebservers: 2 },
      /`minWebservers` must be 1/,
    ],
    [
      "both access modes",
      { webserverAccessMode: "PUBLIC_AND_PRIVATE" as never },
      /`webserverAccessMode` must be "PRIVATE_ONLY" or "PUBLIC_ONLY"/,
    ],
    [
      "an unknown log level",
      { logging: { task: { enabled: true, level: "TRACE" as never } } },
      /`logging.task.level` must be one of/,
    ],
    [
      "an unknown log type",
      { logging: { audit: { enabled: true, level: "INFO" } } as never },
      /`logging` key "audit"/,
    ],
    [
      "a non-boolean log switch",
      { logging: { worker: { enabled: "yes" as never, level: "INFO" } } },
      /`logging.worker.enabled` must be a boolean/,
    ],
    ["a bad VPC CIDR", { network: { vpcCidr: "10.42.0.0/12" } }, /`network.vpcCidr`/],
    ["three NAT gateways", { network: { natGateways: 3 as never } }, /`network.natGateways` must be 1 or 2/],
    [
      "one zone twice",
      { network: { availabilityZones: ["us-east-1a", "us-east-1a"] } },
      /`network.availabilityZones` must be two different zones/,
    ],
    [
      "an existing VPC with created-network settings",
      { network: { vpcId: "vpc-1", privateSubnetIds: ["s-1", "s-2"], vpcCidr: "10.0.0.0/16" } as never },
      /`network.vpcCidr` only applies to a created network/,
    ],
    [
      "subnets without a VPC",
      { network: { privateSubnetIds: ["s-1", "s-2"] } as never },
      /`network.privateSubnetIds` needs `network.vpcId`/,
    ],
    [
      "one subnet twice",
      { network: { vpcId: "vpc-1", privateSubnetIds: ["s-1", "s-1"] } },
      /`network.privateSubnetIds` must name two different subnets/,
    ],
    [
      "three subnets",
      { network: { vpcId: "vpc-1", privateSubnetIds: ["s-1", "s-2", "s-3"] as never } },
      /`network.privateSubnetIds` must be two private subnets/,
    ],
    [
      "a malformed maintenance window",
      { weeklyMaintenanceWindowStart: "SUN:3:00" },
      /`weeklyMaintenanceWindowStart` must look like "SUN:03:30"/,
    ],
    [
      "a version range pin",
      { providerPins: { foo: ">=1.0" } },
      /`providerPins.foo` must be an exact version/,
    ],
    ["a bad package name", { providerPins: { "foo bar": "1.0" } }, /`providerPins` key "foo bar"/],
    [
      "an extra pin with a bad version",
      { requirements: { providers: { pandas: "latest" } } },
      /`requirements.providers.pandas` must be an exact version/,
    ],
    [
      "an extra pin that duplicates a pin under another spelling",
      { requirements: { providers: { Astro_Provider_Anyscale: "1.4.0" } } },
      /`requirements.providers` names the same package twice/,
    ],
    [
      "a dashed connection id",
      { anyscaleConnId: "anyscale-conn" },
      /`anyscaleConnId` must contain only letters, digits and '_'/,
    ],
    [
      "an extra connection reusing the Anyscale id",
      { extraConnections: { anyscale_conn: "x" } },
      /`extraConnections.anyscale_conn` and `anyscaleConnId` name the same connection/,
    ],
    [
      "the Slack id equal to the Slack API id",
      { slackWebhookUrl: "u", slackApiToken: "t", slackApiConnId: "slack_alerts" },
      /`slackApiConnId` and `slackConnId` name the same connection/,
    ],
    [
      "a prefix outside airflow/connections/",
      { connectionsPrefix: "secrets/dev" },
      /`connectionsPrefix` must be "airflow\/connections\/<name>"/,
    ],
    ["the bare root prefix", { connectionsPrefix: "airflow/connections/" }, /`connectionsPrefix`/],
    ["a trailing slash", { connectionsPrefix: "airflow/connections/dev/" }, /`connectionsPrefix`/],
    ["a wildcard prefix", { connectionsPrefix: "airflow/connections/*" }, /`connectionsPrefix`/],
    ["a DAG path escaping the folder", { dagFiles: { "../x.py": "" } }, /`dagFiles\["\.\.\/x\.py"\]`/],
    [
      "an absolute DAG path",
      { dagFiles: { "/x.py": "" } },
      /`dagFiles\["\/x\.py"\]`: the path must be relative/,
    ],
    [
      "an extra object inside dags/",
      { extraObjects: { "dags/x.py": "" } },
      /`extraObjects\["dags\/x\.py"\]` would collide/,
    ],
    [
      "an extra object replacing requirements.txt",
      { extraObjects: { "requirements.txt": "" } },
      /`extraObjects\["requirements\.txt"\]` would collide/,
    ],
    [
      "a secret in the Airflow configuration",
      { extraAirflowConfigurationOptions: { "database.sql_alchemy_conn": "postgresql://a:b@h/db" } },
      /secret-looking values in `extraAirflowConfigurationOptions`/,
    ],
    [
      "an override of the secrets backend",
      { extraAirflowConfigurationOptions: { "secrets.backend_kwargs": "{}" } },
      /`extraAirflowConfigurationOptions.secrets.backend_kwargs` is set by the component/,
    ],
    ["a reserved tag key", { tags: { "aws:cost": "x" } }, /`tags` key "aws:cost"/],
  ];

  it.each(table)("rejects %s", (_name, over, want) => {
    const run = () => resolveArgs(withArgs(over));
    expect(run).toThrow(MwaaArgsError);
    expect(run).toThrow(want);
  });
});
