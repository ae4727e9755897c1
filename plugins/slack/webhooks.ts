import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../../core/settings/load.ts';
import type { SlackMessage } from './messages.ts';

export interface WebhookOptions {
  readonly defaultUrl: string | null;
  readonly debugDir: string | null;
  readonly timeoutMs: number;
  readonly settings: Settings;
  readonly env: NodeJS.ProcessEnv;
  readonly warn: (message: string) => void;
}

/**
 * A channel's webhook: `slack.<channel>.webhook_url` from the environment
 * (`KINTO_SLACK_<CHANNEL>_WEBHOOK_URL`, then without `KINTO_`) or the INI file, as
 * kinto-slack's `read_env`; channels come from metadata, hence the lookup at send time.
 */
export function channelWebhook(channel: string, options: WebhookOptions): string | null {
  const name = channel.replace(/#/g, '');
  const variable = `SLACK_${name}_WEBHOOK_URL`.toUpperCase().replace(/[.-]/g, '_');
  return options.env[`KINTO_${variable}`] || options.env[variable] || options.settings.str(`slack.${name}.webhook_url`, '') || null;
}

function webhookFor(message: SlackMessage, options: WebhookOptions): string | null {
  if (message.channel) {
    const url = channelWebhook(message.channel, options);
    if (url) return url;
    if (options.defaultUrl) options.warn(`slack.${message.channel.replace(/#/g, '')}.webhook_url not found in config or environment. Fallback to default`);
  }
  if (!options.defaultUrl && !options.debugDir) options.warn('No Slack Webhook URL or debug dir configured.');
  return options.defaultUrl;
}

let sequence = 0;

/** Posts `{channel, text}` to the webhook (and writes it to `slack.debug_dir` when set). */
export async function sendSlackMessage(message: SlackMessage, options: WebhookOptions): Promise<void> {
  if (options.debugDir) {
    await mkdir(options.debugDir, { recursive: true });
    const name = `${process.hrtime.bigint()}${String((sequence += 1) % 1000).padStart(3, '0')}.json`;
    await writeFile(join(options.debugDir, name), JSON.stringify(message));
  }
  const url = webhookFor(message, options);
  if (!url) return;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (!response.ok) throw new Error(`Slack webhook answered ${response.status}`);
}
