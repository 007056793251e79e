// The local stack's API sinks (Slack, Zendesk), started together from one script.
import { startSlackSink, type RunningSlackSink } from "./slack.js";
import { loadScript, type SinkScript } from "./script.js";
import { startZendeskSink, type RunningZendeskSink } from "./zendesk.js";

export { DEFAULT_SCRIPT_FILE, loadScript, ScriptError, type SinkScript } from "./script.js";
export type { PostedMessage, RunningSlackSink } from "./slack.js";
export type { RunningZendeskSink } from "./zendesk.js";

export interface SinkCredentials {
  slackToken: string;
  zendeskEmail: string;
  zendeskToken: string;
}

export interface SinksOptions extends SinkCredentials {
  slackPort?: number;
  zendeskPort?: number;
  /** The script (default: the project's support-desk fixture). */
  script?: SinkScript;
  /** Zendesk export page size (default Zendesk's 1000). */
  zendeskPageSize?: number;
}

export interface RunningSinks {
  slack: RunningSlackSink;
  zendesk: RunningZendeskSink;
  /** Id of the Zendesk custom field holding representations (ZENDESK_MR_FIELD_ID). */
  mrFieldId: number;
  close(): Promise<void>;
}

export async function startSinks(opts: SinksOptions): Promise<RunningSinks> {
  const script = opts.script ?? loadScript();
  const slack = await startSlackSink({
    port: opts.slackPort ?? 0,
    token: opts.slackToken,
    script: script.slack,
  });
  try {
    const zendesk = await startZendeskSink({
      port: opts.zendeskPort ?? 0,
      email: opts.zendeskEmail,
      token: opts.zendeskToken,
      script: script.zendesk,
      ...(opts.zendeskPageSize ? { pageSize: opts.zendeskPageSize } : {}),
    });
    return {
      slack,
      zendesk,
      mrFieldId: script.zendesk.mrFieldId,
      close: async () => {
        await Promise.all([slack.close(), zendesk.close()]);
      },
    };
  } catch (e) {
    await slack.close();
    throw e;
  }
}
