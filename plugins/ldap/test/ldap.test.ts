import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { basic, client } from '../../../test/helpers/app.ts';
import { PEOPLE_DN, ROOT_DN, ROOT_PASSWORD, Slapd, SUFFIX } from './slapd.ts';

const SECRET = 'ldap-test-secret';
const USERS = [
  { uid: 'alice', mail: 'alice@example.com', password: 'wonderland' },
  { uid: 'bob', mail: 'bob@example.com', password: 'builder' },
  // Two entries with one address: nobody may log in with it.
  { uid: 'twin1', mail: 'twin@example.com', password: 'same' },
  { uid: 'twin2', mail: 'twin@example.com', password: 'same' },
];
const cacheKey = (user: string, password: string) => createHmac('sha256', SECRET).update(`${user}:${password}`).digest('hex');

function ldapIni(url: string, extra: Record<string, string> = {}): string {
  const settings: Record<string, string> = {
    'kinto.userid_hmac_secret': SECRET,
    'multiauth.policies': 'ldap',
    'multiauth.policy.ldap.use': 'kinto_ldap.authentication.LDAPBasicAuthAuthenticationPolicy',
    'kinto.includes': 'kinto_ldap',
    'kinto.bucket_create_principals': 'system.Authenticated',
    'kinto.storage_backend': 'kinto.core.storage.memory',
    'kinto.permission_backend': 'kinto.core.permission.memory',
    'kinto.cache_backend': 'kinto.core.cache.memory',
    'ldap.endpoint': url,
    'ldap.base_dn': SUFFIX,
    'ldap.pool_retry_delay': '0.01',
    'ldap.pool_timeout': '5',
    ...extra,
  };
  return `[app:main]\nuse = egg:kinto\n${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

async function makeLdapApp(url: string, extra: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: ldapIni(url, extra), env: {} }));
  await app.ready();
  return app;
}

const whoami = async (app: FastifyInstance, user: string, password: string) => {
  const response = await client(app, basic(user, password)).get('/');
  return response.json().user?.id ?? null;
};

let slapd: Slapd;
beforeAll(async () => {
  slapd = await Slapd.create(USERS);
});
afterAll(async () => {
  await slapd?.destroy();
});

describe('ldap: authentication', () => {
  let app: FastifyInstance;
  beforeEach(async () => {
    await slapd.start();
    app = await makeLdapApp(slapd.url);
  });
  afterEach(async () => {
    await app.close();
    await slapd.start();
  });

  it('authenticates a good password as ldap:<username as typed>', async () => {
    const hello = await client(app, basic('alice@example.com', 'wonderland')).get('/');
    expect(hello.statusCode).toBe(200);
    expect(hello.json().user.id).toBe('ldap:alice@example.com');
    const created = await client(app, basic('alice@example.com', 'wonderland')).put('/buckets/alice', {});
    expect(created.statusCode).toBe(201);
    expect(created.json().permissions.write).toEqual(['ldap:alice@example.com']);
  });

  it('refuses a wrong password with 401 and remembers it as invalid', async () => {
    const response = await client(app, basic('alice@example.com', 'queen')).put('/buckets/alice', {});
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toEqual(['Basic realm="Realm"']);
    expect(await whoami(app, 'alice@example.com', 'queen')).toBeNull();
    expect(await app.kinto.cache.get(cacheKey('alice@example.com', 'queen'))).toBe('0');
    // The refusal is answered from the cache, without asking LDAP.
    await slapd.stop();
    expect(await whoami(app, 'alice@example.com', 'queen')).toBeNull();
  });

  it('refuses unknown users and empty passwords', async () => {
    expect(await whoami(app, 'nobody@example.com', 'wonderland')).toBeNull();
    expect(await whoami(app, 'alice@example.com', '')).toBeNull();
    expect(await whoami(app, '', 'wonderland')).toBeNull();
  });

  it('answers a second check from the cache (HMAC key, never the password) within the TTL', async () => {
    expect(await whoami(app, 'alice@example.com', 'wonderland')).toBe('ldap:alice@example.com');
    const key = cacheKey('alice@example.com', 'wonderland');
    expect(await app.kinto.cache.get(key)).toBe('1');
    const ttl = await app.kinto.cache.ttl(key);
    expect(ttl).toBeGreaterThan(25);
    expect(ttl).toBeLessThanOrEqual(30);
    await slapd.stop();
    expect(await whoami(app, 'alice@example.com', 'wonderland')).toBe('ldap:alice@example.com');
    // Another password of the same user is not in the cache: LDAP is down, so refused.
    expect(await whoami(app, 'alice@example.com', 'other')).toBeNull();
  });

  it('leaves requests unauthenticated (401, not 500) when LDAP is down', async () => {
    await slapd.stop();
    const response = await client(app, basic('bob@example.com', 'builder')).put('/buckets/bob', {});
    expect(response.statusCode).toBe(401);
    const hello = await client(app, basic('bob@example.com', 'builder')).get('/');
    expect(hello.statusCode).toBe(200);
    expect(hello.json().user).toBeUndefined();
    // Nothing is remembered: once LDAP is back, the same credentials work.
    expect(await app.kinto.cache.get(cacheKey('bob@example.com', 'builder'))).toBeNull();
    await slapd.start();
    expect(await whoami(app, 'bob@example.com', 'builder')).toBe('ldap:bob@example.com');
  });

  it('escapes the username in the filter: injection attempts are not authenticated', async () => {
    for (const username of ['*)(mail=*', '*', 'ali*', 'alice@example.com)(mail=*', '*)(|(mail=*', 'alice@example.com\\']) {
      expect(await whoami(app, username, 'wonderland')).toBeNull();
    }
  });

  it('refuses a username that matches two entries', async () => {
    expect(await whoami(app, 'twin@example.com', 'same')).toBeNull();
    expect(await app.kinto.cache.get(cacheKey('twin@example.com', 'same'))).toBeNull();
  });

  it('advertises the ldap capability', async () => {
    const hello = await client(app).get('/');
    expect(hello.json().capabilities.ldap).toEqual({
      description: 'Basic Auth user are validated against an LDAP server.',
      url: 'https://github.com/mozilla-services/kinto-ldap',
      version: expect.any(String),
    });
  });

  it('reports the ldap heartbeat: true while slapd answers, false once stopped', async () => {
    const up = await client(app).get('/__heartbeat__');
    expect(up.statusCode).toBe(200);
    expect(up.json().ldap).toBe(true);
    await slapd.stop();
    const down = await client(app).get('/__heartbeat__');
    expect(down.statusCode).toBe(503);
    expect(down.json().ldap).toBe(false);
  });
});

describe('ldap: configuration', () => {
  beforeAll(() => slapd.start());

  it('searches with a service account (ldap.bind_dn) and a custom filter', async () => {
    const app = await makeLdapApp(slapd.url, {
      'ldap.bind_dn': ROOT_DN,
      'ldap.bind_password': ROOT_PASSWORD,
      'ldap.base_dn': PEOPLE_DN,
      'ldap.filters': '(&(objectClass=inetOrgPerson)(uid={mail}))',
    });
    try {
      expect(await whoami(app, 'alice', 'wonderland')).toBe('ldap:alice');
      expect(await whoami(app, 'alice', 'nope')).toBeNull();
      expect(await whoami(app, 'ali*', 'wonderland')).toBeNull();
      expect((await client(app).get('/__heartbeat__')).json().ldap).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('queues checks beyond ldap.pool_size instead of failing them', async () => {
    const app = await makeLdapApp(slapd.url, { 'ldap.pool_size': '1' });
    try {
      const users = ['alice@example.com:wonderland', 'bob@example.com:builder', 'alice@example.com:bad'];
      const ids = await Promise.all([...users, ...users].map((pair) => whoami(app, pair.split(':')[0], pair.split(':')[1])));
      expect(ids).toEqual(['ldap:alice@example.com', 'ldap:bob@example.com', null, 'ldap:alice@example.com', 'ldap:bob@example.com', null]);
    } finally {
      await app.close();
    }
  });

  it('refuses to authenticate (and logs) when the service bind fails, without caching', async () => {
    const app = await makeLdapApp(slapd.url, { 'ldap.bind_dn': ROOT_DN, 'ldap.bind_password': 'wrong' });
    try {
      expect(await whoami(app, 'alice@example.com', 'wonderland')).toBeNull();
      expect(await app.kinto.cache.get(cacheKey('alice@example.com', 'wonderland'))).toBeNull();
      expect((await client(app).get('/__heartbeat__')).json().ldap).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('challenges with multiauth.policy.<name>.realm', async () => {
    const app = await makeLdapApp(slapd.url, { 'multiauth.policy.ldap.realm': 'Mozilla LDAP' });
    expect(app.kinto.config.warnings).toEqual([]);
    const response = await client(app).put('/buckets/alice', {});
    expect(response.headers['www-authenticate']).toEqual(['Basic realm="Mozilla LDAP"']);
    await app.close();
  });

  it('stops the server when ldap.filters has no {mail}', async () => {
    const bad = (filters: string) => buildApp(loadConfig({ iniText: ldapIni(slapd.url, { 'ldap.filters': filters }), env: {} }));
    await expect(bad('(uid=alice)')).rejects.toThrow("ldap.filters should take a 'mail' argument, got: '(uid=alice)'");
    await expect(bad('(uid={uid})')).rejects.toThrow("ldap.filters should take a 'mail' argument only");
    await expect(bad('(mail={mail}')).rejects.toThrow('ldap.filters is not a valid LDAP filter');
  });

  it('refuses an endpoint that is not an LDAP URI', async () => {
    await expect(makeLdapApp('http://127.0.0.1:1')).rejects.toThrow(/ldap\.endpoint/);
  });

  it('heartbeat is false for an unreachable server', async () => {
    const app = await makeLdapApp('ldap://127.0.0.1:1');
    try {
      expect((await client(app).get('/__heartbeat__')).json().ldap).toBe(false);
      expect(await whoami(app, 'alice@example.com', 'wonderland')).toBeNull();
    } finally {
      await app.close();
    }
  });
});
