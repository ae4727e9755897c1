/**
 * kinto-fxa's authentication policy, driven through HTTP. The Firefox Accounts OAuth server is
 * a FAKE (./fake-fxa.ts): no real FxA server can run here.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeFxa } from './fake-fxa.ts';
import { bearer, get, hmac, makeFxaApp, whoami } from './helpers.ts';
import { client } from '../../../test/helpers/app.ts';

const NOTES = 'https://identity.mozilla.org/apps/notes';
const LOCKBOX = 'https://identity.mozilla.org/apps/lockbox';

let fxa: FakeFxa;
beforeAll(async () => {
  fxa = await FakeFxa.start();
});
afterAll(async () => {
  await fxa?.stop();
});
beforeEach(() => {
  fxa.failWith = null;
});

describe('fxa: one client', () => {
  let app: FastifyInstance;
  beforeEach(async () => {
    app = await makeFxaApp({ 'fxa-oauth.oauth_uri': fxa.oauthUri, 'fxa-oauth.required_scope': 'kinto profile' });
  });
  afterEach(async () => {
    await app?.close();
  });

  it('authenticates a valid bearer token as fxa:<uid>, who can write', async () => {
    const token = fxa.issueToken('alice-uid', ['kinto', 'profile', 'other']);
    const hello = await get(app, '/v1/', bearer(token));
    expect(hello.json().user).toMatchObject({ id: 'fxa:alice-uid' });
    expect(hello.json().user.principals).toEqual(expect.arrayContaining(['fxa:alice-uid', 'system.Authenticated']));
    const created = await app.inject({ method: 'PUT', url: '/v1/buckets/notes', headers: bearer(token) });
    expect(created.statusCode).toBe(201);
    expect(created.json().permissions.write).toEqual(['fxa:alice-uid']);
    // The scheme is case-insensitive, as in kinto-fxa.
    expect(await whoami(app, { authorization: `bearer ${token}` })).toBe('fxa:alice-uid');
  });

  it('answers 401 with a Bearer challenge for an unknown token, another scheme or no token', async () => {
    const refused = await app.inject({ method: 'PUT', url: '/v1/buckets/notes', headers: bearer('not-a-token') });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 401, errno: 104, error: 'Unauthorized' });
    expect([refused.headers['www-authenticate']].flat()).toEqual(['Bearer realm="Realm"']);
    expect(await whoami(app, bearer('not-a-token'))).toBeNull();
    const token = fxa.issueToken('alice-uid', ['kinto', 'profile']);
    expect(await whoami(app, { authorization: `Token ${token}` })).toBeNull();
    expect(await whoami(app, { authorization: `Bearer${token}` })).toBeNull();
    expect(await whoami(app, { authorization: 'Bearer ' })).toBeNull();
  });

  it('refuses a token without every required scope; broader or write scopes satisfy it', async () => {
    expect(await whoami(app, bearer(fxa.issueToken('u1', ['profile'])))).toBeNull();
    expect(await whoami(app, bearer(fxa.issueToken('u2', ['kinto:write', 'profile:write'])))).toBe('fxa:u2');
    expect(await whoami(app, bearer(fxa.issueToken('u3', ['kinto:read', 'profile'])))).toBeNull();
  });

  it('verifies a token once, then answers from the cache for cache_ttl_seconds, keyed by an HMAC', async () => {
    const token = fxa.issueToken('bob-uid', ['kinto', 'profile']);
    const before = fxa.count('/v1/verify');
    expect(await whoami(app, bearer(token))).toBe('fxa:bob-uid');
    expect(await whoami(app, bearer(token))).toBe('fxa:bob-uid');
    await app.inject({ method: 'PUT', url: '/v1/buckets/b', headers: bearer(token) });
    expect(fxa.count('/v1/verify')).toBe(before + 1);
    const key = `fxa-oauth:verify:${hmac(token)}`;
    expect(await app.kinto.cache.get(key)).toEqual({ user: 'bob-uid', client_id: fxa.clientId, scope: ['kinto', 'profile'] });
    expect(await app.kinto.cache.ttl(key)).toBeGreaterThan(290);
    // Another token is verified on its own; refused tokens are not cached.
    expect(await whoami(app, bearer(fxa.issueToken('bob-uid', ['kinto', 'profile'])))).toBe('fxa:bob-uid');
    await whoami(app, bearer('nope'));
    await whoami(app, bearer('nope'));
    expect(fxa.count('/v1/verify')).toBe(before + 4);
  });

  it('still authenticates while the cache backend fails (kinto-fxa ignores cache errors)', async () => {
    const token = fxa.issueToken('frank-uid', ['kinto', 'profile']);
    vi.spyOn(app.kinto.cache, 'get').mockRejectedValue(new Error('cache down'));
    vi.spyOn(app.kinto.cache, 'set').mockRejectedValue(new Error('cache down'));
    try {
      expect(await whoami(app, bearer(token))).toBe('fxa:frank-uid');
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('answers 503 (not 401) while the FxA server fails, and recovers afterwards', async () => {
    const token = fxa.issueToken('carol-uid', ['kinto', 'profile']);
    fxa.failWith = 500;
    const failed = await app.inject({ method: 'PUT', url: '/v1/buckets/b', headers: bearer(token) });
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ code: 503, errno: 201, error: 'Service Unavailable' });
    expect(failed.headers['retry-after']).toBe('3');
    expect((await get(app, '/v1/', bearer(token))).statusCode).toBe(503);
    // Anonymous requests do not reach FxA.
    expect((await get(app, '/v1/')).statusCode).toBe(200);
    fxa.failWith = null;
    expect(await whoami(app, bearer(token))).toBe('fxa:carol-uid');
  });

  it('advertises the fxa capability', async () => {
    expect((await get(app, '/v1/')).json().capabilities.fxa).toEqual({
      version: '2.5.3',
      description: 'You can authenticate to that server using Firefox Account.',
      url: 'https://github.com/Kinto/kinto-fxa',
    });
  });

  it('reports the oauth heartbeat: true while FxA answers, false when it fails', async () => {
    const up = await get(app, '/v1/__heartbeat__');
    expect(up.statusCode).toBe(200);
    expect(up.json().oauth).toBe(true);
    fxa.failWith = 503;
    const down = await get(app, '/v1/__heartbeat__');
    expect(down.statusCode).toBe(503);
    expect(down.json().oauth).toBe(false);
  });
});

describe('fxa: a stopped FxA server', () => {
  it('answers 503 to bearer tokens and fails the heartbeat', async () => {
    const gone = await FakeFxa.start();
    const token = gone.issueToken('dave-uid', ['kinto']);
    await gone.stop();
    const app = await makeFxaApp({ 'fxa-oauth.oauth_uri': gone.oauthUri, 'fxa-oauth.required_scope': 'kinto' });
    try {
      const response = await get(app, '/v1/', bearer(token));
      expect(response.statusCode).toBe(503);
      expect(response.json().errno).toBe(201);
      expect((await get(app, '/v1/__heartbeat__')).json().oauth).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('has no heartbeat to report (null) without an oauth_uri', async () => {
    const app = await makeFxaApp({ 'fxa-oauth.required_scope': 'kinto' });
    try {
      const heartbeat = await get(app, '/v1/__heartbeat__');
      expect(heartbeat.statusCode).toBe(200);
      expect(heartbeat.json().oauth).toBeNull();
    } finally {
      await app.close();
    }
  });
});

describe('fxa: several clients', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await makeFxaApp({
      'fxa-oauth.oauth_uri': fxa.oauthUri,
      'fxa-oauth.required_scope': 'kinto',
      'fxa-oauth.clients.notes.client_id': 'c73e46074a948932',
      'fxa-oauth.clients.notes.required_scope': `profile ${NOTES}`,
      'fxa-oauth.clients.lockbox.client_id': '299062f8b3838932',
      'fxa-oauth.clients.lockbox.required_scope': `profile ${LOCKBOX}`,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('routes a token to the client whose required scopes it carries', async () => {
    expect(await whoami(app, bearer(fxa.issueToken('33', ['profile', NOTES])))).toBe('fxa:33-notes');
    expect(await whoami(app, bearer(fxa.issueToken('33', ['profile', LOCKBOX])))).toBe('fxa:33-lockbox');
    expect(await whoami(app, bearer(fxa.issueToken('33', ['kinto'])))).toBe('fxa:33');
    // A sub-scope of a URL scope does not grant the URL scope itself.
    expect(await whoami(app, bearer(fxa.issueToken('33', ['profile', `${NOTES}/sub`])))).toBeNull();
  });

  it('gives every client of one account the principal fxa:<uid>: what is shared with it is readable from any client', async () => {
    const owner = bearer(fxa.issueToken('33', ['kinto']));
    expect((await client(app, owner).put('/buckets/shared', { permissions: { read: ['fxa:55'] } })).statusCode).toBe(201);
    const notes = bearer(fxa.issueToken('55', ['profile', NOTES]));
    const other = bearer(fxa.issueToken('56', ['profile', NOTES]));
    expect((await client(app, notes).get('/buckets/shared')).statusCode).toBe(200);
    expect((await client(app, other).get('/buckets/shared')).statusCode).toBe(403);
    expect((await client(app, notes).get('/')).json().user.principals).toContain('fxa:55');
  });

  it('refuses a token with only part of a client’s scopes', async () => {
    expect(await whoami(app, bearer(fxa.issueToken('33', ['profile'])))).toBeNull();
  });

  it('refuses a token that matches several configurations', async () => {
    expect(await whoami(app, bearer(fxa.issueToken('33', ['profile', NOTES, LOCKBOX])))).toBeNull();
    expect(await whoami(app, bearer(fxa.issueToken('33', ['kinto', 'profile', NOTES])))).toBeNull();
    // `https://identity.mozilla.org/apps` grants both apps' scopes.
    expect(await whoami(app, bearer(fxa.issueToken('33', ['profile', 'https://identity.mozilla.org/apps'])))).toBeNull();
  });

  it('still verifies each token once, whatever the number of clients', async () => {
    const token = fxa.issueToken('44', ['profile', LOCKBOX]);
    const before = fxa.count('/v1/verify');
    await whoami(app, bearer(token));
    await whoami(app, bearer(token));
    expect(fxa.count('/v1/verify')).toBe(before + 1);
  });
});
