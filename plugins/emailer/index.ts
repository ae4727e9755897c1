/**
 * kinto-emailer (4.0.0): emails on record and collection changes, configured by hooks in
 * the collection's (else the bucket's) `kinto-emailer` metadata, and on the signer's
 * review requests, approvals and rejections (hooks filtering on `event`, e.g.
 * `kinto_remote_settings.signer.events.ReviewRequested`).
 *
 * - Hooks are validated when a bucket or collection is written (400 otherwise).
 * - Messages are computed in the write's transaction, sent once it commits; a failure to
 *   send is logged and never fails the request.
 * - Settings `mail.*` as pyramid_mailer reads them; `mail.debug_mailer = true` writes the
 *   messages to `.eml` files instead (`mail.top_level_directory`, `./mail` by default).
 * - `kinto send-email <recipient>`: kinto-emailer's `kinto-send-email` check.
 *
 * Not reproduced: the Maildir queue (`mail.queue_path`: messages are sent directly, with a
 * warning) and sendmail delivery (kinto-emailer never uses it).
 */
import type { FastifyInstance } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import type { ResourceEvent, TransactionScope } from '../../core/events.ts';
import { definePlugin } from '../../core/plugin.ts';
import { defineSettings, setting, type SettingsOf } from '../../core/settings/schema.ts';
import { reviewEventsOf, type ReviewEvent } from '../signer/events.ts';
import { SEND_EMAIL_COMMAND } from './cli.ts';
import { Outbox, RequestScope } from './delivery.ts';
import { validationListener } from './hooks.ts';
import { debugMailer, smtpMailer, type Mailer } from './mailer.ts';
import { buildMessages, type MailMessage, type NotificationSource } from './notifications.ts';

export const KINTO_EMAILER_VERSION = '4.0.0';

export const EMAILER_SETTINGS = defineSettings('mail.', {
  host: setting.string({ default: 'localhost', description: 'SMTP server host.' }),
  port: setting.int({ default: 25, min: 1, max: 65535, description: 'SMTP server port.' }),
  username: setting.optionalString({ description: 'SMTP user (authentication only when the password is set too).' }),
  password: setting.optionalString({ description: 'SMTP password. Never shown.' }),
  tls: setting.bool({ default: false, description: 'Require STARTTLS (never attempted otherwise).' }),
  ssl: setting.bool({ default: false, description: 'Connect with implicit TLS (SMTPS, usually port 465).' }),
  keyfile: setting.optionalString({ description: 'Client private key (PEM file) presented to the SMTP server.' }),
  certfile: setting.optionalString({ description: 'Client certificate (PEM file) presented to the SMTP server.' }),
  default_sender: setting.optionalString({ description: 'Sender of the hooks without `sender`.' }),
  debug: setting.int({ default: 0, min: 0, description: 'Above 0: the SMTP conversation is logged (debug level).' }),
  timeout_seconds: setting.number({ default: 30, min: 0.001, description: 'Time limit of each SMTP step (connect, greeting, socket).' }),
  debug_mailer: setting.bool({ default: false, description: 'Write messages to `.eml` files instead of sending them.' }),
  top_level_directory: setting.string({ default: 'mail', description: 'Folder of the debug mailer files.' }),
  queue_path: setting.optionalString({ description: 'Maildir queue of pyramid_mailer: not supported, messages are sent directly.' }),
  sendmail_app: setting.optionalString({ description: 'pyramid_mailer sendmail delivery, unused by kinto-emailer.' }),
  sendmail_template: setting.list({ description: 'pyramid_mailer sendmail delivery, unused by kinto-emailer.' }),
});

export type EmailerSettings = SettingsOf<(typeof EMAILER_SETTINGS)['specs']>;

export function createMailer(settings: EmailerSettings, app?: FastifyInstance): Mailer {
  if (settings.debug_mailer) return debugMailer(settings.top_level_directory);
  const smtp = {
    ...settings,
    defaultSender: settings.default_sender,
    timeoutSeconds: settings.timeout_seconds,
  };
  return smtpMailer(smtp, app ? smtpLogger(app) : undefined);
}

