import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, BOB, client, makeApp, type Client } from '../helpers/app.ts';
import { expectError, expectInvalid, etagOf, ids, userIdOf } from '../helpers/protocol.ts';

let app: FastifyInstance;
let alice: Client;
let bob: Client;

async function start(extraIni = ''): Promise<void> {
  app = await makeApp(extraIni);
  alice = client(app, ALICE);
  bob = client(app, BOB);
}

afterEach(() => app.close());

describe('buckets', () => {
  beforeEach(() => start());

  it('PUT creates (201) then replaces (200) with id and last_modified', async () => {
    const created = await alice.put('/buckets/beers', {});
    expect(created.statusCode).toBe(201);
    const data = created.json().data;
    expect(data.id).toBe('beers');
    expect(Number.isInteger(data.last_modified)).toBe(true);
    expect(etagOf(created)).toBe(data.last_modified);
    const replaced = await alice.put('/buckets/beers', { data: { public_key: 'abc' } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().data).toMatchObject({ id: 'beers', public_key: 'abc' });
    expect(replaced.json().data.last_modified).toBeGreaterThan(data.last_modified);
  });

  it('gives the creator write permission, shown in the response', async () => {
    const me = await userIdOf(alice);
    const created = await alice.put('/buckets/beers', {});
    expect(created.json().permissions).toEqual({ write: [me] });
  });

  it('accepts underscores and dashes but rejects odd names with 400 errno 107', async () => {
    expect((await alice.put('/buckets/alexis_beers-1', {})).statusCode).toBe(201);
    const invalid = await alice.put('/buckets/__beers__', {});
    const body = expectInvalid(invalid, 'path', null);
    expect(body.message).toBe('path: Invalid object id');
    for (const id of ['-abc', 'a.b', 'a%20b', '%C3%A9t%C3%A9']) {
      expect((await alice.put(`/buckets/${id}`, {})).statusCode, id).toBe(400);
    }
  });

  it('can be created without body nor content type', async () => {
    const response = await app.inject({ method: 'PUT', url: '/v1/buckets/catalog', headers: ALICE });
    expect(response.statusCode).toBe(201);
    expect(response.json().data.id).toBe('catalog');
  });

  it('POST without id generates an 8-char name id; POST with id uses it', async () => {
    const generated = await alice.post('/buckets', {});
    expect(generated.statusCode).toBe(201);
    expect(generated.json().data.id).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_-]{7}$/);
    const named = await alice.post('/buckets', { data: { id: 'blog' } });
    expect(named.statusCode).toBe(201);
    expect(named.json().data.id).toBe('blog');
    const again = await alice.post('/buckets', { data: { id: 'blog', extra: 1 } });
    expect(again.statusCode).toBe(200);
    expect(again.json().data).not.toHaveProperty('extra');
  });

  it('POST with an invalid id in body is a 400 on data.id', async () => {
    expectInvalid(await alice.post('/buckets', { data: { id: '__x__' } }), 'body', 'data.id');
    expectInvalid(await alice.post('/buckets', { data: { id: 42 } }), 'body', 'data.id');
  });

  it('rejects a body id different from the path id', async () => {
    const response = await alice.put('/buckets/beers', { data: { id: 'wines' } });
    const body = expectInvalid(response, 'body', 'id');
    // The description names the field, so it is the whole message (cornice's rule).
    expect(body.message).toBe('Object id does not match existing object');
  });

  it('handles and filters arbitrary attributes', async () => {
    await alice.put('/buckets/beers', { data: { size: 3 } });
    await alice.put('/buckets/wines', { data: { size: 1 } });
    const filtered = await alice.get('/buckets?min_size=2');
    expect(ids(filtered)).toEqual(['beers']);
  });

  it('accepts create permissions but rejects permissions of other resources', async () => {
    const ok = await alice.put('/buckets/beers', {
      permissions: { 'collection:create': ['fxa:user'], 'group:create': ['fxa:user'] },
    });
    expect(ok.json().permissions['collection:create']).toEqual(['fxa:user']);
    expect(ok.json().permissions['group:create']).toEqual(['fxa:user']);
    const bad = await alice.put('/buckets/beers', { permissions: { 'record:create': ['fxa:user'] } });
    expectInvalid(bad, 'body');
  });

  it('rejects unknown top-level body keys and non-object data', async () => {
    expectInvalid(await alice.put('/buckets/beers', { data: {}, extra: 1 }), 'body');
    const notMapping = await alice.put('/buckets/beers', { data: 'hello' });
    const body = expectInvalid(notMapping, 'body', 'data');
    expect(String(body.message)).toContain('data');
  });

  it('unknown bucket: 404 errno 110 with details when readable, 403 otherwise', async () => {
    const forbidden = await alice.get('/buckets/unknown');
    expectError(forbidden, 403, 121, { error: 'Forbidden', message: 'This user cannot access this resource.' });
  });

  it('bucket_create_principals lets authenticated users list (empty) buckets', async () => {
    const response = await bob.get('/buckets');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ data: [] });
  });

  it('is readable by others once shared', async () => {
    await alice.put('/buckets/beers', { permissions: { read: ['system.Authenticated'] } });
    expect((await bob.get('/buckets/beers')).statusCode).toBe(200);
    expect((await bob.put('/buckets/beers', {})).statusCode).toBe(403);
  });

  it('DELETE plural removes only the buckets the user can write', async () => {
    await bob.put('/buckets/one', {});
    await alice.put('/buckets/two', {});
    await alice.put('/buckets/three', {});
    const deleted = await alice.delete('/buckets');
    expect(deleted.statusCode).toBe(200);
    expect(ids(deleted).sort()).toEqual(['three', 'two']);
    for (const tombstone of deleted.json().data) {
      expect(Object.keys(tombstone).sort()).toEqual(['deleted', 'id', 'last_modified']);
    }
    expect((await bob.get('/buckets/one')).statusCode).toBe(200);
  });

  it('does not delete buckets with similar names', async () => {
    await alice.put('/buckets/a', {});
    const before = (await alice.put('/buckets/ab', { permissions: { read: ['system.Everyone'] } })).json();
    await alice.put('/buckets/a/collections/c', {});
    await alice.delete('/buckets/a');
    const after = await alice.get('/buckets/ab');
    expect(after.json()).toEqual(before);
  });
});

