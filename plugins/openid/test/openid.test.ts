import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { CLIENT_ID, CLIENT_SECRET, loginThroughProvider, REDIRECT_URI, TestProvider } from './provider.ts';

const SECRET = 'openid-test-secret';
const CALLBACK = 'http://app.example.com/#tokens=';

function openidIni(issuer: string, extra: Record<string, string> = {}): string {
  const settings: Record<string, string> = {
    'kinto.userid_hmac_secret': SECRET,
    'multiauth.policies': 'op',
    'multiauth.policy.op.use': 'kinto.plugins.openid.OpenIDConnectPolicy',
    'multiauth.policy.op.issuer': issuer,
    'multiauth.policy.op.client_id': CLIENT_ID,
    'multiauth.policy.op.client_secret': CLIENT_SECRET,
    'kinto.includes': 'kinto.plugins.openid',
    'kinto.bucket_create_principals': 'system.Authenticated',
    'kinto.storage_backend': 'kinto.core.storage.memory',
    'kinto.permission_backend': 'kinto.core.permission.memory',
    'kinto.cache_backend': 'kinto.core.cache.memory',
    ...extra,
  };
  return `[app:main]\nuse = egg:kinto\n${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

async function makeApp(issuer: string, extra: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: openidIni(issuer, extra), env: {} }));
  await app.ready();
  return app;
}

const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });

/** The whole code flow through our /login and /token endpoints: the provider's token response. */
async function codeFlow(app: FastifyInstance, login: string): Promise<Record<string, unknown>> {
  const start = await get(app, `/v1/openid/op/login?callback=${encodeURIComponent(CALLBACK)}&scope=${encodeURIComponent('openid email')}`);
  expect(start.statusCode).toBe(307);
  const back = await loginThroughProvider(start.headers.location as string, login);
  const finish = await get(app, back.pathname + back.search);
  expect(finish.statusCode).toBe(307);
  const location = finish.headers.location as string;
  expect(location.startsWith(CALLBACK)).toBe(true);
  return JSON.parse(Buffer.from(decodeURIComponent(location.slice(CALLBACK.length)), 'base64').toString('utf8'));
}

let provider: TestProvider;
beforeAll(async () => {
  provider = await TestProvider.create();
});
afterAll(async () => {
  await provider?.stop();
});

describe('openid: capability and login endpoints', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await makeApp(provider.issuer);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('advertises the provider in the openid capability', async () => {
    const response = await get(app, '/v1/');
    expect(response.json().capabilities.openid).toEqual({
      description: 'OpenID connect support.',
      url: 'http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html',
      providers: [{
        name: 'op',
        issuer: provider.issuer,
        auth_path: '/openid/op/login',
        client_id: CLIENT_ID,
        audience: '',
        header_type: 'Bearer',
        userinfo_endpoint: `${provider.issuer}/me`,
      }],
    });
  });

  it('documents the policy as OAuth 2 in /__api__, as Kinto exposes it', async () => {
    const document = (await get(app, '/v1/__api__')).json();
    expect(document.securityDefinitions.op).toEqual({ type: 'oauth2', authorizationUrl: `${provider.issuer}/auth` });
  });

  it('redirects the login to the authorization endpoint with a state remembered in the cache', async () => {
    const response = await get(app, `/v1/openid/op/login?callback=${encodeURIComponent(CALLBACK)}&scope=openid&prompt=none`);
    expect(response.statusCode).toBe(307);
    const location = new URL(response.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(`${provider.issuer}/auth`);
    const params = Object.fromEntries(location.searchParams);
    expect(params).toMatchObject({ client_id: CLIENT_ID, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, prompt: 'none' });
    expect(params.state).toMatch(/^[0-9a-f]{64}$/);
    expect(await app.kinto.cache.get(`openid:state:${params.state}`)).toBe(CALLBACK);
    expect(await app.kinto.cache.ttl(`openid:state:${params.state}`)).toBeGreaterThan(3500);
  });

  it('refuses a login without callback or scope, or for an unknown provider (400)', async () => {
    const missing = await get(app, '/v1/openid/op/login?scope=openid');
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      code: 400,
      errno: 107,
      error: 'Invalid parameters',
      message: 'callback in querystring: Required',
      details: [{ location: 'querystring', name: 'callback', description: 'Required' }],
    });
    const noScope = await get(app, `/v1/openid/op/login?callback=${encodeURIComponent(CALLBACK)}`);
    expect(noScope.statusCode).toBe(400);
    expect(noScope.json().details).toEqual([{ location: 'querystring', name: 'scope', description: 'Required' }]);
    const notUrl = await get(app, '/v1/openid/op/login?callback=nope&scope=openid');
    expect(notUrl.statusCode).toBe(400);
    expect(notUrl.json().details).toEqual([{ location: 'querystring', name: 'callback', description: 'Must be a URL' }]);
    const unknown = await get(app, `/v1/openid/other/login?callback=${encodeURIComponent(CALLBACK)}&scope=openid`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().details).toEqual([{ location: 'path', name: 'provider', description: "Unknow provider 'other'" }]);
  });

  it('refuses an unknown or already used state with 400 (errno 105)', async () => {
    const response = await get(app, '/v1/openid/op/token?code=abc&state=unknown');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 400,
      errno: 105,
      error: 'Invalid parameters',
      details: [{ location: 'body', name: 'state', description: 'Invalid state' }],
    });
    const missing = await get(app, '/v1/openid/op/token?state=unknown');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().details).toEqual([{ location: 'querystring', name: 'code', description: 'Required' }]);
  });
});

describe('openid: authentication', () => {
  let app: FastifyInstance;
  beforeEach(async () => {
    if (!provider['server']) await provider.start();
    app = await makeApp(provider.issuer);
  });
  afterEach(async () => {
    await app?.close();
  });

  it('authenticates the access token of the code flow; the userinfo is cached under an HMAC', async () => {
    const tokens = await codeFlow(app, 'alice');
    expect(tokens).toMatchObject({ token_type: 'Bearer' });
    const accessToken = tokens.access_token as string;
    expect(typeof accessToken).toBe('string');

    const before = provider.count('/me');
    const hello = await get(app, '/v1/', { authorization: `Bearer ${accessToken}` });
    expect(hello.statusCode).toBe(200);
    expect(hello.json().user).toMatchObject({ id: 'op:alice', profile: { sub: 'alice', email: 'alice@example.com' } });
    expect(provider.count('/me')).toBe(before + 1);

    // The scheme is case-insensitive; the second request is answered from the cache.
    const again = await get(app, '/v1/', { authorization: `bearer ${accessToken}` });
    expect(again.json().user.id).toBe('op:alice');
    expect(provider.count('/me')).toBe(before + 1);
    const digest = createHmac('sha256', SECRET).update(`${provider.issuer}:${CLIENT_ID}::${accessToken}`).digest('hex');
    expect(await app.kinto.cache.get(`openid:verify:${digest}`)).toMatchObject({ sub: 'alice' });
    expect(await app.kinto.cache.ttl(`openid:verify:${digest}`)).toBeGreaterThan(86000);

    // Usable for writes; still answered once the provider is gone (cached).
    await provider.stop();
    const created = await app.inject({
      method: 'PUT', url: '/v1/buckets/b1', headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().permissions.write).toEqual(['op:alice']);
  });

  it('answers 401 to an invalid token, with the policy challenge', async () => {
    const before = provider.count('/me');
    const response = await get(app, '/v1/buckets', { authorization: 'Bearer not-a-valid-token' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toEqual(['Bearer realm="Realm"']);
    expect(provider.count('/me')).toBe(before + 1);
    const hello = await get(app, '/v1/', { authorization: 'Bearer not-a-valid-token' });
    expect(hello.json().user).toBeUndefined();
    // Another scheme is not this policy's: the provider is not asked.
    const other = await get(app, '/v1/buckets', { authorization: 'Token not-a-valid-token' });
    expect(other.statusCode).toBe(401);
    expect(provider.count('/me')).toBe(before + 2);
  });

  it('answers 401, not 500, when the provider cannot be reached', async () => {
    await provider.stop();
    const response = await get(app, '/v1/buckets', { authorization: 'Bearer some-token' });
    expect(response.statusCode).toBe(401);
    const hello = await get(app, '/v1/', { authorization: 'Bearer some-token' });
    expect(hello.statusCode).toBe(200);
    expect(hello.json().user).toBeUndefined();
  });

  it('uses userid_field and header_type, and requires the email scope for email ids', async () => {
    await app.close();
    app = await makeApp(provider.issuer, {
      'multiauth.policy.op.userid_field': 'email',
      'multiauth.policy.op.header_type': 'OIDC',
    });
    const noEmail = await get(app, `/v1/openid/op/login?callback=${encodeURIComponent(CALLBACK)}&scope=openid`);
    expect(noEmail.statusCode).toBe(400);
    expect(noEmail.json().details).toEqual([{ location: 'body', name: 'scope', description: "Provider op requires 'email' scope" }]);
    const tokens = await codeFlow(app, 'bob');
    const hello = await get(app, '/v1/', { authorization: `OIDC ${tokens.access_token as string}` });
    expect(hello.json().user.id).toBe('op:bob@example.com');
    const bearer = await get(app, '/v1/buckets', { authorization: `Bearer ${tokens.access_token as string}` });
    expect(bearer.statusCode).toBe(401);
    expect(bearer.headers['www-authenticate']).toEqual(['OIDC realm="Realm"']);
    expect(app.kinto.capabilities.get('openid')!.providers).toMatchObject([{ header_type: 'OIDC' }]);
  });
});

describe('openid: audience (JWT access tokens)', () => {
  beforeEach(async () => {
    if (!provider['server']) await provider.start();
  });

  it('checks the JWT signature (provider keys), issuer and audience before asking userinfo', async () => {
    // oidc-provider's access tokens are opaque; its ID token is a JWT signed with the provider's
    // keys for aud=client_id: it passes the JWT check, then userinfo refuses it (not an access token).
    const app = await makeApp(provider.issuer, { 'multiauth.policy.op.audience': CLIENT_ID });
    try {
      const start = await get(app, `/v1/openid/op/login?callback=${encodeURIComponent(CALLBACK)}&scope=openid`);
      expect(new URL(start.headers.location as string).searchParams.get('audience')).toBe(CLIENT_ID);
      expect(app.kinto.capabilities.get('openid')!.providers).toMatchObject([{ audience: CLIENT_ID }]);
      const tokens = await codeFlow(app, 'carol');
      const idToken = tokens.id_token as string;
      expect(idToken.split('.')).toHaveLength(3);

      const me = provider.count('/me');
      const opaque = await get(app, '/v1/buckets', { authorization: `Bearer ${tokens.access_token as string}` });
      expect(opaque.statusCode).toBe(401);
      expect(provider.count('/me')).toBe(me);

      const [header, payload, signature] = idToken.split('.');
      const forged = `${header}.${payload}.${signature.slice(0, -4)}${signature.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      expect((await get(app, '/v1/buckets', { authorization: `Bearer ${forged}` })).statusCode).toBe(401);
      expect(provider.count('/me')).toBe(me);

      const jwt = await get(app, '/v1/buckets', { authorization: `Bearer ${idToken}` });
      expect(jwt.statusCode).toBe(401);
      expect(provider.count('/me')).toBe(me + 1);
      expect(provider.count('/jwks')).toBeGreaterThan(0);
    } finally {
      await app.close();
    }

    const other = await makeApp(provider.issuer, { 'multiauth.policy.op.audience': 'another-api' });
    try {
      const tokens = await codeFlow(other, 'carol');
      const me = provider.count('/me');
      expect((await get(other, '/v1/buckets', { authorization: `Bearer ${tokens.id_token as string}` })).statusCode).toBe(401);
      expect(provider.count('/me')).toBe(me);
    } finally {
      await other.close();
    }
  });
});

describe('openid: configuration', () => {
  it('adds no capability without an OpenID policy', async () => {
    const ini = openidIni(provider.issuer, { 'multiauth.policies': 'basicauth' });
    const app = await buildApp(loadConfig({ iniText: ini, env: {} }));
    await app.ready();
    const hello = await app.inject({ method: 'GET', url: '/v1/' });
    expect(hello.json().capabilities.openid).toBeUndefined();
    await app.close();
  });

  it('refuses to start when the provider configuration cannot be fetched', async () => {
    await expect(makeApp('http://127.0.0.1:9/')).rejects.toThrow(/cannot fetch the OpenID configuration/);
  });
});
