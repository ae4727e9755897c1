import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, BOB, basic, client, makeApp, type Client } from '../helpers/app.ts';
import { expectError, ids, userIdOf } from '../helpers/protocol.ts';

let app: FastifyInstance;
let alice: Client;
let bob: Client;
let anonymous: Client;
let bobId: string;

async function start(extraIni = '', env: Record<string, string> = {}): Promise<void> {
  app = await makeApp(extraIni, env);
  alice = client(app, ALICE);
  bob = client(app, BOB);
  anonymous = client(app);
  bobId = await userIdOf(bob);
}
afterEach(() => app.close());

const COLLECTION = '/buckets/beer/collections/barley';

describe('401 versus 403', () => {
  it('anonymous callers get 401 errno 104 with a WWW-Authenticate challenge', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    const response = await anonymous.get('/buckets/beer');
    expectError(response, 401, 104, { error: 'Unauthorized', message: 'Please authenticate yourself to use this endpoint.' });
    expect([response.headers['www-authenticate']].flat()).toEqual(['Basic realm="Realm"']);
    for (const call of [
      () => anonymous.get('/buckets'),
      () => anonymous.post('/buckets', { data: {} }),
      () => anonymous.put('/buckets/beer', { data: {} }),
      () => anonymous.patch('/buckets/beer', { data: {} }),
      () => anonymous.delete('/buckets/beer'),
    ]) {
      expectError(await call(), 401, 104);
    }
  });

  it('authenticated callers get 403 errno 121', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    expectError(await bob.get('/buckets/beer'), 403, 121, { error: 'Forbidden', message: 'This user cannot access this resource.' });
    expectError(await bob.patch('/buckets/beer', { data: {} }), 403, 121);
    expectError(await bob.delete('/buckets/beer'), 403, 121);
  });

  it('an unknown password is just another identity', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    expectError(await client(app, basic('alice', 'other')).get('/buckets/beer'), 403, 121);
  });

  it('does not leak existence: missing and forbidden look alike', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    await alice.put(COLLECTION, {});
    const existing = await bob.get(COLLECTION);
    const missing = await bob.get('/buckets/beer/collections/nope');
    const noBucket = await bob.get('/buckets/nope/collections/nope');
    for (const response of [existing, missing, noBucket]) expectError(response, 403, 121);
    expectError(await bob.get('/buckets/nope/collections/c/records'), 403, 121);
  });

  it('a missing object is a 404 for whoever may read its parent', async () => {
    await start();
    await alice.put('/buckets/read', { permissions: { read: ['system.Authenticated'] } });
    expectError(await bob.get('/buckets/read/groups/g1'), 404, 110);
    expectError(await bob.delete('/buckets/read/groups/g1'), 404, 110);
    expectError(await bob.patch('/buckets/read/groups/g1', { data: { members: [] } }), 404, 110);
  });
});

describe('inheritance', () => {
  it('bucket read/write grant collection read; only write grants collection write', async () => {
    await start();
    const zoe = client(app, basic('zoe'));
    await alice.put('/buckets/beer', { permissions: { read: [await userIdOf(zoe)], write: [bobId] } });
    await alice.put(COLLECTION, {});
    expect((await zoe.get(COLLECTION)).statusCode).toBe(200);
    expect((await bob.get(COLLECTION)).statusCode).toBe(200);
    expectError(await zoe.put(COLLECTION, {}), 403, 121);
    expect((await bob.put(COLLECTION, {})).statusCode).toBe(200);
    expectError(await client(app, basic('jean')).get(COLLECTION), 403, 121);
  });

  it('records inherit from collection and bucket', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    await alice.put(COLLECTION, { permissions: { read: [bobId] } });
    const record = (await alice.post(`${COLLECTION}/records`, { data: {} })).json().data;
    expect((await bob.get(`${COLLECTION}/records/${record.id}`)).statusCode).toBe(200);
    expect(ids(await bob.get(`${COLLECTION}/records`))).toEqual([record.id]);
    expectError(await bob.post(`${COLLECTION}/records`, { data: {} }), 403, 121);
    await alice.patch(COLLECTION, { permissions: { 'record:create': [bobId] } });
    expect((await bob.post(`${COLLECTION}/records`, { data: {} })).statusCode).toBe(201);
  });

  it('group:create and collection:create allow creating children and reading the bucket', async () => {
    await start();
    await alice.put('/buckets/beer', { permissions: { 'collection:create': [bobId] } });
    expect((await bob.get('/buckets/beer')).statusCode).toBe(200);
    expect((await bob.put(COLLECTION, {})).statusCode).toBe(201);
    expectError(await bob.put('/buckets/beer/groups/g', {}), 403, 121);
    expectError(await bob.put('/buckets/beer', {}), 403, 121);
  });

  it('record:create allows reading the collection metadata and listing an empty list', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    await alice.put(COLLECTION, { permissions: { 'record:create': [bobId] } });
    await alice.post(`${COLLECTION}/records`, { data: {} });
    expect((await bob.get(COLLECTION)).statusCode).toBe(200);
    expect((await bob.get(`${COLLECTION}/records`)).json().data).toEqual([]);
    expectError(await client(app, basic('jean')).get(`${COLLECTION}/records`), 403, 121);
  });
});