describe('bucket deletion cascade', () => {
  beforeEach(async () => {
    await start('kinto.bucket_read_principals = system.Authenticated\n');
    await alice.put('/buckets/beers', {});
    await alice.put('/buckets/beers/groups/moderators', { data: { members: ['fxa:user'] } });
    await alice.put('/buckets/beers/collections/barley', {});
    const record = await alice.post('/buckets/beers/collections/barley/records', { data: { a: 1 } });
    expect(record.statusCode).toBe(201);
  });

  it('answers the deleted bucket as a tombstone, then 404 with details', async () => {
    const deleted = await alice.delete('/buckets/beers');
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().data).toMatchObject({ id: 'beers', deleted: true });
    expect(deleted.json()).not.toHaveProperty('permissions');
    const missing = await alice.get('/buckets/beers');
    const body = expectError(missing, 404, 110, { error: 'Not Found' });
    expect(body.details).toEqual({ id: 'beers', resource_name: 'bucket' });
  });

  it('deletes children without leaving tombstones, and their permissions', async () => {
    await alice.delete('/buckets/beers');
    await alice.put('/buckets/beers', {});
    const group = await alice.get('/buckets/beers/groups/moderators');
    expectError(group, 404, 110);
    const collection = await alice.get('/buckets/beers/collections/barley');
    expectError(collection, 404, 110);
    expect((await alice.get('/buckets/beers/collections?_since=0')).json().data).toEqual([]);
    expect((await alice.get('/buckets/beers/groups?_since=0')).json().data).toEqual([]);
    await alice.put('/buckets/beers/collections/barley', {});
    const records = await alice.get('/buckets/beers/collections/barley/records?_since=0');
    expect(records.json().data).toEqual([]);
    const perms = await alice.get('/permissions');
    const uris = perms.json().data.map((e: { uri: string }) => e.uri);
    expect(uris.some((u: string) => u.includes('moderators') || u.includes('/records/'))).toBe(false);
  });

  it('refreshes the records timestamp when the collection is recreated', async () => {
    const before = etagOf(await alice.get('/buckets/beers/collections/barley/records'));
    await alice.delete('/buckets/beers');
    await alice.put('/buckets/beers', {});
    await alice.put('/buckets/beers/collections/barley', {});
    const after = etagOf(await alice.get('/buckets/beers/collections/barley/records'));
    expect(after).not.toBe(before);
  });

  it('can be created again with If-None-Match: *', async () => {
    await alice.delete('/buckets/beers');
    const created = await alice.put('/buckets/beers', {}, { 'if-none-match': '*' });
    expect(created.statusCode).toBe(201);
  });
});
