import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import { hmacDigest } from '../../../core/auth/policies.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { BASE_INI, client, type Client } from '../../../test/helpers/app.ts';
import { testBackends } from '../../../test/helpers/test-backends.ts';
import { historyTrimmer } from '../index.ts';

export interface HistoryAppOptions {
  /** `kinto.includes` (the history plugin alone by default). */
  includes?: string;
  /** Subscribes test listeners (the event bus closes once the app is ready). */
  beforeReady?: (app: FastifyInstance) => void;
}

/** An app with the history plugin and extra INI lines, on the test backends. */
export async function historyApp(extraIni = '', options: HistoryAppOptions = {}): Promise<FastifyInstance> {
  const includes = `kinto.includes = ${options.includes ?? 'kinto.plugins.history'}\n`;
  const config = loadConfig({ iniText: `${BASE_INI}${includes}${extraIni}`, env: {} });
  const app = await buildApp(config, { backends: await testBackends() });
  options.beforeReady?.(app);
  await app.ready();
  return app;
}

/** The user id of `basic(user)` in the test configuration (to name users in settings). */
export function basicUserId(user: string, password = 'secret'): string {
  return `basicauth:${hmacDigest('test-secret', `${user}:${password}`)}`;
}

/** The user id (`basicauth:…`) a client is known as. */
export async function userIdOf(user: Client): Promise<string> {
  return (await user.get('/')).json().user.id;
}

/** The entries of a bucket's history, newest first. */
export async function entriesOf(user: Client, bucketId: string, query = ''): Promise<Record<string, any>[]> {
  const response = await user.get(`/buckets/${bucketId}/history${query}`);
  if (response.statusCode !== 200) throw new Error(`history of ${bucketId}: ${response.statusCode} ${response.body}`);
  return response.json().data;
}

/** Waits for the background trimming the previous writes started. */
export async function trimmed(app: FastifyInstance): Promise<void> {
  await historyTrimmer(app.kinto)?.idle();
}

export { client };
