/**
 * pyramid_mailer's two mailers, on nodemailer: SMTP (`mail.host`, `mail.port`, `mail.tls`
 * for STARTTLS, `mail.ssl` for implicit TLS, `mail.username`/`mail.password`) and the
 * debug mailer (`mail.debug_mailer`), which writes every message to an `.eml` file of
 * the `mail` folder instead of sending it.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTransport, type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { SettingsError } from '../../core/settings/ini.ts';
import type { MailMessage } from './notifications.ts';

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export interface SmtpOptions {
  host: string;
  port: number;
  username: string | null;
  password: string | null;
  tls: boolean;
  ssl: boolean;
  keyfile: string | null;
  certfile: string | null;
  /** SMTP conversation logged (at debug level) when above 0; credentials are masked by nodemailer. */
  debug: number;
  defaultSender: string | null;
  timeoutSeconds: number;
}

type Logger = SMTPTransport.Options['logger'];

function readPem(path: string | null, setting: string): Buffer | undefined {
  if (path === null) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SettingsError(`${setting}: cannot read '${path}' (${(error as Error).message})`);
  }
}

/** The nodemailer transport options matching pyramid_mailer's `Mailer.from_settings`. */
export function transportOptions(options: SmtpOptions, logger?: Logger): SMTPTransport.Options {
  const timeout = options.timeoutSeconds * 1000;
  return {
    host: options.host,
    port: options.port,
    secure: options.ssl,
    // repoze.sendmail: `tls` forces STARTTLS, without it STARTTLS is never attempted.
    requireTLS: options.tls && !options.ssl,
    ignoreTLS: !options.tls && !options.ssl,
    // pyramid_mailer logs in only when both are set.
    auth: options.username && options.password ? { user: options.username, pass: options.password } : undefined,
    tls: { key: readPem(options.keyfile, 'mail.keyfile'), cert: readPem(options.certfile, 'mail.certfile') },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    logger: options.debug > 0 ? logger : false,
    debug: options.debug > 0,
  };
}

export function smtpMailer(options: SmtpOptions, logger?: Logger): Mailer {
  const transport: Transporter = createTransport(transportOptions(options, logger));
  return {
    async send(message) {
      const from = message.sender ?? options.defaultSender;
      // pyramid_mailer's `Message.validate`.
      if (!from) throw new Error('No sender address has been set');
      await transport.sendMail({ from, to: message.recipients, subject: message.subject, text: message.body });
    },
    close: () => transport.close(),
  };
}

const SEEDS = '1234567890qwertyuiopasdfghjklzxcvbnm';

/** DebugMailer's file name: `YYYYmmddHHMMSS_xxxx.eml` (four distinct random characters). */
function debugFileName(now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  const pool = [...SEEDS];
  let suffix = '';
  for (let i = 0; i < 4; i += 1) suffix += pool.splice(randomInt(pool.length), 1)[0];
  return `${stamp}_${suffix}.eml`;
}

/** pyramid_mailer's DebugMailer: the folder is created at start-up, the sender is `nobody` when unset. */
export function debugMailer(directory: string): Mailer {
  const folder = resolve(directory);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new SettingsError(`mail.debug_mailer: cannot create the folder '${folder}' (${(error as Error).message})`);
  }
  const composer = createTransport({ streamTransport: true, buffer: true });
  return {
    async send(message) {
      // As an address object: nodemailer drops a bare `nobody` string, which is no address.
      const from = message.sender ?? { name: '', address: 'nobody' };
      const info = await composer.sendMail({ from, to: message.recipients, subject: message.subject, text: message.body });
      await writeFile(join(folder, debugFileName(new Date())), info.message as Buffer, { flag: 'wx' });
    },
    close: () => composer.close(),
  };
}
