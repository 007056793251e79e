// The connection values the component puts in the Secret, resolved by the real hooks from .venv
// (astro-provider-anyscale's AnyscaleHook and the Slack provider's SlackWebhookHook) through env vars.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import {
  anyscaleConnectionJson,
  connectionEnvVar,
  slackApiConnectionJson,
  slackWebhookConnectionJson,
} from "../../../infra/shared/connections.js";

const python = join(process.cwd(), ".venv/bin/python");

describe("connection env vars", () => {
  it.each([
    ["anyscale_conn", "AIRFLOW_CONN_ANYSCALE_CONN"],
    ["slack_alerts", "AIRFLOW_CONN_SLACK_ALERTS"],
  ])("%s → %s", (given, want) => {
    expect(connectionEnvVar(given)).toBe(want);
  });

  it("JSON forms carry the secret only in `password`", () => {
    expect(JSON.parse(anyscaleConnectionJson("t"))).toEqual({ conn_type: "anyscale", password: "t" });
    expect(JSON.parse(slackWebhookConnectionJson("https://x"))).toEqual({
      conn_type: "slackwebhook",
      password: "https://x",
    });
  });

  it.skipIf(!existsSync(python))("resolve through the real Airflow hooks (.venv)", () => {
    // Characters that would need URL-encoding in the URI form.
    const token = "aph0_tok/+:@%?#en";
    const webhook = "https://hooks.slack.com/services/T000/B000/XXXX";
    const slackToken = "xoxb-0000-test";
    const home = mkdtempSync(join(tmpdir(), "airflow-home-"));
    try {
      const script = [
        "import json",
        "from anyscale_provider.hooks.anyscale import AnyscaleHook",
        "from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook",
        "c = AnyscaleHook(conn_id='anyscale_conn').get_connection('anyscale_conn')",
        "from airflow.providers.slack.hooks.slack import SlackHook",
        "url = SlackWebhookHook(slack_webhook_conn_id='slack_alerts')._get_conn_params()['url']",
        "api = SlackHook(slack_conn_id='slack_api_default')",
        "token = api._get_conn_params(api.get_connection('slack_api_default'))['token']",
        "print(json.dumps({'type': c.conn_type, 'password': c.password, 'slack_url': url, 'slack_token': token}))",
      ].join("\n");
      const r = spawnSync(python, ["-c", script], {
        encoding: "utf8",
        env: {
          PATH: process.env["PATH"] ?? "",
          AIRFLOW_HOME: home,
          [connectionEnvVar("anyscale_conn")]: anyscaleConnectionJson(token),
          [connectionEnvVar("slack_alerts")]: slackWebhookConnectionJson(webhook),
          [connectionEnvVar("slack_api_default")]: slackApiConnectionJson(slackToken),
        },
      });
      expect(r.status, r.stderr).toBe(0);
      const lastLine = r.stdout.trim().split("\n").pop() ?? "";
      expect(JSON.parse(lastLine)).toEqual({
        type: "anyscale",
        password: token,
        slack_url: webhook,
        slack_token: slackToken,
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
