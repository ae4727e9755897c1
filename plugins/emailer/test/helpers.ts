import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { BASE_INI, basic, client, type Client } from '../../../test/helpers/app.ts';
import { testBackends } from '../../../test/helpers/test-backends.ts';
import { iniLines } from '../../changes/test/helpers.ts';
import { notificationsSettled } from '../index.ts';

export interface LogLine {
  level: number;
  msg?: string;
  [field: string]: unknown;
}

export interface EmailerWorld {
  app: FastifyInstance;
  logs: LogLine[];
  alice: Client;
  /** Waits for the notifications of the requests made so far. */
  settled(): Promise<void>;
}

/** Settings of the emailer plugin sending to a local SMTP server. */
export const smtpSettings = (port: number, more: Record<string, string> = {}): Record<string, string> => ({
  'kinto.includes': 'kinto_emailer',
  'mail.host': '127.0.0.1',
  'mail.port': String(port),
  'mail.default_sender': 'kinto@example.com',
  'mail.timeout_seconds': '5',
  ...more,
});

/** An app built from INI lines, its log lines (JSON, debug level) collected. */
export async function emailerWorld(...settings: Record<string, string>[]): Promise<EmailerWorld> {
  const logs: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({ iniText: `${BASE_INI}${iniLines(...settings)}`, env: {} });
  const app = await buildApp(config, { backends: await testBackends(), logger: { level: 'debug', stream } });
  await app.ready();
  return { app, logs, alice: client(app, basic('alice')), settled: () => notificationsSettled(app.kinto) };
}

/** The start-up error message of a configuration. */
export async function startError(...settings: Record<string, string>[]): Promise<string> {
  try {
    const world = await emailerWorld(...settings);
    await world.app.close();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('the server started');
}

/** Hooks metadata: `{"kinto-emailer": {"hooks": [...]}}`. */
export const emailerMetadata = (...hooks: Record<string, unknown>[]) => ({ 'kinto-emailer': { hooks } });
