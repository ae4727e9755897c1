import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, expectError, userIdOf } from '../helpers/protocol.ts';

let app: FastifyInstance;
let alice: Client;
let anonymous: Client;

async function start(env: Record<string, string> = {}, extraIni = ''): Promise<void> {
  app = await makeApp(extraIni, env);
  alice = client(app, ALICE);
  anonymous = client(app);
}
afterEach(() => app.close());

const raw = (method: string, url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: method as 'GET', url, headers });

describe('hello', () => {
  it('describes the server', async () => {
    await start();
    const response = await anonymous.get('/');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      project_name: 'kinto',
      project_docs: 'https://kinto.readthedocs.io/',
      http_api_version: '1.23',
      url: 'http://localhost/v1/',
      config: null,
      settings: { batch_max_requests: 25, readonly: false, explicit_permissions: true },
    });
    expect(typeof body.project_version).toBe('string');
    expect(body).not.toHaveProperty('user');
    expect(body).not.toHaveProperty('eos');
    expect(response.headers['cache-control']).toBeUndefined();
    expect(response.body).not.toContain('\\/');
  });

  it('lists the core capabilities', async () => {
    await start();
    const { capabilities } = (await anonymous.get('/')).json();
    expect(capabilities.basicauth).toEqual({
      description: 'Very basic authentication sessions. Not for production use.',
      url: 'http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html',
    });
    expect(capabilities.schema).toEqual({
      description: 'Validates collection records with JSON schemas.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/collections.html#collection-json-schema',
    });
    expect(capabilities.permissions_endpoint).toEqual({
      description: 'The permissions endpoint can be used to list all user objects permissions.',
      url: 'https://kinto.readthedocs.io/en/latest/configuration/settings.html#activating-the-permissions-endpoint',
    });
  });

  it('shows the user id and principals when authenticated', async () => {
    await start();
    const me = await userIdOf(alice);
    expect(me).toMatch(/^basicauth:[0-9a-f]{64}$/);
    await alice.put('/buckets/beers', {});
    await alice.put('/buckets/beers/groups/users', { data: { members: [me] } });
    const { user } = (await alice.get('/')).json();
    expect(user.id).toBe(me);
    expect([...user.principals].sort()).toEqual(['/buckets/beers/groups/users', me, 'system.Authenticated', 'system.Everyone'].sort());
  });

  it('honours project_name, http_host and http_scheme', async () => {
    await start({ KINTO_PROJECT_NAME: 'RemoteSettings', KINTO_HTTP_HOST: 'example.org', KINTO_HTTP_SCHEME: 'https' });
    const body = (await anonymous.get('/')).json();
    expect(body.project_name).toBe('RemoteSettings');
    expect(body.url).toBe('https://example.org/v1/');
  });

  it('shows eos when configured', async () => {
    await start({ KINTO_EOS: '2069-02-21' });
    expect((await anonymous.get('/')).json().eos).toBe('2069-02-21');
  });
});

describe('utility endpoints', () => {
  it('__heartbeat__ reports every backend', async () => {
    await start();
    const response = await anonymous.get('/__heartbeat__');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ storage: true, permission: true, cache: true });
  });

  it('__heartbeat__ answers 503 when a backend fails', async () => {
    await start();
    (app.kinto.cache as { heartbeat: () => Promise<boolean> }).heartbeat = async () => false;
    const response = await anonymous.get('/__heartbeat__');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ storage: true, permission: true, cache: false });
  });

  it('__lbheartbeat__ always answers an empty object', async () => {
    await start();
    const response = await anonymous.get('/__lbheartbeat__');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({});
  });

  it('__version__ serves version.json', async () => {
    await start();
    const response = await anonymous.get('/__version__');
    expect(response.statusCode).toBe(200);
    expect(Object.keys(response.json()).sort()).toEqual(['build', 'commit', 'source', 'version']);
  });

  it('contribute.json describes the project', async () => {
    await start();
    const response = await anonymous.get('/contribute.json');
    expect(response.statusCode).toBe(200);
    expect(Object.keys(response.json())).toEqual(expect.arrayContaining(['name', 'description', 'repository', 'participate', 'bugs', 'keywords']));
  });

  it('answer 405 errno 115 to other methods', async () => {
    await start();
    for (const [method, url] of [['POST', '/v1/'], ['PUT', '/v1/__heartbeat__'], ['DELETE', '/v1/contribute.json'], ['PATCH', '/v1/buckets'], ['PUT', '/v1/buckets']]) {
      const response = await raw(method, url, ALICE);
      expectError(response, 405, 115, { error: 'Method Not Allowed', message: 'Method not allowed on this endpoint.' });
    }
  });
});