/** nodemailer's bunyan-like logger on the app's: the SMTP conversation at debug level. */
function smtpLogger(app: FastifyInstance) {
  const log = app.log.child({ logger: 'kinto_emailer.smtp' });
  const debug = (entry: object, message: string, ...args: unknown[]) => log.debug(entry, message, ...args);
  const error = (entry: object, message: string, ...args: unknown[]) => log.error(entry, message, ...args);
  return { level: () => {}, trace: debug, debug, info: debug, warn: debug, error, fatal: error };
}

/** The settings templates may show (`{settings[project_name]}`): never secrets. */
export function exposedSettings(core: KintoCore): Record<string, string> {
  const exposed: Record<string, string> = {
    project_name: core.settings.str('project_name', 'kinto'),
    project_version: core.settings.str('project_version', '') || core.version,
  };
  const url = core.settings.get('url');
  if (typeof url === 'string') exposed.url = url;
  return exposed;
}

/** The Python class names hooks filter on (`event`). */
const RESOURCE_CHANGED = 'kinto.core.events.ResourceChanged';
const REVIEW_EVENTS = ['ReviewRequested', 'ReviewApproved', 'ReviewRejected'] as const;
const reviewEventName = (type: string) => `kinto_remote_settings.signer.events.${type}`;

function subscribeNotifications(app: FastifyInstance, core: KintoCore, outbox: Outbox<MailMessage>): void {
  const requests = new RequestScope(app, core.settings);
  const settings = exposedSettings(core);
  const warn = (details: object, message: string) => app.log.warn(details, message);
  const build = async (source: NotificationSource, scope: TransactionScope) => {
    outbox.track(scope, source.impacted);
    const options = { storage: scope.storage, request: requests.info(), settings, warn };
    outbox.add(scope, await buildMessages(source, options));
  };
  const actions = ['create', 'update', 'delete'] as const;
  core.events.subscribe({
    phase: 'transaction',
    resources: ['record', 'collection'],
    actions,
    async handle(events: ResourceEvent[], scope) {
      for (const event of events) await build({ event: RESOURCE_CHANGED, payload: event.payload, impacted: event.impacted }, scope);
    },
  });
  // The signer delivers these in the transaction too, after the collection's own events.
  reviewEventsOf(core).subscribe(
    (event: ReviewEvent, scope) => build({ event: reviewEventName(event.type), payload: event.payload, impacted: event.impacted }, scope),
    REVIEW_EVENTS,
  );
  core.events.subscribe({
    phase: 'commit',
    resources: ['record', 'collection'],
    actions,
    async handle(events) {
      for (const event of events) outbox.release(event.impacted);
    },
  });
}

function logMailer(app: FastifyInstance, settings: EmailerSettings): void {
  if (settings.queue_path !== null) {
    app.log.warn(`${EMAILER_SETTINGS.key('queue_path')} is not supported: notifications are sent directly.`);
  }
  if (settings.debug_mailer) app.log.info(`Debug mailer: notifications are written to '${settings.top_level_directory}', not sent.`);
}

const outboxes = new WeakMap<KintoCore, Outbox<MailMessage>>();

/** Resolves once the notifications handed over so far were sent or failed (tests, shutdown). */
export async function notificationsSettled(core: KintoCore): Promise<void> {
  await outboxes.get(core)?.idle();
}

export default definePlugin({
  name: 'emailer',
  aliases: ['kinto_emailer'],
  settings: EMAILER_SETTINGS,
  cli: [SEND_EMAIL_COMMAND],
  register(app, core, settings) {
    logMailer(app, settings);
    const mailer = createMailer(settings, app);
    const sender = { send: (m: MailMessage) => mailer.send(m), describe: (m: MailMessage) => ({ recipients: m.recipients, subject: m.subject }) };
    const outbox = new Outbox(sender, { error: (d, m) => app.log.error(d, m), debug: (d, m) => app.log.debug(d, m) });
    outboxes.set(core, outbox);
    core.capabilities.add('emailer', {
      description: 'Provide emailing capabilities to the server.',
      url: 'https://github.com/Kinto/kinto-emailer/',
      version: KINTO_EMAILER_VERSION,
    });
    core.events.subscribe(validationListener);
    subscribeNotifications(app, core, outbox);
    app.addHook('onClose', async () => {
      await outbox.idle();
      mailer.close();
    });
  },
});
