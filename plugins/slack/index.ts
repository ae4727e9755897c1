/**
 * kinto-slack (Remote Settings): Slack messages for the hooks of a collection's (or its
 * bucket's) `kinto-slack` metadata, on record and collection changes and on the signer's
 * review events, posted after commit to the incoming webhook `slack.webhook_url` or, for a
 * hook's `channel`, `slack.<channel>.webhook_url`.
 *
 * Like the emailer (whose template, filter and outbox code it shares): messages are sent
 * in the background after commit, one at a time; failures are logged, never reported to
 * the writer; a broken template loses its own message only.
 */
import type { FastifyInstance } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import type { TransactionScope } from '../../core/events.ts';
import { definePlugin } from '../../core/plugin.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';
import { Outbox, RequestScope } from '../emailer/delivery.ts';
import { exposedSettings } from '../emailer/index.ts';
import { reviewEventsOf, type ReviewEvent } from '../signer/events.ts';
import type { NotificationSource } from '../emailer/notifications.ts';
import { buildSlackMessages, validationListener, type SlackMessage } from './messages.ts';
import { sendSlackMessage, type WebhookOptions } from './webhooks.ts';

export const SLACK_SETTINGS = defineSettings('slack.', {
  webhook_url: setting.optionalString({ description: 'Incoming webhook of the default channel (a secret).' }),
  debug_dir: setting.optionalString({ description: 'Folder where every message is also written as JSON (tests, debugging).' }),
  timeout_seconds: setting.number({ default: 5, min: 0.001, description: 'Seconds allowed for a webhook call.' }),
}, [
  {
    pattern: /^slack\.[\w-]+\.webhook_url$/,
    example: 'slack.fxmonitor-alerts.webhook_url',
    spec: setting.optionalString({ description: 'Incoming webhook of a hook `channel` (a secret).' }),
  },
]);

const RESOURCE_CHANGED = 'kinto.core.events.ResourceChanged';
const REVIEW_EVENTS = ['ReviewRequested', 'ReviewApproved', 'ReviewRejected'] as const;

function subscribe(app: FastifyInstance, core: KintoCore, outbox: Outbox<SlackMessage>): void {
  const requests = new RequestScope(app, core.settings);
  const settings = exposedSettings(core);
  const warn = (details: object, message: string) => app.log.warn(details, message);
  const build = async (source: NotificationSource, scope: TransactionScope) => {
    outbox.track(scope, source.impacted);
    outbox.add(scope, await buildSlackMessages(source, { storage: scope.storage, request: requests.info(), settings, warn }));
  };
  core.events.subscribe(validationListener);
  core.events.subscribe({
    phase: 'transaction',
    resources: ['record', 'collection'],
    async handle(events, scope) {
      for (const event of events) await build({ event: RESOURCE_CHANGED, payload: event.payload, impacted: event.impacted }, scope);
    },
  });
  reviewEventsOf(core).subscribe(
    (event: ReviewEvent, scope) =>
      build({ event: `kinto_remote_settings.signer.events.${event.type}`, payload: event.payload, impacted: event.impacted }, scope),
    REVIEW_EVENTS,
  );
  core.events.subscribe({
    phase: 'commit',
    resources: ['record', 'collection'],
    async handle(events) {
      for (const event of events) outbox.release(event.impacted);
    },
  });
}

const outboxes = new WeakMap<KintoCore, Outbox<SlackMessage>>();

/** Resolves once the messages handed over so far were posted or failed (tests, shutdown). */
export async function slackSettled(core: KintoCore): Promise<void> {
  await outboxes.get(core)?.idle();
}

export default definePlugin({
  name: 'slack',
  aliases: ['kinto_slack'],
  settings: SLACK_SETTINGS,
  register(app, core, settings) {
    const options: WebhookOptions = {
      defaultUrl: settings.webhook_url,
      debugDir: settings.debug_dir,
      timeoutMs: settings.timeout_seconds * 1000,
      settings: core.settings,
      env: process.env,
      warn: (message) => app.log.warn(message),
    };
    const sender = { send: (m: SlackMessage) => sendSlackMessage(m, options), describe: (m: SlackMessage) => ({ channel: m.channel }) };
    const outbox = new Outbox(sender, { error: (d, m) => app.log.error(d, m), debug: (d, m) => app.log.debug(d, m) });
    outboxes.set(core, outbox);
    core.capabilities.add('slack', {
      description: 'Slack notifications plugin for Kinto',
      url: 'https://github.com/mozilla/remote-settings/blob/main/kinto-slack/',
    });
    subscribe(app, core, outbox);
    app.addHook('onClose', () => outbox.idle());
  },
});