describe('disabled endpoints', () => {
  it('{plural|object}_{resource}_{method}_enabled = false removes a method (405)', async () => {
    await start({}, 'kinto.plural_bucket_delete_enabled = false\nkinto.object_record_patch_enabled = false\n');
    await createCollection(alice);
    await alice.put(`${RECORDS}/r1`, { data: {} });
    expectError(await alice.delete('/buckets'), 405, 115);
    expectError(await alice.patch(`${RECORDS}/r1`, { data: {} }), 405, 115);
    expect((await alice.delete(`${RECORDS}/r1`)).statusCode).toBe(200);
    expect((await alice.get('/buckets')).statusCode).toBe(200);
  });
});

describe('redirects and 404', () => {
  it('redirects unversioned paths to /v1 with 307, keeping the querystring', async () => {
    await start();
    const home = await raw('GET', '/');
    expect(home.statusCode).toBe(307);
    expect(home.headers.location).toBe('/v1/');
    expect(home.headers['cache-control']).toBeUndefined();
    const nested = await raw('GET', '/buckets/beers?_since=42');
    expect(nested.headers.location).toBe('/v1/buckets/beers?_since=42');
    expect((await raw('GET', '/crlftest%E5%98%8A/')).statusCode).toBe(307);
  });

  it('does not redirect paths with control characters', async () => {
    await start();
    expectError(await raw('GET', '/crlftest%0DSet-Cookie:test%3Dtest'), 404, 116);
    expectError(await raw('GET', '/9l2j7%0A21m2n'), 404, 116);
  });

  it('version prefix redirect can be cached or disabled', async () => {
    await start({ KINTO_VERSION_PREFIX_REDIRECT_TTL_SECONDS: '3600' });
    const cached = await raw('GET', '/');
    expect(cached.headers['cache-control']).toBe('max-age=3600');
    expect(cached.headers.expires).toBeDefined();
    await app.close();
    await start({ KINTO_VERSION_PREFIX_REDIRECT_ENABLED: 'false' });
    const body = expectError(await raw('GET', '/'), 404, 116);
    expect(body.message).toBe('The requested API version is not available on this server.');
  });

  it('redirects a trailing slash (and /v1) with 307', async () => {
    await start();
    await createCollection(alice);
    const slash = await raw('GET', `/v1${RECORDS}/?_limit=2`, ALICE);
    expect(slash.statusCode).toBe(307);
    expect(slash.headers.location).toBe(`/v1${RECORDS}?_limit=2`);
    expect(slash.headers['cache-control']).toBe('max-age=3600');
    expect((await raw('GET', '/v1/buckets/')).headers.location).toBe('/v1/buckets');
    const root = await raw('GET', '/v1');
    expect(root.statusCode).toBe(307);
    expect(root.headers.location).toBe('/v1/');
    expect((await raw('GET', '/v1/')).statusCode).toBe(200);
  });

  it('trailing slash redirect can be disabled', async () => {
    await start({ KINTO_TRAILING_SLASH_REDIRECT_ENABLED: 'false' });
    expectError(await raw('GET', '/v1/buckets/'), 404, 111);
  });

  it('unknown paths are 404 errno 111 (116 outside the version prefix)', async () => {
    await start();
    const body = expectError(await raw('GET', '/v1/unknown'), 404, 111, { error: 'Not Found' });
    expect(body.message).toBe('The resource you are looking for could not be found.');
    expectError(await raw('GET', '/v2/buckets'), 404, 116);
  });
});

