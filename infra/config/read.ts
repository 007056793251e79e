// The one place the program reads Pulumi configuration: at the entrypoint, before any resource exists.
import * as pulumi from "@pulumi/pulumi";

import { parseStackConfig, connectionsFromSecret, type StackConfig } from "./load.js";
import { PROJECT, type SecretKey } from "./schema.js";

/** The secret inputs, each an Output marked secret (from `requireSecret`); absent when not configured. */
export interface StackSecrets {
  readonly anyscaleApiToken?: pulumi.Output<string>;
  readonly slackWebhookUrl?: pulumi.Output<string>;
  readonly slackApiToken?: pulumi.Output<string>;
  readonly metadataDatabaseUrl?: pulumi.Output<string>;
  /** Connection id → connection (JSON or URI), each value secret. */
  readonly airflowConnections: Readonly<Record<string, pulumi.Output<string>>>;
}

/** Whether the engine passed `key` as a secret (`PULUMI_CONFIG_SECRET_KEYS`; `setAllConfig`'s list under mocks). */
function isConfigSecret(fullKey: string): boolean {
  const fn = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  if (typeof fn !== "function") throw new Error("this @pulumi/pulumi has no runtime.isConfigSecret");
  return fn(fullKey);
}

/** Validate the whole stack configuration; throws StackConfigError naming every bad key. */
export function readStackConfig(): StackConfig {
  const raw = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(raw).filter(isConfigSecret));
  return parseStackConfig(raw, secretKeys, pulumi.getStack());
}

/** Read the configured secrets with `requireSecret`, so they stay encrypted in state and masked in output. */
export function readStackSecrets(config: StackConfig): StackSecrets {
  const cfg = new pulumi.Config(PROJECT);
  const get = (k: SecretKey): pulumi.Output<string> | undefined =>
    config.secrets.has(k) ? cfg.requireSecret(k) : undefined;
  const connections = get("airflowConnections");
  const airflowConnections: Record<string, pulumi.Output<string>> = {};
  if (connections !== undefined) {
    const parsed = connections.apply(connectionsFromSecret);
    for (const id of config.airflowConnectionIds) {
      airflowConnections[id] = pulumi.secret(parsed.apply((all) => all[id] ?? ""));
    }
  }
  return {
    anyscaleApiToken: get("anyscaleApiToken"),
    slackWebhookUrl: get("slackWebhookUrl"),
    slackApiToken: get("slackApiToken"),
    metadataDatabaseUrl: get("metadataDatabaseUrl"),
    airflowConnections,
  };
}