describe('safe creation (If-None-Match: *) on existing objects', () => {
  async function setup(): Promise<void> {
    await start();
    await alice.put('/buckets/create', { permissions: { 'group:create': ['system.Authenticated'] } });
    await alice.put('/buckets/write', { permissions: { write: ['system.Authenticated'] } });
    await alice.put('/buckets/read', { permissions: { read: ['system.Authenticated'] } });
    for (const parent of ['create', 'write', 'read']) await alice.put(`/buckets/${parent}/groups/child`, { data: { members: [] } });
  }
  const star = { 'if-none-match': '*' };
  const post = { data: { id: 'child', members: [] } };

  it('PUT answers 412 to whoever may create or write, 403 to readers', async () => {
    await setup();
    expectError(await bob.get('/buckets/create/groups/child'), 403, 121);
    expectError(await bob.put('/buckets/create/groups/child', {}, star), 412, 114);
    expectError(await bob.put('/buckets/write/groups/child', {}, star), 412, 114);
    expectError(await bob.put('/buckets/read/groups/child', {}, star), 403, 121);
  });

  it('POST needs read on the existing object', async () => {
    await setup();
    expectError(await bob.post('/buckets/create/groups', post, star), 403, 121);
    expectError(await bob.post('/buckets/write/groups', post, star), 412, 114);
    expectError(await bob.post('/buckets/read/groups', post, star), 412, 114);
    await alice.patch('/buckets/create/groups/child', { permissions: { read: ['system.Authenticated'] } });
    expectError(await bob.post('/buckets/create/groups', post, star), 412, 114);
  });
});

describe('permissions in responses', () => {
  it('are shown to writers only', async () => {
    await start();
    await alice.put('/buckets/beer', { permissions: { read: [bobId] } });
    expect((await bob.get('/buckets/beer')).json().permissions).toEqual({});
    expect((await alice.get('/buckets/beer')).json().permissions.read).toEqual([bobId]);
  });

  it('are never part of plural listings', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    const list = await alice.get('/buckets');
    expect(list.json()).toEqual({ data: [expect.not.objectContaining({ permissions: expect.anything() })] });
  });

  it('reject unknown permission names', async () => {
    await start();
    const response = await alice.put('/buckets/beer', { permissions: { admin: ['x'] } });
    expect(response.statusCode).toBe(400);
    expect(response.json().errno).toBe(107);
    expect((await alice.put('/buckets/beer', { permissions: { read: 'x' } })).statusCode).toBe(400);
  });
});

describe('shared listings', () => {
  it('a user without list read sees only what is shared with them', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    await alice.put(COLLECTION, {});
    await alice.put(`${COLLECTION}/records/shared`, { data: {}, permissions: { read: [bobId] } });
    await alice.put(`${COLLECTION}/records/private`, { data: {} });
    expect(ids(await bob.get(`${COLLECTION}/records`))).toEqual(['shared']);
    expect((await bob.head(`${COLLECTION}/records`)).headers['total-objects']).toBe('1');
    expect(ids(await alice.get(`${COLLECTION}/records`)).sort()).toEqual(['private', 'shared']);
  });

  it('plural DELETE only removes what the user may write', async () => {
    await start();
    await alice.put('/buckets/beer', {});
    await alice.put(COLLECTION, { permissions: { read: [bobId] } });
    await alice.put(`${COLLECTION}/records/mine`, { data: {}, permissions: { write: [bobId] } });
    await alice.put(`${COLLECTION}/records/hers`, { data: {} });
    expect(ids(await bob.delete(`${COLLECTION}/records`))).toEqual(['mine']);
    expect(ids(await alice.get(`${COLLECTION}/records`))).toEqual(['hers']);
  });

  it('buckets shared with everyone are listed for anonymous users', async () => {
    await start();
    await alice.put('/buckets/whiskies', {});
    await alice.put('/buckets/beers', { permissions: { write: ['system.Everyone'] } });
    expect(ids(await anonymous.get('/buckets'))).toEqual(['beers']);
  });
});