describe('CORS', () => {
  const origin = { origin: 'http://lolnet.org' };
  const exposed = (response: { headers: Record<string, unknown> }) =>
    String(response.headers['access-control-expose-headers']).split(',').map((h) => h.trim()).sort();
  const MINIMAL = ['Alert', 'Backoff', 'Content-Length', 'Content-Type', 'Retry-After'];
  const OBJECT = [...MINIMAL, 'Cache-Control', 'ETag', 'Expires', 'Last-Modified', 'Pragma'];

  it('adds Access-Control-Allow-Origin everywhere, errors included', async () => {
    await start();
    await createCollection(alice);
    for (const response of [
      await alice.get('/', origin),
      await alice.get(RECORDS, origin),
      await alice.get(`${RECORDS}/missing`, origin),
      await anonymous.post(RECORDS, { data: {} }, origin),
      await alice.get('/unknown', origin),
    ]) {
      expect(response.headers['access-control-allow-origin']).toBe('*');
    }
  });

  it('exposes headers per endpoint', async () => {
    await start();
    await createCollection(alice);
    const id = (await alice.post(RECORDS, { data: {} })).json().data.id;
    expect(exposed(await alice.get('/', origin))).toEqual(MINIMAL.sort());
    expect(exposed(await alice.get(RECORDS, origin))).toEqual([...OBJECT, 'Next-Page'].sort());
    expect(exposed(await alice.head(RECORDS, origin))).toEqual([...OBJECT, 'Next-Page', 'Total-Objects', 'Total-Records'].sort());
    expect(exposed(await alice.get(`${RECORDS}/${id}`, origin))).toEqual(OBJECT.sort());
    expect(exposed(await alice.post(RECORDS, { data: {} }, origin))).toEqual(MINIMAL.sort());
    expect(exposed(await alice.put(`${RECORDS}/wrong=id`, { data: {} }, origin))).toEqual(MINIMAL.sort());
  });

  it('honours cors_origins patterns', async () => {
    await start({ KINTO_CORS_ORIGINS: '*.daybed.io' });
    const allowed = await anonymous.get('/', { origin: 'demo.daybed.io' });
    expect(allowed.headers['access-control-allow-origin']).toBe('demo.daybed.io');
    const refused = await anonymous.get('/', { origin: 'evil.org' });
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers preflight requests', async () => {
    await start();
    const response = await raw('OPTIONS', '/v1/buckets', {
      ...origin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'Authorization, If-Match',
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(String(response.headers['access-control-allow-methods'])).toContain('GET');
    expect(String(response.headers['access-control-allow-headers'])).toMatch(/Authorization/);
    expect(response.headers['access-control-max-age']).toBe('3600');
    const unversioned = await raw('OPTIONS', '/', { ...origin, 'access-control-request-method': 'GET' });
    expect(unversioned.statusCode).toBe(200);
    expect(unversioned.headers['access-control-allow-origin']).toBeDefined();
  });

  it('preflight requires Origin and Access-Control-Request-Method', async () => {
    await start();
    expectError(await raw('OPTIONS', '/v1/buckets', origin), 400, 107);
    expectError(await raw('OPTIONS', '/v1/buckets', { 'access-control-request-method': 'GET' }), 400, 107);
  });

  it('cors_max_age_seconds can be changed or disabled', async () => {
    const preflight = { ...origin, 'access-control-request-method': 'GET' };
    await start({ KINTO_CORS_MAX_AGE_SECONDS: '42' });
    expect((await raw('OPTIONS', '/v1/', preflight)).headers['access-control-max-age']).toBe('42');
    await app.close();
    await start({ KINTO_CORS_MAX_AGE_SECONDS: '' });
    expect((await raw('OPTIONS', '/v1/', preflight)).headers['access-control-max-age']).toBeUndefined();
  });
});

describe('security and service headers', () => {
  it('every response has CSP and nosniff', async () => {
    await start();
    for (const response of [await anonymous.get('/'), await raw('GET', '/v1/unknown'), await raw('GET', '/')]) {
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; ");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('Backoff is added when configured, on every response', async () => {
    await start();
    expect((await anonymous.get('/')).headers.backoff).toBeUndefined();
    await app.close();
    await start({ KINTO_BACKOFF: '10' });
    expect((await anonymous.get('/')).headers.backoff).toBe('10');
    expect((await alice.get('/buckets/nope')).headers.backoff).toBe('10');
    await createCollection(alice);
    const etag = String((await alice.get(RECORDS)).headers.etag);
    const notModified = await alice.get(RECORDS, { 'if-none-match': etag });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.headers.backoff).toBe('10');
  });

  it('a future eos adds a soft-eol Alert', async () => {
    await start({ KINTO_EOS: '2999-01-01', KINTO_EOS_MESSAGE: 'Moved', KINTO_EOS_URL: 'http://eos.org' });
    const response = await anonymous.get('/');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(String(response.headers.alert))).toEqual({ code: 'soft-eol', message: 'Moved', url: 'http://eos.org' });
  });

  it('a past eos answers 410 errno 202 with a hard-eol Alert', async () => {
    await start({ KINTO_EOS: '2000-01-01', KINTO_EOS_MESSAGE: 'Gone', KINTO_EOS_URL: 'http://eos.org' });
    const response = await alice.get('/buckets');
    const body = expectError(response, 410, 202, { error: 'Gone' });
    expect(body.message).toBe('The service you are trying to connect no longer exists at this location.');
    expect(JSON.parse(String(response.headers.alert))).toEqual({ code: 'hard-eol', message: 'Gone', url: 'http://eos.org' });
  });
});

describe('readonly mode', () => {
  it('refuses writes with 405 and makes hello cacheable', async () => {
    await start({ KINTO_READONLY: 'true' });
    const hello = await anonymous.get('/');
    expect(hello.json().settings.readonly).toBe(true);
    expect(hello.headers['cache-control']).toBe('max-age=86400');
    for (const [method, url] of [['PUT', '/v1/buckets/b'], ['POST', '/v1/buckets'], ['DELETE', '/v1/buckets'], ['PATCH', '/v1/buckets/b']]) {
      expectError(await raw(method, url, ALICE), 405, 115);
    }
    expect((await alice.get('/__heartbeat__')).statusCode).toBe(200);
  });

  // A readonly instance never writes, not even the first timestamp of an empty list.
  it('cannot initialise an empty list timestamp: 503 errno 201', async () => {
    await start({ KINTO_READONLY: 'true' }, 'kinto.bucket_read_principals = system.Everyone\n');
    const response = await anonymous.get('/buckets');
    const body = expectError(response, 503, 201, { error: 'Service Unavailable' });
    expect(body.message).toBe(
      'Resource timestamp cannot be written. Plural endpoint must be hit at least once from a writable instance.',
    );
    expect(response.headers['retry-after']).toBeDefined();
  });
});

describe('__user_data__', () => {
  it('is forbidden unless granted by user-data_delete_principals', async () => {
    await start();
    expectError(await anonymous.delete('/__user_data__/basicauth:abc'), 401, 104);
    expectError(await alice.delete('/__user_data__/basicauth:abc'), 403, 121);
  });

  it('deletes what only the principal can write and removes it everywhere', async () => {
    app = await makeApp();
    const admin = await userIdOf(client(app, ALICE));
    await app.close();
    await start({}, `kinto.user-data_delete_principals = ${admin}\n`);
    const bob = client(app, { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` });
    const bobId = await userIdOf(bob);
    await bob.put('/buckets/bobs', {});
    await bob.put('/buckets/bobs/collections/c', {});
    await alice.put('/buckets/shared', { permissions: { write: [bobId] } });
    await alice.put('/buckets/shared/groups/g', { data: { members: [bobId, 'fxa:x'] } });
    const response = await alice.delete(`/__user_data__/${bobId}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ data: { principal: bobId } });
    expectError(await alice.get('/buckets/bobs'), 403, 121);
    const shared = await alice.get('/buckets/shared');
    expect(shared.json().permissions.write).not.toContain(bobId);
    expect((await bob.get('/')).json().user.principals).not.toContain('/buckets/shared/groups/g');
  });
});

describe('__api__', () => {
  it('describes every registered route as OpenAPI 2.0', async () => {
    const app = await makeApp();
    try {
      const response = await app.inject({ method: 'GET', url: '/v1/__api__' });
      expect(response.statusCode).toBe(200);
      const document = response.json();
      expect(document.swagger).toBe('2.0');
      expect(document.basePath).toBe('/v1');
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(['/', '/batch', '/buckets', '/buckets/{id}', '/buckets/{bucket_id}/collections/{collection_id}/records/{id}']),
      );
      const record = document.paths['/buckets/{bucket_id}/collections/{collection_id}/records/{id}'];
      expect(Object.keys(record).sort()).toEqual(['delete', 'get', 'patch', 'put']);
      expect(record.get.parameters.map((p: { name: string }) => p.name)).toEqual(['bucket_id', 'collection_id', 'id']);
      expect(document.securityDefinitions.basicauth).toEqual({ type: 'basic' });
    } finally {
      await app.close();
    }
  });
});
