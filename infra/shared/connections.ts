import type * as pulumi from "@pulumi/pulumi";

// Airflow connections as JSON documents: the value of a Kubernetes Secret key (exposed as an environment
// variable) on the kubernetes target, and the secret string of a Secrets Manager secret on MWAA.
// Airflow reads `AIRFLOW_CONN_<CONN_ID upper-cased>`; the JSON form ({"conn_type": ..., "password": ...})
// avoids URL-encoding pitfalls for tokens and URLs and is accepted by Airflow ≥ 2.3.

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