describe('*_principals settings', () => {
  it('bucket_create_principals restricts who can create and list buckets', async () => {
    await start();
    const aliceId = await userIdOf(alice);
    await app.close();
    await start('', { KINTO_BUCKET_CREATE_PRINCIPALS: aliceId });
    expect((await alice.put('/buckets/beer', {})).statusCode).toBe(201);
    expect((await alice.get('/buckets')).statusCode).toBe(200);
    expectError(await bob.put('/buckets/other', {}), 403, 121);
    expectError(await bob.get('/buckets'), 403, 121);
    expectError(await anonymous.get('/buckets'), 401, 104);
  });

  it('bucket_read_principals and record_read_principals grant reads everywhere', async () => {
    await start('kinto.bucket_read_principals = system.Authenticated\nkinto.record_read_principals = system.Everyone\n');
    await alice.put('/buckets/beer', {});
    await alice.put(COLLECTION, {});
    await alice.put(`${COLLECTION}/records/r1`, { data: {} });
    expect((await bob.get('/buckets/beer')).statusCode).toBe(200);
    expect(ids(await bob.get('/buckets'))).toEqual(['beer']);
    expect((await anonymous.get(`${COLLECTION}/records/r1`)).statusCode).toBe(200);
    expectError(await bob.put('/buckets/beer', {}), 403, 121);
  });

  it('bucket_write_principals grants write on every bucket', async () => {
    await start('kinto.bucket_write_principals = system.Authenticated\n');
    await alice.put('/buckets/beer', {});
    expect((await bob.patch('/buckets/beer', { data: { x: 1 } })).statusCode).toBe(200);
    expect((await bob.put(COLLECTION, {})).statusCode).toBe(201);
  });
});

describe('groups as principals', () => {
  it('members get what the group was granted', async () => {
    await start();
    await alice.put('/buckets/beer', { permissions: { write: ['/buckets/beer/groups/admins'] } });
    expectError(await bob.put(COLLECTION, {}), 403, 121);
    await alice.put('/buckets/beer/groups/admins', { data: { members: [bobId] } });
    expect((await bob.put(COLLECTION, {})).statusCode).toBe(201);
    expect((await bob.get('/')).json().user.principals).toContain('/buckets/beer/groups/admins');
  });
});

describe('explicit_permissions = false', () => {
  it('does not add the creator to write, relying on inheritance', async () => {
    await start('kinto.explicit_permissions = false\n');
    await alice.put('/buckets/write', { permissions: { write: ['system.Authenticated'] } });
    await bob.put('/buckets/write/collections/test', { permissions: { write: ['system.Authenticated'] } });
    const record = await bob.put('/buckets/write/collections/test/records/1', {
      permissions: { write: ['system.Authenticated'], read: ['ldap:chantal'] },
    });
    expect(record.json().permissions).toEqual({ write: ['system.Authenticated'], read: ['ldap:chantal'] });
    expect((await bob.get('/buckets/write/collections/test/records/1')).statusCode).toBe(200);
    const entries = (await bob.get('/permissions')).json().data.map((e: { uri: string }) => e.uri).sort();
    expect(entries).toEqual(['/', '/buckets/write', '/buckets/write/collections/test', '/buckets/write/collections/test/records/1']);
  });

  it('child objects created by a user are not listed as theirs', async () => {
    await start('kinto.explicit_permissions = false\n');
    await alice.put('/buckets/write', { permissions: { write: ['system.Authenticated'] } });
    await bob.put('/buckets/write/collections/test', {});
    await bob.put('/buckets/write/collections/test/records/1', {});
    const entries = (await bob.get('/permissions')).json().data.map((e: { uri: string }) => e.uri).sort();
    expect(entries).toEqual(['/', '/buckets/write']);
    expect((await bob.get('/buckets/write/collections/test/records/1')).statusCode).toBe(200);
  });
});

