import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { BackendError } from '../../core/storage/types.ts';
import { ALICE, BOB, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, expectError, expectInvalid } from '../helpers/protocol.ts';
import { seededRandom } from '../filters/random.ts';

let app: FastifyInstance;
let alice: Client;

beforeEach(async () => {
  app = await makeApp();
  alice = client(app, ALICE);
  await createCollection(alice);
});
afterEach(() => app.close());

const send = (method: string, url: string, payload?: string, headers: Record<string, string | string[]> = {}) =>
  app.inject({ method: method as 'GET', url, payload, headers: { ...ALICE, ...headers } as Record<string, string> });

describe('malformed bodies', () => {
  const json = { 'content-type': 'application/json' };

  it('invalid JSON is a 400 "Invalid JSON" on every write', async () => {
    for (const [method, url] of [['POST', `/v1${RECORDS}`], ['PUT', `/v1${RECORDS}/abc`], ['PATCH', '/v1/buckets/beers'], ['POST', '/v1/batch']]) {
      const response = await send(method, url, "{'foo>}", json);
      const body = expectInvalid(response, 'body', '');
      expect(String(body.message), `${method} ${url}`).toMatch(/^Invalid JSON: /);
    }
    const escape = await send('POST', `/v1${RECORDS}`, '{"foo": "\\u0d1"}', json);
    expect(expectInvalid(escape, 'body').message).toMatch(/^Invalid JSON: /);
  });

  it('a JSON scalar body must be an object or an array', async () => {
    for (const payload of ['42', '"x"', 'null', 'true']) {
      const body = expectInvalid(await send('PUT', '/v1/buckets/beers', payload, json), 'body');
      expect(body.message).toBe('Should be a JSON object or an array');
    }
  });

  it('an empty PATCH body is a 400', async () => {
    expectInvalid(await send('PATCH', '/v1/buckets/beers', '', json), 'body');
  });

  it('a body over the 8 MiB limit is a 413 errno 113, and nothing is written', async () => {
    const payload = JSON.stringify({ data: { blob: 'x'.repeat(8 * 1024 * 1024) } });
    const response = await send('PUT', `/v1${RECORDS}/big`, payload, json);
    expectError(response, 413, 113, { error: 'Request Entity Too Large', message: 'Request body too large' });
    expect((await send('GET', `/v1${RECORDS}/big`)).statusCode).toBe(404);
    const batch = await send('POST', '/v1/batch', JSON.stringify({ requests: [{ path: `${RECORDS}/b`, body: JSON.parse(payload) }] }), json);
    expectError(batch, 413, 113);
  });

  it('bodies nested too deep are refused without a 5xx', async () => {
    for (const depth of [100, 1000, 100000]) {
      const payload = `{"data": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const response = await send('PUT', '/v1/buckets/deep', payload, json);
      expectInvalid(response, 'body');
    }
    const batch = `{"requests": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expectInvalid(await send('POST', '/v1/batch', batch, json), 'body');
  });

  it('NUL characters in data or keys are refused', async () => {
    for (const payload of ['{"data": {"a": "x\\u0000y"}}', '{"data": {"\\u0000": 1}}']) {
      const body = expectInvalid(await send('POST', `/v1${RECORDS}`, payload, json), 'body');
      expect(body.message).toContain('Invalid character 0x00');
    }
  });

  it('data, permissions and top-level keys are type-checked', async () => {
    for (const body of [{ data: '' }, { data: [] }, { data: 1 }, { permissions: [] }, { permissions: { read: 'x' } }, { permissions: { read: [1] } }, { foo: 1 }]) {
      const response = await send('POST', `/v1${RECORDS}`, JSON.stringify(body), json);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().errno).toBe(107);
    }
  });

  it('PUT and POST accept only application/json; PATCH also the patch types', async () => {
    const types = ['text/plain', 'application/xml', 'multipart/form-data', 'application/merge-patch+json'];
    for (const type of types) {
      const response = await send('PUT', '/v1/buckets/beers', '{}', { 'content-type': type });
      expectError(response, 415, 107, { message: "Content-Type header should be one of ['application/json']" });
    }
    const patch = await send('PATCH', '/v1/buckets/beers', '{}', { 'content-type': 'text/plain' });
    const message = String(expectError(patch, 415, 107).message);
    for (const type of ["'application/json'", "'application/merge-patch+json'", "'application/json-patch+json'"]) expect(message).toContain(type);
  });

  it('a body without Content-Type is read as JSON', async () => {
    const response = await send('PUT', '/v1/buckets/plain', '{"data": {"a": 1}}');
    expect(response.statusCode).toBe(201);
    expect(response.json().data.a).toBe(1);
  });

  it('unknown charsets are refused with 415, utf-8 is fine', async () => {
    expect((await send('PUT', '/v1/buckets/b1', '{}', { 'content-type': 'application/json; charset=utf-8' })).statusCode).toBe(201);
    expectError(await send('PUT', '/v1/buckets/b2', '{}', { 'content-type': 'application/json; charset=ebcdic' }), 415, 107);
  });

  it('huge numbers and odd last_modified values never break the server', async () => {
    for (const value of ['9007199254740993', '1e400', '-1', '1.5', '"abc"', 'null', '[]']) {
      const response = await send('POST', `/v1${RECORDS}`, `{"data": {"last_modified": ${value}}}`, json);
      expect(response.statusCode, value).toBeLessThan(500);
    }
  });
});

describe('invalid URLs, ids and headers', () => {
  it('an undecodable path is a 400 "Invalid URL path."', async () => {
    for (const url of ['/v1/%82%AC', '/v1/buckets/%E0', `/v1${RECORDS}/%C0%80`]) {
      const response = await send('GET', url);
      expectError(response, 400, 107, { error: 'Bad Request', message: 'Invalid URL path.' });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('an undecodable querystring is a 400 errno 107', async () => {
    const response = await send('GET', `/v1${RECORDS}?x=%82%AC`);
    const body = expectError(response, 400, 107, { error: 'Bad Request' });
    expect(body.message).toContain('Please make sure your requests are encoded in UTF-8: x=%82%AC');
    expect((await send('GET', `/v1${RECORDS}?title=%C3%A9t%C3%A9&x=%zz`)).statusCode).toBe(200);
  });

  it('invalid ids are 400 on objects, 403/404 never 5xx on parents', async () => {
    for (const id of ['%00', 'a%00b', '..', '__', 'a%20b', '%C3%A9', '%2F', '-x']) {
      const response = await send('PUT', `/v1/buckets/beers/collections/${id}`, '{}', { 'content-type': 'application/json' });
      expect(response.statusCode, id).toBeLessThan(500);
      expect(response.statusCode, id).not.toBe(201);
      const nested = await send('GET', `/v1/buckets/${id}/collections/c/records`);
      expect(nested.statusCode, id).toBeLessThan(500);
    }
    // Kinto's ids have no length limit: whatever id a client creates stays reachable by its URL.
    expect((await send('PUT', `/v1/buckets/beers/collections/${'x'.repeat(600)}`)).statusCode).toBe(201);
    const longId = 'r'.repeat(5000);
    const created = await send('POST', `/v1${RECORDS}`, JSON.stringify({ data: { id: longId } }), { 'content-type': 'application/json' });
    expect(created.statusCode).toBe(201);
    expect((await send('GET', `/v1${RECORDS}/${longId}`)).json().data.id).toBe(longId);
    expect((await send('PATCH', `/v1${RECORDS}/${longId}`, '{"data": {"a": 1}}', { 'content-type': 'application/json' })).statusCode).toBe(200);
    expect((await send('DELETE', `/v1${RECORDS}/${longId}`)).json().data.deleted).toBe(true);
    expectInvalid(await send('GET', '/v1/buckets/beers/collections/barley%27'), 'path');
    expectError(await send('GET', "/v1/buckets/beer'/collections/barley"), 403, 121);
  });

  it('If-Match and If-None-Match must be quoted integers or *', async () => {
    for (const value of ['*, "1"', '1', 'W/"1"', '"-1"', '"1.5"', '""']) {
      const response = await send('GET', `/v1${RECORDS}`, undefined, { 'if-match': value });
      expectInvalid(response, 'header', 'If-Match');
    }
    const twice = await send('GET', `/v1${RECORDS}`, undefined, { 'if-none-match': ['*', '"1"'] });
    expectInvalid(twice, 'header', 'If-None-Match');
  });

  it('malformed Authorization headers are anonymous, not errors', async () => {
    for (const authorization of ['Basic', 'Basic %%%', 'Basic ' + Buffer.from('nocolon').toString('base64'), 'Bearer x', 'Basic ' + Buffer.from('\u00e9:\u00ff').toString('base64')]) {
      const response = await app.inject({ method: 'GET', url: '/v1/buckets/beers', headers: { authorization } });
      expect(response.statusCode, authorization).toBeLessThan(500);
    }
    const anonymous = await app.inject({ method: 'GET', url: '/v1/buckets/beers', headers: { authorization: 'Basic %%%' } });
    expectError(anonymous, 401, 104);
  });

  it('querystring oddities are 400s', async () => {
    for (const query of ['_limit=99999999999999999999', '_limit=-1', '_since=-1', '_token=%%%', 'in_id=1,2', 'like_x=1', 'x%00=1', 'contains_last_modified=1']) {
      const response = await send('GET', `/v1${RECORDS}?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().errno, query).toBe(107);
    }
  });
});

// --- Seeded fuzz ---------------------------------------------------------------------

// Seeded and reproducible: the shared generator of the fuzz tests.
const prng = seededRandom;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];
const SEGMENTS = ['beers', 'barley', 'r1', 'default', 'g1', '%00', '%E0', '..', 'a%2Fb', 'é', '%20', '', '*', 'x'.repeat(300), '__', 'records', 'batch'];
const PATHS = [
  '/v1/', '/v1', '/', '/v1/buckets', '/v1/buckets/{s}', '/v1/buckets/{s}/collections', '/v1/buckets/{s}/collections/{s}',
  '/v1/buckets/{s}/collections/{s}/records', '/v1/buckets/{s}/collections/{s}/records/{s}', '/v1/buckets/{s}/groups',
  '/v1/buckets/{s}/groups/{s}', '/v1/batch', '/v1/permissions', '/v1/__heartbeat__', '/v1/__lbheartbeat__',
  '/v1/__version__', '/v1/contribute.json', '/v1/__user_data__/{s}', '/v1/{s}', '/v2/{s}', '/{s}/', '/v1/buckets/{s}/',
];
const QUERIES = [
  '_limit=2', '_limit=-1', '_limit=abc', '_limit=1e3', '_sort=-x,id', '_sort=', '_fields=a.b,c', '_fields=', '_since=0', '_since=abc',
  '_before="1"', '_to=5', '_token=abc', '_token=eyJhIjoxfQ==', 'in_id=a,b', 'in_id=1', 'exclude_x=[1]', 'like_x=*a*', 'like_x=1',
  'has_x=true', 'has_x=maybe', 'contains_x=[1', 'contains_any_x=[1,{"a":1}]', 'min_x=1', 'gt_last_modified=1e9', 'x=%00',
  'x%00=1', 'x=%82', 'last_modified=abc', 'last_modified="123"', 'a.b.c=1', '_expected=1', 'x=' + 'y'.repeat(2000),
];
const HEADERS: Record<string, string[]> = {
  'content-type': ['application/json', 'application/merge-patch+json', 'application/json-patch+json', 'text/plain', 'application/json; charset=latin-1', 'multipart/form-data', ''],
  'if-match': ['*', '"1"', '"abc"', '1', '*, "1"'],
  'if-none-match': ['*', '"0"', '"99999999999999999999999"', 'W/"1"'],
  accept: ['text/html', '*/*', 'application/json;q=0', ';;;'],
  'response-behavior': ['light', 'diff', 'full', 'nope'],
  origin: ['http://a.org', '*', ''],
  'access-control-request-method': ['GET', 'FOO'],
  authorization: [ALICE.authorization, BOB.authorization, 'Basic %%%', 'Bearer abc', 'Basic ' + Buffer.from('é:ÿ').toString('base64')],
};

function deep(depth: number, open: string, close: string): string {
  return open.repeat(depth) + close.repeat(depth);
}

function randomValue(rand: () => number, level = 0): unknown {
  const kind = Math.floor(rand() * (level > 3 ? 5 : 8));
  switch (kind) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return [0, -1, 1.5, 2 ** 53 + 1, 1e308, Date.now() + 1e12][Math.floor(rand() * 6)];
    case 3: return ['', 'x', '\u0000', 'é', '*', '/buckets/b/groups/g', 'system.Everyone'][Math.floor(rand() * 7)];
    case 4: return 'id';
    case 5: return Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(rand, level + 1));
    default: {
      const keys = ['data', 'permissions', 'id', 'last_modified', 'members', 'schema', 'read', 'write', 'op', 'path', 'value', 'requests', 'defaults', 'method', 'body', 'headers', '\u0000', ''];
      const obj: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 4); i > 0; i -= 1) obj[keys[Math.floor(rand() * keys.length)]] = randomValue(rand, level + 1);
      return obj;
    }
  }
}

function randomBody(rand: () => number): string | undefined {
  const choice = Math.floor(rand() * 12);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  switch (choice) {
    case 0: return undefined;
    case 1: return pick(['', '{', '{"a":', '[1,]', 'null', '42', '"x"', 'not json', '\u0000', '{"data": {"a": "\\ud800"}}']);
    case 2: return `{"data": ${deep(pick([50, 70, 1000, 20000]), '{"a":', '}').replace(/}$/, '1}')}}`;
    case 3: return `{"requests": ${deep(pick([10, 1000]), '[', ']')}}`;
    case 4: return JSON.stringify([{ op: pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'x']), path: pick(['/data/a', '/permissions', '/data', '/permissions/read/x', '', '/']), from: pick(['/data/a', undefined]), value: randomValue(rand) }]);
    case 5: {
      const sub = () => ({ method: pick([...METHODS, 'get']), path: pick(['/', '/buckets', '/buckets/beers', '/%E0', '/batch', 'x', `${RECORDS}/`]), body: randomValue(rand), headers: pick([undefined, { 'If-Match': '"x"' }, { a: 1 }]) });
      return JSON.stringify({ requests: Array.from({ length: Math.floor(rand() * 4) }, sub), defaults: pick([undefined, {}, { method: 'PUT' }, 3]) });
    }
    default: return JSON.stringify(randomValue(rand));
  }
}

function randomRequest(rand: () => number) {
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  let path = pick(PATHS);
  while (path.includes('{s}')) path = path.replace('{s}', pick(SEGMENTS));
  const queries = Array.from({ length: Math.floor(rand() * 3) }, () => pick(QUERIES));
  const url = queries.length ? `${path}?${queries.join('&')}` : path;
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(HEADERS)) if (rand() < 0.3) headers[name] = pick(values);
  return { method: pick(METHODS), url, headers, payload: randomBody(rand) };
}

function checkResponse(response: LightMyRequestResponse, method: string, label: string): void {
  expect(response.statusCode, label).toBeLessThan(500);
  if (response.statusCode < 400 || method === 'HEAD' || response.body === '') return;
  const body = response.json();
  expect(body.code, label).toBe(response.statusCode);
  expect(typeof body.errno, label).toBe('number');
  expect(typeof body.error, label).toBe('string');
}

describe('fuzz', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 1);
  const count = Number(process.env.FUZZ_COUNT ?? 1500);

  it(`${count} random requests (seed ${seed}) never answer 5xx and always format errors`, async () => {
    const bob = client(app, BOB);
    await alice.put('/buckets/beers/groups/g1', { data: { members: ['fxa:x'] } });
    await alice.put(`${RECORDS}/r1`, { data: { x: 1 } });
    await bob.put('/buckets/default', {});
    const rand = prng(seed);
    for (let i = 0; i < count; i += 1) {
      const request = randomRequest(rand);
      const response = await app.inject({ ...request, method: request.method as 'GET' });
      checkResponse(response, request.method, `#${i} ${request.method} ${request.url.slice(0, 200)} ${JSON.stringify(request.headers)} ${String(request.payload).slice(0, 200)} → ${response.body.slice(0, 300)}`);
    }
  }, 120000);
});

// --- Server-side failures ------------------------------------------------------------

/** Makes storage reads of the ids `explode` (a bug) and `unavailable` (a backend outage) fail. */
function sabotageStorage(target: FastifyInstance): void {
  const storage = target.kinto.storage as { begin: (options?: { readonly?: boolean }) => Promise<object> };
  const begin = storage.begin.bind(storage);
  storage.begin = async (options) => {
    const view = (await begin(options)) as Record<string, unknown>;
    const sabotage = (id: unknown) => {
      if (id === 'explode') throw new TypeError('boom');
      if (id === 'unavailable') throw new BackendError('connection lost');
    };
    const get = (view.get as (...args: unknown[]) => Promise<unknown>).bind(view);
    view.get = async (...args: unknown[]) => {
      sabotage(args[2]);
      return get(...args);
    };
    // A GET of one object reads it ahead with its parent (core/resource/read-ahead.ts).
    const getMany = (view.getMany as (refs: { id: string }[]) => Promise<unknown>).bind(view);
    view.getMany = async (refs: { id: string }[]) => {
      for (const ref of refs) sabotage(ref.id);
      return getMany(refs);
    };
    // …in one statement with the permissions when both share a database (core/sql/union.ts).
    if (typeof view.readAhead === 'function') {
      const readAhead = (view.readAhead as (ask: { refs: { id: string }[] }) => Promise<unknown>).bind(view);
      view.readAhead = async (ask: { refs: { id: string }[] }) => {
        for (const ref of ask.refs) sabotage(ref.id);
        return readAhead(ask);
      };
    }
    return view;
  };
}

describe('server errors', () => {
  it('an unexpected failure is a 500 errno 999 with the info link, no Retry-After', async () => {
    sabotageStorage(app);
    const response = await alice.get(`${RECORDS}/explode`);
    const body = expectError(response, 500, 999, {
      error: 'Internal Server Error',
      message: 'A programmatic error occurred, developers have been informed.',
    });
    expect(body.info).toBe('https://github.com/Kinto/kinto/issues/');
    expect(response.headers['retry-after']).toBeUndefined();
  });

  it('a backend outage is a 503 errno 201 with Retry-After', async () => {
    sabotageStorage(app);
    const response = await alice.get(`${RECORDS}/unavailable`);
    expectError(response, 503, 201, {
      error: 'Service Unavailable',
      message: 'Service temporary unavailable due to overloading or maintenance, please retry later.',
    });
    expect(response.headers['retry-after']).toBe('3');
  });

  it('a 5xx sub-request fails the whole batch and rolls it back', async () => {
    sabotageStorage(app);
    const response = await alice.post('/batch', {
      requests: [
        { method: 'PUT', path: `${RECORDS}/kept`, body: { data: {} } },
        { path: `${RECORDS}/explode` },
        { method: 'PUT', path: `${RECORDS}/after`, body: { data: {} } },
      ],
    });
    expectError(response, 500, 999);
    expect((await alice.get(`${RECORDS}/kept`)).statusCode).toBe(404);
    expect((await alice.get(`${RECORDS}/after`)).statusCode).toBe(404);
    const outage = await alice.post('/batch', { requests: [{ path: `${RECORDS}/unavailable` }] });
    expectError(outage, 503, 201);
    expect(outage.headers['retry-after']).toBeDefined();
  });
});
