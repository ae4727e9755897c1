import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../core/app.ts';
import type { ResourceEvent } from '../../core/events.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { ALICE, BASE_INI, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, expectError, expectInvalid } from '../helpers/protocol.ts';

let app: FastifyInstance;
let alice: Client;
let anonymous: Client;

async function start(env: Record<string, string> = {}): Promise<void> {
  app = await makeApp('', env);
  alice = client(app, ALICE);
  anonymous = client(app);
}
afterEach(() => app.close());

type SubResponse = { status: number; path: string; headers: Record<string, string>; body: any };
const responsesOf = (response: { json(): { responses: SubResponse[] } }) => response.json().responses;

describe('batch payload', () => {
  it('does not require authentication and accepts an empty list', async () => {
    await start();
    const response = await anonymous.post('/batch', { requests: [] });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ responses: [] });
  });

  it('only accepts POST', async () => {
    await start();
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
      const response = await app.inject({ method, url: '/v1/batch' });
      expectError(response, 405, 115, { message: 'Method not allowed on this endpoint.' });
    }
  });

  it('validates the payload shape', async () => {
    await start();
    const invalid = [
      {},
      { requests: {} },
      { requests: [], unknown: 42 },
      { requests: [42], defaults: { path: '/' } },
      { requests: [{ path: 'http://localhost' }] },
      { requests: [{ method: 'HEAD' }] },
      { requests: [{ path: '/', method: 'get' }] },
      { requests: [{ path: '/', method: 'CONNECT' }] },
      { requests: [{ path: '/', foo: 42 }] },
      { requests: [{ path: '/', headers: { Accept: 3.14 } }] },
      { requests: [{ path: '/', headers: { Accept: { sub: 'dict' } } }] },
      { requests: [{ path: '/', body: [1] }] },
      { requests: [{ path: '/' }], defaults: 42 },
      { requests: [{ path: '/' }], defaults: { body: 3 } },
      { requests: [{ path: '/' }], defaults: { foo: 'bar' } },
      { requests: [{}], defaults: { path: 'http://localhost' } },
      { requests: [[]] },
      [],
    ];
    for (const body of invalid) {
      const response = await alice.post('/batch', body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().errno).toBe(107);
    }
  });

  it('rejects invalid JSON and non-JSON content types', async () => {
    await start();
    const response = await alice.post('/batch', '{"requests": [{"path": "/"},]}');
    expect(expectInvalid(response, 'body').message).toContain('Invalid JSON');
    expectError(await alice.post('/batch', 'x', { 'content-type': 'text/plain' }), 415, 107);
  });

  // Kinto also reads batch_max_requests = 0 as "unlimited"; the settings layer here refuses 0.
  it('limits the number of requests (25 by default, or batch_max_requests)', async () => {
    await start();
    const many = (n: number) => ({ requests: Array.from({ length: n }, () => ({ path: '/' })) });
    expect((await alice.post('/batch', many(25))).statusCode).toBe(200);
    const refused = expectInvalid(await alice.post('/batch', many(26)), 'body', 'requests');
    expect(refused.message).toBe('Number of requests is limited to 25');
    await app.close();
    await start({ KINTO_BATCH_MAX_REQUESTS: '3' });
    expect(expectInvalid(await alice.post('/batch', many(4)), 'body').message).toContain('limited to 3');
  });

  it('forbids recursive calls', async () => {
    await start();
    const response = await alice.post('/batch', {
      requests: [{ method: 'POST', path: '/v1/batch', body: { requests: [{ path: '/' }] } }],
    });
    expect(expectInvalid(response, 'body', 'requests').message).toContain('Recursive call on /batch endpoint is forbidden.');
  });
});

