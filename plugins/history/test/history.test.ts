import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, type Client } from '../../../test/helpers/app.ts';
import { expectError, expectInvalid } from '../../../test/helpers/protocol.ts';
import { client, entriesOf, historyApp, userIdOf } from './helpers.ts';

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

let app: FastifyInstance;
let alice: Client;
afterEach(() => app.close());

describe('history: endpoint', () => {
  beforeEach(async () => {
    app = await historyApp();
    alice = client(app, ALICE);
    await alice.put('/buckets/test');
  });

  it('advertises the capability as Kinto does', async () => {
    const hello = await client(app).get('/');
    expect(hello.json().capabilities.history).toEqual({
      description: 'Track changes on data.',
      url: 'http://kinto.readthedocs.io/en/latest/api/1.x/history.html',
    });
  });

  it('only answers GET, HEAD and DELETE on the list, and has no object endpoint', async () => {
    for (const method of ['PUT', 'PATCH', 'POST'] as const) {
      const response = await app.inject({ method, url: '/v1/buckets/test/history', headers: ALICE, payload: {} });
      expectError(response, 405, 115);
    }
    const [entry] = await entriesOf(alice, 'test');
    expect((await alice.get(`/buckets/test/history/${entry.id}`)).statusCode).toBe(404);
    expect((await alice.delete(`/buckets/test/history/${entry.id}`)).statusCode).toBe(404);
    const head = await alice.head('/buckets/test/history');
    expect(head.statusCode).toBe(200);
    expect(head.headers['total-objects']).toBe('1');
  });

  it('refuses callers who cannot read the bucket', async () => {
    expectError(await client(app).get('/buckets/test/history'), 401, 104);
    expectError(await client(app, { authorization: 'Basic Ym9iOnNlY3JldA==' }).get('/buckets/test/history'), 403, 121);
  });
});

describe('history: tracked changes', () => {
  let principal: string;
  beforeEach(async () => {
    app = await historyApp();
    alice = client(app, ALICE);
    principal = await userIdOf(alice);
    await alice.put('/buckets/test');
    await alice.put('/buckets/test/collections/col');
    await alice.put('/buckets/test/groups/grp', { data: { members: ['elle'] } });
    await alice.put('/buckets/test/collections/col/records/rec', { data: { foo: 42 } });
  });

  it('records who changed what and when, newest first', async () => {
    const entries = await entriesOf(alice, 'test');
    expect(entries.map((e) => [e.action, e.resource_name])).toEqual([
      ['create', 'record'],
      ['create', 'group'],
      ['create', 'collection'],
      ['create', 'bucket'],
    ]);
    for (const entry of entries) {
      expect(entry.user_id).toBe(principal);
      expect(entry.date).toMatch(DATETIME);
      expect(typeof entry.last_modified).toBe('number');
    }
  });

  it('describes each resource with its ids and URI', async () => {
    const [record, group, collection, bucket] = await entriesOf(alice, 'test');
    expect(bucket).toMatchObject({ bucket_id: 'test', uri: '/buckets/test' });
    expect(collection).toMatchObject({ collection_id: 'col', uri: '/buckets/test/collections/col' });
    expect(collection).not.toHaveProperty('bucket_id');
    expect(group).toMatchObject({ group_id: 'grp', uri: '/buckets/test/groups/grp' });
    expect(record).toMatchObject({ collection_id: 'col', record_id: 'rec', uri: '/buckets/test/collections/col/records/rec' });
    expect(record).not.toHaveProperty('bucket_id');
    expect(record).not.toHaveProperty('timestamp');
    expect(record.target.data).toMatchObject({ id: 'rec', foo: 42 });
    expect(record.target.permissions).toEqual({ write: [principal] });
  });

  it('tracks creations through the plural endpoint', async () => {
    await alice.post('/buckets', { data: { id: 'posted' } });
    const [entry] = await entriesOf(alice, 'posted');
    expect(entry).toMatchObject({ resource_name: 'bucket', bucket_id: 'posted', action: 'create', uri: '/buckets/posted' });
  });

  it('tracks updates of attributes and of permissions', async () => {
    await alice.patch('/buckets/test/collections/col/records/rec', { data: { foo: 'baz' } });
    await alice.patch('/buckets/test/groups/grp', { permissions: { read: ['admins'] } });
    const [permissions, attributes] = await entriesOf(alice, 'test');
    expect(attributes).toMatchObject({ action: 'update', resource_name: 'record', target: { data: { foo: 'baz' } } });
    expect(permissions).toMatchObject({ action: 'update', resource_name: 'group' });
    expect(permissions.target.permissions.read).toEqual(['admins']);
  });

  it('tracks deletions with the tombstone, one entry per deleted object', async () => {
    await alice.post('/buckets/test/collections/col/records', { data: { foo: 43 } });
    await alice.delete('/buckets/test/collections/col/records');
    const deletions = (await entriesOf(alice, 'test')).filter((e) => e.action === 'delete');
    expect(deletions).toHaveLength(2);
    for (const entry of deletions) {
      expect(entry.target.data.deleted).toBe(true);
      expect(entry.uri).toBe(`/buckets/test/collections/col/records/${entry.record_id}`);
    }
  });

  it('deleting a collection is one entry, not one per record', async () => {
    await alice.post('/buckets/test/collections/col/records', { data: { pim: 'pam' } });
    await alice.delete('/buckets/test/collections/col');
    const deletions = (await entriesOf(alice, 'test')).filter((e) => e.action === 'delete');
    expect(deletions.map((e) => e.uri)).toEqual(['/buckets/test/collections/col']);
  });

  it('deleting a bucket deletes its history, not the others', async () => {
    await alice.put('/buckets/other', { data: { a: 1 } });
    await alice.delete('/buckets/test');
    expect(await app.kinto.storage.list('history', '/buckets/test', { includeDeleted: true })).toEqual([]);
    await alice.put('/buckets/test');
    expect((await entriesOf(alice, 'test')).map((e) => e.action)).toEqual(['create']);
    await alice.delete('/buckets?a=1');
    expect(await app.kinto.storage.list('history', '/buckets/other', { includeDeleted: true })).toEqual([]);
    expect(await entriesOf(alice, 'test')).toHaveLength(1);
  });
});