describe('GET /v1/permissions', () => {
  const RECORD_ID = 'd5db6e57-2c10-43e2-96c8-56602ef01435';

  async function populate(): Promise<void> {
    await alice.put('/buckets/beers', {});
    await alice.put('/buckets/beers/collections/barley', {});
    await alice.put('/buckets/beers/groups/amateurs', { data: { members: ['fxa:user'] } });
    await alice.put(`/buckets/beers/collections/barley/records/${RECORD_ID}`, { data: {} });
    await bob.put('/buckets/water', {});
  }

  it('lists the objects the user has explicit permissions on, with the root entry', async () => {
    await start();
    await populate();
    const response = await alice.get('/permissions');
    expect(response.statusCode).toBe(200);
    const data = response.json().data;
    expect(data.map((e: { uri: string }) => e.uri)).toEqual([
      `/buckets/beers/groups/amateurs`,
      `/buckets/beers/collections/barley/records/${RECORD_ID}`,
      '/buckets/beers/collections/barley',
      '/buckets/beers',
      '/',
    ]);
    expect(data.at(-1)).toEqual({ permissions: ['bucket:create'], resource_name: 'root', uri: '/' });
    const record = data.find((e: { resource_name: string }) => e.resource_name === 'record');
    expect(record).toMatchObject({ id: RECORD_ID, record_id: RECORD_ID, collection_id: 'barley', bucket_id: 'beers' });
  });

  it('expands implied permissions within the same object', async () => {
    await start();
    await populate();
    const [bucket] = (await bob.get('/permissions?resource_name=bucket')).json().data;
    expect(bucket.permissions.sort()).toEqual(['collection:create', 'group:create', 'read', 'read:attributes', 'write']);
  });

  it('does not list inherited permissions, but does list those through groups', async () => {
    await start();
    await alice.put('/buckets/beers', { permissions: { write: ['/buckets/beers/groups/admins'] } });
    await alice.put('/buckets/beers/groups/admins', { data: { members: [bobId] } });
    await alice.put('/buckets/beers/collections/barley', {});
    const data = (await bob.get('/permissions')).json().data;
    expect(data.map((e: { uri: string }) => e.uri)).toEqual(['/buckets/beers', '/']);
  });

  it('supports filters, _fields, HEAD totals and pagination', async () => {
    await start();
    await populate();
    expect((await alice.get('/permissions?in_resource_name=bucket,collection')).json().data).toHaveLength(2);
    expect((await alice.get('/permissions?_fields=uri')).json().data[0]).not.toHaveProperty('resource_name');
    expect((await alice.head('/permissions')).headers['total-objects']).toBe('5');
    const page = await alice.get('/permissions?_limit=2');
    expect(page.json().data).toHaveLength(2);
    expect(page.headers['next-page']).toBeDefined();
    expect(page.headers['total-objects']).toBeUndefined();
    for (const sort of ['id', '-id', 'uri', '-uri']) {
      const seen: string[] = [];
      let next: string | undefined = `/v1/permissions?_sort=${sort}&_limit=2`;
      while (next) {
        const response = await app.inject({ method: 'GET', url: next, headers: ALICE });
        seen.push(...response.json().data.map((e: { uri: string }) => e.uri));
        const header = response.headers['next-page'] as string | undefined;
        next = header ? header.replace(/^https?:\/\/[^/]+/, '') : undefined;
      }
      expect(seen.sort(), sort).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
    }
  });

  it('rejects unknown filter, sort and _fields fields, tolerates preconditions', async () => {
    await start();
    const response = await alice.get('/permissions?movie=bourne');
    expect(response.statusCode).toBe(400);
    expect(response.json().errno).toBe(107);
    expect(response.json().message).toBe("Unknown filter field 'movie'");
    expect((await alice.get('/permissions?_sort=movie')).json().message).toBe("querystring: Unknown sort field 'movie'");
    const fields = (await alice.get('/permissions?_fields=movie')).json();
    expect(fields.details[0].name).toBe('Invalid _fields parameter');
    expect((await alice.get('/permissions', { 'if-none-match': '"123"' })).statusCode).toBe(200);
  });

  it('takes *_principals settings into account', async () => {
    await start('kinto.bucket_write_principals = system.Authenticated\nkinto.collection_write_principals = system.Authenticated\n');
    await alice.put('/buckets/beers', {});
    await alice.put('/buckets/beers/collections/barley', {});
    const data = (await client(app, basic('any')).get('/permissions')).json().data;
    const bucket = data.find((e: { resource_name: string }) => e.resource_name === 'bucket');
    expect(bucket.permissions).toContain('write');
    const collection = data.find((e: { resource_name: string }) => e.resource_name === 'collection');
    expect(collection.permissions).toContain('write');
  });

  it('does not list deleted objects; anonymous users see what Everyone may do', async () => {
    await start();
    await populate();
    await alice.patch('/buckets/water', { permissions: {} });
    await alice.delete('/buckets/beers');
    expect((await alice.get('/permissions')).json().data.map((e: { uri: string }) => e.uri)).toEqual(['/']);
    await bob.patch('/buckets/water', { permissions: { read: ['system.Everyone'] } });
    expect((await anonymous.get('/permissions')).json().data.map((e: { uri: string }) => e.uri)).toEqual(['/buckets/water']);
  });

  it('is absent when the setting is off', async () => {
    app = await makeApp('', { KINTO_EXPERIMENTAL_PERMISSIONS_ENDPOINT: 'false' });
    const response = await client(app, ALICE).get('/permissions');
    expectError(response, 404, 111);
    expect((await client(app).get('/')).json().capabilities).not.toHaveProperty('permissions_endpoint');
  });
});