describe('batch execution', () => {
  it('adds the /v1 prefix and reports unquoted paths without querystring', async () => {
    await start();
    const [hello, prefixed] = responsesOf(await alice.post('/batch', { requests: [{ path: '/' }, { path: '/v1/?x=%C2%A9' }] }));
    expect(hello).toMatchObject({ status: 200, path: '/v1/' });
    expect(hello.body.project_name).toBe('kinto');
    expect(hello.headers['Content-Type']).toContain('application/json');
    expect(prefixed.path).toBe('/v1/');
  });

  it('applies defaults without overriding request values', async () => {
    await start();
    await createCollection(alice);
    const response = await alice.post('/batch', {
      defaults: { method: 'POST', path: RECORDS, body: { data: { kind: 'default' } } },
      requests: [{}, { body: { data: { kind: 'mine' } } }, { method: 'GET' }],
    });
    const [first, second, list] = responsesOf(response);
    expect(first.status).toBe(201);
    expect(first.body.data.kind).toBe('default');
    expect(second.body.data.kind).toBe('mine');
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(2);
  });

  it('sub-requests inherit the parent headers, overridable per request', async () => {
    await start();
    const response = await alice.post('/batch', {
      requests: [{ path: '/' }, { path: '/', headers: { Authorization: 'Basic Ym9iOnNlY3JldA==' } }],
    });
    const [mine, bobs] = responsesOf(response);
    expect(mine.body.user.id).toMatch(/^basicauth:/);
    expect(bobs.body.user.id).not.toBe(mine.body.user.id);
  });

  it('4xx sub-responses do not abort the batch nor roll it back', async () => {
    await start();
    await createCollection(alice);
    const put = { method: 'PUT', path: `${RECORDS}/abc`, body: { data: { a: 1 } }, headers: { 'If-None-Match': '*' } };
    const response = await alice.post('/batch', { requests: [put, put, { path: '/unknown' }, { path: `${RECORDS}/nope` }] });
    expect(response.statusCode).toBe(200);
    const [created, conflict, unknown, missing] = responsesOf(response);
    expect(created.status).toBe(201);
    expect(conflict.status).toBe(412);
    expect(conflict.body.errno).toBe(114);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe(404);
    expect(missing.status).toBe(404);
    expect((await alice.get(`${RECORDS}/abc`)).statusCode).toBe(200);
  });

  it('forwards 400 error messages', async () => {
    await start();
    await createCollection(alice);
    const request = { method: 'PUT', path: `${RECORDS}/abc`, body: { data: {} }, headers: { 'If-Match': '"*"' } };
    const [response] = responsesOf(await alice.post('/batch', { requests: [request] }));
    expect(response.status).toBe(400);
    expect(response.body.message).toBe('If-Match in header: The value should be integer between double quotes.');
  });

  it('HEAD sub-responses have an empty body and headers', async () => {
    await start();
    await createCollection(alice);
    const [head] = responsesOf(await alice.post('/batch', { requests: [{ method: 'HEAD', path: RECORDS }] }));
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['Total-Objects']).toBe('0');
    expect(head.headers.ETag).toMatch(/^"\d+"$/);
  });

  it('follows redirects (trailing slash), keeping method and body', async () => {
    await start();
    await createCollection(alice);
    const response = await alice.post('/batch', {
      requests: [
        { path: `${RECORDS}/` },
        { method: 'PUT', path: `${RECORDS}/abc/`, body: { data: { name: 'Trompette' } } },
      ],
    });
    const [list, put] = responsesOf(response);
    expect(list).toMatchObject({ status: 200, path: `/v1${RECORDS}`, body: { data: [] } });
    expect(put.status).toBe(201);
    expect(put.body.data.name).toBe('Trompette');
  });

  it('sends sub-request bodies as JSON', async () => {
    await start();
    await createCollection(alice);
    const response = await alice.post('/batch', {
      requests: [{ method: 'POST', path: RECORDS, body: { data: { emoji: '😂' } }, headers: { 'Content-Type': 'text/xml' } }],
    });
    const [created] = responsesOf(response);
    expect(created.status).toBe(201);
    expect(created.body.data.emoji).toBe('😂');
  });

  it('a write is visible to the following sub-requests', async () => {
    await start();
    const response = await alice.post('/batch', {
      requests: [
        { method: 'PUT', path: '/buckets/b' },
        { method: 'PUT', path: '/buckets/b/collections/c' },
        { method: 'POST', path: '/buckets/b/collections/c/records', body: { data: { x: 1 } } },
        { path: '/buckets/b/collections/c/records' },
      ],
    });
    const statuses = responsesOf(response).map((r) => r.status);
    expect(statuses).toEqual([201, 201, 201, 200]);
    expect(responsesOf(response)[3].body.data).toHaveLength(1);
  });
});

describe('events', () => {
  let seen: ResourceEvent[][];

  async function listen(): Promise<void> {
    app = await buildApp(loadConfig({ iniText: BASE_INI }));
    seen = [];
    app.kinto.events.subscribe({ phase: 'commit', async handle(events) { seen.push(events); } });
    await app.ready();
    alice = client(app, ALICE);
  }

  it('carry the Kinto payload and the impacted objects', async () => {
    await listen();
    await createCollection(alice);
    seen.length = 0;
    const created = (await alice.put(`${RECORDS}/abc`, { data: { a: 1 } })).json().data;
    await alice.patch(`${RECORDS}/abc`, { data: { a: 2 } });
    await alice.delete(`${RECORDS}/abc`);
    const [[create], [update], [remove]] = seen;
    expect(create.payload).toEqual({
      timestamp: created.last_modified,
      action: 'create',
      uri: `${RECORDS}/abc`,
      user_id: expect.stringMatching(/^basicauth:/),
      resource_name: 'record',
      bucket_id: 'beers',
      collection_id: 'barley',
      record_id: 'abc',
    });
    expect(create.impacted).toEqual([{ new: created }]);
    expect(update.payload.action).toBe('update');
    expect(update.impacted[0]).toMatchObject({ old: { a: 1 }, new: { a: 2 } });
    expect(remove.payload.action).toBe('delete');
    expect(remove.impacted[0]).toMatchObject({ old: { a: 2 }, new: { id: 'abc', deleted: true } });
  });

  it('of a batch are merged per resource, parent and action, and delivered once after commit', async () => {
    await listen();
    await createCollection(alice);
    seen.length = 0;
    const requests = Array.from({ length: 3 }, () => ({ method: 'POST', path: RECORDS, body: { data: {} } }));
    await alice.post('/batch', { requests: [...requests, { method: 'PUT', path: '/buckets/other' }] });
    expect(seen).toHaveLength(1);
    const byResource = Object.fromEntries(seen[0].map((e) => [e.payload.resource_name, e]));
    expect(byResource.record.payload.action).toBe('create');
    expect(byResource.record.impacted).toHaveLength(3);
    expect(byResource.bucket.impacted).toHaveLength(1);
  });
});

describe('batch_max_requests = 0', () => {
  it('means unlimited, as in Kinto', async () => {
    app = await makeApp('kinto.batch_max_requests = 0\n');
    const requests = Array.from({ length: 40 }, () => ({ method: 'GET', path: '/' }));
    const response = await client(app, ALICE).post('/batch', { requests });
    expect(response.statusCode).toBe(200);
    expect(response.json().responses).toHaveLength(40);
  });
});