describe('history: filtering and deletion', () => {
  beforeEach(async () => {
    app = await historyApp();
    alice = client(app, ALICE);
    await alice.put('/buckets/bid');
    await alice.put('/buckets/0');
    await alice.put('/buckets/bid/collections/cid');
    await alice.put('/buckets/0/collections/1');
    await alice.put('/buckets/bid/collections/cid/records/rid', { data: { foo: 42 } });
    await alice.put('/buckets/0/collections/1/records/2', { data: { foo: 0 } });
    await alice.patch('/buckets/bid/collections/cid/records/rid', { data: { foo: 'bar' } });
    await alice.delete('/buckets/bid/collections/cid/records/rid');
  });

  const count = async (query: string, bucket = 'bid') => (await entriesOf(alice, bucket, query)).length;

  it('filters on the entry fields', async () => {
    expect(await count('?action=delete')).toBe(1);
    expect(await count('?resource_name=bucket')).toBe(1);
    expect(await count('?uri=/buckets/bid/collections/cid/records/rid')).toBe(3);
    expect(await count('?bucket_id=bid')).toBe(1);
    expect(await count('?collection_id=cid')).toBe(4);
    expect(await count('?target.data.id=rid')).toBe(3);
    expect(await count('?exclude_action=create')).toBe(2);
  });

  it('compares numeric ids as text', async () => {
    expect(await count('?bucket_id=0', '0')).toBe(1);
    expect(await count('?collection_id=1', '0')).toBe(2);
    expect(await count('?record_id=2', '0')).toBe(1);
    expect(await count('?in_record_id=2,3', '0')).toBe(1);
  });

  it('refuses unknown fields in filters, sorting and projections', async () => {
    expectInvalid(await alice.get('/buckets/bid/history?movie=bourne'), 'querystring', 'movie');
    expectInvalid(await alice.get('/buckets/bid/history?_sort=movie'), 'querystring');
    expect((await alice.get('/buckets/bid/history?_fields=movie')).statusCode).toBe(400);
  });

  it('sorts, limits, paginates and projects', async () => {
    const versions = await entriesOf(alice, 'bid', '?uri=/buckets/bid/collections/cid/records/rid&_limit=2&_sort=last_modified');
    expect(versions.map((e) => e.target.data.foo)).toEqual([42, 'bar']);
    const page = await alice.get('/buckets/bid/history?_limit=2');
    expect(page.json().data).toHaveLength(2);
    const next = String(page.headers['next-page']);
    const rest = await alice.get(next.slice(next.indexOf('/v1/')));
    expect(rest.json().data).toHaveLength(2);
    const fields = await entriesOf(alice, 'bid', '?_fields=uri,action');
    expect(Object.keys(fields[0]).sort()).toEqual(['action', 'id', 'last_modified', 'uri']);
    const byDate = await entriesOf(alice, 'bid', '?_sort=date');
    expect(byDate[0].date < byDate.at(-1)!.date).toBe(true);
  });

  it('deletes entries, all of them or those matching filters', async () => {
    const etag = Number(String((await alice.get('/buckets/bid/history')).headers.etag).slice(1, -1));
    await alice.put('/buckets/bid/collections/cid2');
    const partial = await alice.delete(`/buckets/bid/history?_before=${etag}`);
    expect(partial.statusCode).toBe(200);
    expect(partial.json().data).toHaveLength(4);
    expect((await entriesOf(alice, 'bid')).map((e) => e.uri)).toEqual([
      '/buckets/bid/collections/cid2',
      '/buckets/bid/collections/cid/records/rid',
    ]);
    await alice.delete('/buckets/bid/history?resource_name=collection');
    expect(await count('')).toBe(1);
    await alice.delete('/buckets/bid/history');
    expect(await count('')).toBe(0);
    expect(await count('', '0')).toBe(3);
  });
});

describe('history: default bucket', () => {
  it('lists implicit creations, and is reachable through the alias', async () => {
    app = await historyApp('', { includes: 'kinto.plugins.default_bucket kinto.plugins.history' });
    alice = client(app, ALICE);
    const principal = await userIdOf(alice);
    const bucketId = (await alice.get('/')).json().user.bucket;
    const record = (await alice.post('/buckets/default/collections/blah/records', { data: { foo: 42 } })).json().data;
    const entries = await entriesOf(alice, 'default');
    expect(entries.map((e) => e.uri)).toEqual([
      `/buckets/${bucketId}/collections/blah/records/${record.id}`,
      `/buckets/${bucketId}/collections/blah`,
      `/buckets/${bucketId}`,
    ]);
    expect(entries[2]).toMatchObject({ resource_name: 'bucket', bucket_id: bucketId });
    for (const entry of entries) expect(entry.target.permissions.write[0]).toBe(principal);
  });
});

describe('history: metrics', () => {
  it('times the writing of entries as plugins.history.seconds', async () => {
    const timers: string[] = [];
    app = await historyApp('', {
      beforeReady: (built) =>
        built.kinto.metrics.provide('test', { timer: (key) => timers.push(key), observe: () => {}, count: () => {} }),
    });
    await client(app, ALICE).put('/buckets/test');
    expect(timers).toContain('plugins.history.seconds');
  });
});
