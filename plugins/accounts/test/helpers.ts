import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';

/** The configuration the Python server accepts for accounts, default bucket and flush. */
export const ACCOUNTS_INI = `[app:main]
use = egg:kinto
kinto.userid_hmac_secret = a-long-random-secret
multiauth.policies = account basicauth
multiauth.policy.account.use = kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
kinto.includes = kinto.plugins.accounts
                 kinto.plugins.default_bucket
                 kinto.plugins.flush
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
kinto.bucket_create_principals = system.Authenticated
kinto.flush_endpoint_enabled = true
kinto.experimental_collection_schema_validation = true
kinto.experimental_permissions_endpoint = true
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = 8888
`;

/** `ACCOUNTS_INI` with some `[app:main]` lines replaced or added (`key = value` lines). */
export function iniWith(overrides: Record<string, string>): string {
  const [app, server] = ACCOUNTS_INI.split('\n[server:main]');
  const lines = app.split('\n');
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    const key = /^([^\s=][^=]*?)\s*=/.exec(line)?.[1];
    if (key !== undefined) skipping = key in overrides;
    else if (!/^\s+\S/.test(line)) skipping = false;
    if (!skipping) kept.push(line);
  }
  const extra = Object.entries(overrides).map(([key, value]) => `${key} = ${value}`);
  return `${kept.join('\n').trimEnd()}\n${extra.join('\n')}\n\n[server:main]${server}`;
}

export async function makeAccountsApp(ini: string = ACCOUNTS_INI): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: ini, env: {} }));
  await app.ready();
  return app;
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
