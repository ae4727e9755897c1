/**
 * kinto-fxa's relier endpoints (/fxa-oauth/login, /token, /params), driven through HTTP. The
 * Firefox Accounts OAuth server is a FAKE (./fake-fxa.ts): no real FxA server can run here.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeFxa } from './fake-fxa.ts';
import { bearer, get, hmac, makeFxaApp, whoami } from './helpers.ts';

const WEBAPP = 'https://notes.firefox.com/#token=';
const login = (redirect: string) => `/v1/fxa-oauth/login?redirect=${encodeURIComponent(redirect)}`;

let fxa: FakeFxa;
let app: FastifyInstance;
beforeAll(async () => {
  fxa = await FakeFxa.start();
  app = await makeFxaApp({
    'fxa-oauth.oauth_uri': fxa.oauthUri,
    'fxa-oauth.client_id': fxa.clientId,
    'fxa-oauth.client_secret': fxa.clientSecret,
    'fxa-oauth.requested_scope': 'kinto profile',
    'fxa-oauth.required_scope': 'kinto',
    'fxa-oauth.webapp.authorized_domains': '*.firefox.com localhost:*',
  });
  // The redirect URI registered at FxA for this relier.
  fxa.redirectUri = 'http://kinto.test/v1/fxa-oauth/token';
});
afterAll(async () => {
  await app?.close();
  await fxa?.stop();
});
beforeEach(() => {
  fxa.failWith = null;
});

/** Starts a login and returns its state. */
async function startLogin(redirect = WEBAPP): Promise<string> {
  const response = await get(app, login(redirect));
  expect(response.statusCode).toBe(302);
  return new URL(response.headers.location as string).searchParams.get('state')!;
}

describe('fxa: /fxa-oauth/login', () => {
  it('redirects to the FxA authorization page with a state remembered for state.ttl_seconds', async () => {
    const response = await get(app, login(WEBAPP));
    expect(response.statusCode).toBe(302);
    const location = response.headers.location as string;
    const state = /&state=([0-9a-f]{32})&/.exec(location)?.[1];
    expect(state).toBeDefined();
    expect(location).toBe(`${fxa.oauthUri}/authorization?action=signin&client_id=${fxa.clientId}&state=${state}&scope=kinto+profile`);
    const key = `fxa-oauth:state:${hmac(state!)}`;
    expect(await app.kinto.cache.get(key)).toBe(WEBAPP);
    expect(await app.kinto.cache.ttl(key)).toBeGreaterThan(3500);
  });

  it('accepts redirects to the authorized domains only (400 otherwise)', async () => {
    expect((await get(app, login('http://localhost:8000/app'))).statusCode).toBe(302);
    for (const redirect of ['http://not-whitelisted.tld', 'https://firefox.com.evil.org/', 'https://evil.org\\@notes.firefox.com/']) {
      const refused = await get(app, login(redirect));
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        code: 400,
        errno: 107,
        error: 'Invalid parameters',
        message: 'redirect URL is not authorized',
        details: [{ location: 'querystring', name: 'redirect', description: 'redirect URL is not authorized' }],
      });
    }
  });

  it('requires a redirect URL', async () => {
    const missing = await get(app, '/v1/fxa-oauth/login');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toBe('redirect in querystring: Required');
    for (const redirect of ['not a url', 'javascript:alert(1)', `https://a.firefox.com/${'x'.repeat(2048)}`]) {
      const invalid = await get(app, login(redirect));
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json().message).toBe('redirect in querystring: Must be a URL');
    }
  });
});

describe('fxa: /fxa-oauth/token', () => {
  it('trades the code FxA sends back, redirects to the web app with the token, which then works', async () => {
    const start = await get(app, login(WEBAPP));
    // The user signs in at FxA, which sends them back to our /fxa-oauth/token.
    const signIn = await fetch(start.headers.location as string, { redirect: 'manual' });
    expect(signIn.status).toBe(302);
    const back = new URL(signIn.headers.get('location')!);
    const finish = await get(app, back.pathname + back.search);
    expect(finish.statusCode).toBe(302);
    const location = finish.headers.location as string;
    expect(location.startsWith(WEBAPP)).toBe(true);
    const token = location.slice(WEBAPP.length);
    expect(fxa.lastTokenRequest).toEqual({ code: back.searchParams.get('code'), client_id: fxa.clientId, client_secret: fxa.clientSecret });
    expect(await whoami(app, bearer(token))).toBe('fxa:signed-in-user');
  });

  it('answers 408 (errno 104) for an unknown, spent or missing-in-cache state', async () => {
    const expected = {
      code: 408,
      errno: 104,
      error: 'Request Timeout',
      message: 'The OAuth session was not found, please re-authenticate.',
    };
    const unknown = await get(app, '/v1/fxa-oauth/token?state=abc&code=1234');
    expect(unknown.statusCode).toBe(408);
    expect(unknown.json()).toEqual(expected);
    const state = await startLogin();
    fxa.codes.set('good-code', fxa.issueToken('erin', ['kinto']));
    expect((await get(app, `/v1/fxa-oauth/token?state=${state}&code=good-code`)).statusCode).toBe(302);
    const again = await get(app, `/v1/fxa-oauth/token?state=${state}&code=good-code`);
    expect(again.statusCode).toBe(408);
    expect(again.json()).toEqual(expected);
  });

  it('requires code and state', async () => {
    for (const query of ['', '?state=abc', '?code=1234']) {
      const response = await get(app, `/v1/fxa-oauth/token${query}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toContain('Required');
    }
  });

  it('answers 400 when FxA refuses the code, 503 when FxA fails; the state is spent either way', async () => {
    const refusedState = await startLogin();
    const refused = await get(app, `/v1/fxa-oauth/token?state=${refusedState}&code=bad-code`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().details).toEqual([{ location: 'querystring', name: 'code', description: 'Firefox Account code validation failed.' }]);
    expect((await get(app, `/v1/fxa-oauth/token?state=${refusedState}&code=bad-code`)).statusCode).toBe(408);
    const failedState = await startLogin();
    fxa.failWith = 502;
    const failed = await get(app, `/v1/fxa-oauth/token?state=${failedState}&code=any`);
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ code: 503, errno: 201, error: 'Service Unavailable' });
  });
});

describe('fxa: /fxa-oauth/params', () => {
  it('gives the client id, the OAuth server and the required scope', async () => {
    const response = await get(app, '/v1/fxa-oauth/params');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ client_id: fxa.clientId, oauth_uri: fxa.oauthUri, scope: 'kinto' });
  });
});

describe('fxa: relier disabled', () => {
  it('has no login and token endpoints, but keeps params (as kinto-fxa)', async () => {
    const disabled = await makeFxaApp({
      'fxa-oauth.oauth_uri': fxa.oauthUri,
      'fxa-oauth.required_scope': 'kinto',
      'fxa-oauth.relier.enabled': 'false',
    });
    try {
      expect((await get(disabled, login(WEBAPP))).statusCode).toBe(404);
      expect((await get(disabled, '/v1/fxa-oauth/token?state=a&code=b')).statusCode).toBe(404);
      expect((await get(disabled, '/v1/fxa-oauth/params')).json()).toEqual({ client_id: null, oauth_uri: fxa.oauthUri, scope: 'kinto' });
    } finally {
      await disabled.close();
    }
  });
});
