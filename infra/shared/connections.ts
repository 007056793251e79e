import type * as pulumi from "@pulumi/pulumi";

import { ANYSCALE_CONN_ID } from "../../pipelines/src/render/dag.js";

// Airflow connections as JSON documents: the secret string of a Secrets Manager secret on MWAA, and the
// entries of the one connections file (LocalFilesystemBackend) a Kubernetes Secret holds on Kubernetes.
// The JSON form ({"conn_type": ..., "password": ...}) avoids URL-encoding pitfalls for tokens and URLs.

/**
 * The connections file of Airflow's `LocalFilesystemBackend`: conn id → connection. Each value is a JSON
 * document (an object entry) or a URI (a string entry), as `connections` hands them in. Keys sorted, so the
 * same connections give the same bytes (the Secret changes only when a connection does).
 */
export function connectionsFileJson(connections: Readonly<Record<string, string>>): string {
  const entries = Object.keys(connections)
    .sort()
    .map((id): [string, unknown] => {
      const value = connections[id] ?? "";
      const trimmed = value.trim();
      if (trimmed.startsWith("{")) {
        try {
          return [id, JSON.parse(trimmed) as unknown];
        } catch {
          throw new Error(`connection ${JSON.stringify(id)} starts like JSON but is not valid JSON`);
        }
      }
      return [id, value];
    });
  return JSON.stringify(Object.fromEntries(entries));
}

/** The environment variable Airflow looks up for a connection id. */
export function connectionEnvVar(connId: string): string {
  return `AIRFLOW_CONN_${connId.toUpperCase()}`;
}

/**
 * Anyscale: `AnyscaleHook` (astro-provider-anyscale 1.3.0) uses conn type `anyscale` and reads the API
 * token from `conn.password` only (host/login/schema/port are hidden in its UI form).
 */
export function anyscaleConnectionJson(apiToken: string): string {
  return JSON.stringify({ conn_type: "anyscale", password: apiToken });
}

/**
 * Slack incoming webhook: `SlackWebhookHook` uses conn type `slackwebhook`; a password containing "://"
 * is used as the full webhook URL.
 */
export function slackWebhookConnectionJson(webhookUrl: string): string {
  return JSON.stringify({ conn_type: "slackwebhook", password: webhookUrl });
}

/** Slack API (bot token `xoxb-…`): `SlackHook` uses conn type `slack` and the token from `conn.password`. */
export function slackApiConnectionJson(token: string): string {
  return JSON.stringify({ conn_type: "slack", password: token });
}

/**
 * The connections both Airflow targets provision, as component arguments. Every value is a secret input and
 * ends up only in a secret store (Secrets Manager on MWAA, a Kubernetes Secret on Kubernetes).
 */
export interface AirflowConnectionArgs {
  /** Anyscale API token (a secret); becomes the connection `anyscaleConnId`. */
  readonly anyscaleApiToken: pulumi.Input<string>;
  /** Connection id of the Anyscale token; default `anyscale_conn` (what the rendered DAGs use). */
  readonly anyscaleConnId?: string;
  /** Slack incoming-webhook URL (a secret); when set, becomes the connection `slackConnId`. */
  readonly slackWebhookUrl?: pulumi.Input<string>;
  /** Connection id of the Slack webhook; default `slack_alerts`. */
  readonly slackConnId?: string;
  /** Slack API bot token (a secret); when set, becomes the connection `slackApiConnId` (conn type `slack`). */
  readonly slackApiToken?: pulumi.Input<string>;
  /** Connection id of the Slack API token; default `slack_api_default` (what the rendered DAGs use). */
  readonly slackApiConnId?: string;
  /**
   * Further connections (secrets): conn id → full Airflow connection as JSON or URI, e.g.
   * `{ zendesk_default: '{"conn_type":"zendesk","host":"acme.zendesk.com","login":"bot@acme.com","password":"…"}' }`.
   */
  readonly extraConnections?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Connection ids with their defaults applied, and every id the component provisions. */
export interface ResolvedConnectionIds {
  readonly anyscaleConnId: string;
  readonly slackConnId: string;
  readonly slackApiConnId: string;
  readonly hasSlackWebhook: boolean;
  readonly hasSlackApiToken: boolean;
  /** Every provisioned connection id: anyscale, slack webhook, slack API, then extra ones sorted. */
  readonly connectionIds: readonly string[];
}

const CONN_ID = /^[A-Za-z0-9_]{1,200}$/;

/**
 * Defaults (`anyscale_conn`, what the rendered DAGs use; `slack_alerts`; `slack_api_default`) and checks:
 * ids must be letters, digits and '_', and no two may collide once Airflow upper-cases them for
 * `AIRFLOW_CONN_<ID>` lookups. `fail` raises the caller's own error type, naming the field.
 */
export function resolveConnectionIds(
  args: AirflowConnectionArgs,
  fail: (message: string) => never,
): ResolvedConnectionIds {
  const anyscaleConnId = args.anyscaleConnId ?? ANYSCALE_CONN_ID;
  const slackConnId = args.slackConnId ?? "slack_alerts";
  const slackApiConnId = args.slackApiConnId ?? "slack_api_default";
  const hasSlackWebhook = args.slackWebhookUrl !== undefined;
  const hasSlackApiToken = args.slackApiToken !== undefined;
  const named: Array<readonly [string, string]> = [
    ["anyscaleConnId", anyscaleConnId],
    ...(hasSlackWebhook ? [["slackConnId", slackConnId] as const] : []),
    ...(hasSlackApiToken ? [["slackApiConnId", slackApiConnId] as const] : []),
    ...Object.keys(args.extraConnections ?? {})
      .sort()
      .map((id) => [`extraConnections.${id}`, id] as const),
  ];
  const seen = new Map<string, string>();
  for (const [field, id] of named) {
    if (!CONN_ID.test(id)) {
      fail(
        `\`${field}\` must contain only letters, digits and '_' (it becomes AIRFLOW_CONN_<ID>); got ${JSON.stringify(id)}`,
      );
    }
    const envName = id.toUpperCase();
    const previous = seen.get(envName);
    if (previous !== undefined) {
      fail(`\`${field}\` and \`${previous}\` name the same connection (AIRFLOW_CONN_${envName})`);
    }
    seen.set(envName, field);
  }
  return {
    anyscaleConnId,
    slackConnId,
    slackApiConnId,
    hasSlackWebhook,
    hasSlackApiToken,
    connectionIds: named.map(([, id]) => id),
  };
}
