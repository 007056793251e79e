// The connections Secret as the pods see it: one connections.json, laid out the way the kubelet writes a Secret
// volume (`..<timestamp>/`, `..data` symlink, top-level symlink), read by the real hooks from .venv through the
// secrets backend that the Helm values configure. A rotation (the kubelet swapping `..data`) is picked up by
// the same running process: no pod restart needed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { resolveArgs } from "../../../infra/kubernetes/args.js";
import { CONNECTIONS_FILE, CONNECTIONS_MOUNT, helmValues } from "../../../infra/kubernetes/values.js";
import {
  anyscaleConnectionJson,
  connectionsFileJson,
  slackApiConnectionJson,
} from "../../../infra/shared/connections.js";

const python = join(process.cwd(), ".venv/bin/python");

/** `[section] key` of the chart's `config:` as the AIRFLOW__SECTION__KEY variables Airflow reads. */
function configEnv(
  config: Record<string, Record<string, string>>,
  mountRoot: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const section of ["secrets", "workers"]) {
    for (const [key, value] of Object.entries(config[section] ?? {})) {
      // The values point at the mount; the test mounts it under a temp dir instead.
      env[`AIRFLOW__${section.toUpperCase()}__${key.toUpperCase()}`] = value.replace(
        CONNECTIONS_MOUNT,
        mountRoot,
      );
    }
  }
  return env;
}

describe.skipIf(!existsSync(python))("connections file from the mounted Secret", () => {
  it("resolves through the real hooks and follows a rotation without a restart", () => {
    const before = connectionsFileJson({
      anyscale_conn: anyscaleConnectionJson("aph0_before/+:@%?#"),
      slack_api_default: slackApiConnectionJson("xoxb-1"),
      zendesk_default: "zendesk://bot%40acme.example:pw@acme.zendesk.com",
    });
    const after = connectionsFileJson({
      anyscale_conn: anyscaleConnectionJson("aph0_after"),
      slack_api_default: slackApiConnectionJson("xoxb-1"),
      zendesk_default: "zendesk://bot%40acme.example:pw@acme.zendesk.com",
    });
    const config = helmValues(
      resolveArgs({ namespace: "ns", dagFiles: { "a.py": "" }, anyscaleApiToken: "t" }),
    )["config"] as Record<string, Record<string, string>>;
    const base = mkdtempSync(join(tmpdir(), "conn-volume-"));
    try {
      const mount = join(base, "mount");
      mkdirSync(join(mount, "..2026_12_01_10_00_00.1"), { recursive: true });
      writeFileSync(join(mount, "..2026_12_01_10_00_00.1", CONNECTIONS_FILE), before);
      symlinkSync("..2026_12_01_10_00_00.1", join(mount, "..data"));
      symlinkSync(join("..data", CONNECTIONS_FILE), join(mount, CONNECTIONS_FILE));
      const script = [
        "import json, os, sys",
        "from anyscale_provider.hooks.anyscale import AnyscaleHook",
        "from airflow.providers.slack.hooks.slack import SlackHook",
        "from airflow.sdk import BaseHook",
        "mount, rotated = sys.argv[1], sys.argv[2]",
        "def read():",
        "    api = SlackHook(slack_conn_id='slack_api_default')",
        "    return {'anyscale': AnyscaleHook(conn_id='anyscale_conn').get_connection('anyscale_conn').password,",
        "            'slack': api._get_conn_params(api.get_connection('slack_api_default'))['token'],",
        "            'zendesk': BaseHook.get_connection('zendesk_default').login}",
        "first = read()",
        "# The kubelet's atomic writer: new payload dir, then swap ..data by rename.",
        "new = os.path.join(mount, '..2026_12_01_10_05_00.2')",
        "os.mkdir(new)",
        "open(os.path.join(new, 'connections.json'), 'w').write(rotated)",
        "os.symlink('..2026_12_01_10_05_00.2', os.path.join(mount, '..data_tmp'))",
        "os.replace(os.path.join(mount, '..data_tmp'), os.path.join(mount, '..data'))",
        "print(json.dumps({'first': first, 'second': read()}))",
      ].join("\n");
      const r = spawnSync(python, ["-c", script, mount, after], {
        encoding: "utf8",
        env: {
          PATH: process.env["PATH"] ?? "",
          AIRFLOW_HOME: join(base, "home"),
          ...configEnv(config, mount),
        },
      });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
      expect(got).toEqual({
        first: { anyscale: "aph0_before/+:@%?#", slack: "xoxb-1", zendesk: "bot@acme.example" },
        second: { anyscale: "aph0_after", slack: "xoxb-1", zendesk: "bot@acme.example" },
      });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
