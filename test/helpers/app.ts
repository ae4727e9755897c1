import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { testBackends } from './test-backends.ts';

export const BASE_INI = `[app:main]
use = egg:kinto
kinto.userid_hmac_secret = test-secret
multiauth.policies = basicauth
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
kinto.bucket_create_principals = system.Authenticated
kinto.experimental_collection_schema_validation = true
kinto.experimental_permissions_endpoint = true
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory
`;

/**
 * Builds an app from INI lines appended to a basic-auth configuration, on the backends
 * chosen by KINTO_TEST_BACKEND (memory by default; see test-backends.ts).
 */
export async function makeApp(extraIni = '', env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: `${BASE_INI}${extraIni}`, env }), { backends: await testBackends() });
  await app.ready();
  return app;
}

/** An `[app:main]` section on the memory backends with these settings; an empty value removes a default. */
export function appIni(settings: Record<string, string>): string {
  const all: Record<string, string> = {
    'kinto.bucket_create_principals': 'system.Authenticated',
    'kinto.storage_backend': 'kinto.core.storage.memory',
    'kinto.permission_backend': 'kinto.core.permission.memory',
    'kinto.cache_backend': 'kinto.core.cache.memory',
    ...settings,
  };
  const lines = Object.entries(all).filter(([, value]) => value !== '');
  return `[app:main]\nuse = egg:kinto\n${lines.map(([key, value]) => `${key} = ${value}`).join('\n')}\n`;
}

export function basic(user: string, password = 'secret'): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export const ALICE = basic('alice');
export const BOB = basic('bob');

export interface Client {
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  head(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  delete(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  post(url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  put(url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  patch(url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

/** A small request helper bound to default headers (e.g. a user's credentials). */
export function client(app: FastifyInstance, defaults: Record<string, string> = {}): Client {
  const send = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: method as 'GET',
      url: url.startsWith('/v1') ? url : `/v1${url}`,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...defaults, ...headers },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    get: (url, headers) => send('GET', url, undefined, headers),
    head: (url, headers) => send('HEAD', url, undefined, headers),
    delete: (url, headers) => send('DELETE', url, undefined, headers),
    post: (url, body, headers) => send('POST', url, body, headers),
    put: (url, body, headers) => send('PUT', url, body, headers),
    patch: (url, body, headers) => send('PATCH', url, body, headers),
  };
}
