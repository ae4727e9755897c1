import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, BOB, client, makeApp, type Client } from '../helpers/app.ts';
import { etagOf, expectError, expectInvalid, ids } from '../helpers/protocol.ts';

const COLLECTIONS = '/buckets/beers/collections';
const BARLEY = `${COLLECTIONS}/barley`;

let app: FastifyInstance;
let alice: Client;
let bob: Client;

beforeEach(async () => {
  app = await makeApp();
  alice = client(app, ALICE);
  bob = client(app, BOB);
  await alice.put('/buckets/beers', {});
});
afterEach(() => app.close());

describe('collections', () => {
  it('are created with PUT and listed', async () => {
    const created = await alice.put(BARLEY, {});
    expect(created.statusCode).toBe(201);
    expect(created.json().data.id).toBe('barley');
    const list = await alice.get(COLLECTIONS);
    expect(ids(list)).toEqual(['barley']);
  });

  it('POST generates an 8-char id, or uses the given one; existing id answers 200', async () => {
    const generated = await alice.post(COLLECTIONS, {});
    expect(generated.statusCode).toBe(201);
    expect(generated.json().data.id).toHaveLength(8);
    const named = await alice.post(COLLECTIONS, { data: { id: 'barley' } });
    expect(named.statusCode).toBe(201);
    const again = await alice.post(COLLECTIONS, { data: { id: 'barley' } });
    expect(again.statusCode).toBe(200);
    expect(again.json().data.id).toBe('barley');
  });

  it('rejects invalid names', async () => {
    expectInvalid(await alice.put(`${COLLECTIONS}/__barley__`, {}), 'path');
  });

  it('rejects a non-JSON content type with 415', async () => {
    const response = await alice.put(BARLEY, 'data', { 'content-type': 'text/plain' });
    const message = "Content-Type header should be one of ['application/json']";
    const body = expectError(response, 415, 107, { error: 'Invalid parameters', message });
    expect(body.details).toEqual([{ location: 'header', name: 'Content-Type', description: message }]);
  });

  it('unknown bucket gives 403 (existence is not leaked)', async () => {
    expectError(await alice.get('/buckets/sodas/collections'), 403, 121);
    expectError(await alice.get('/buckets/sodas/collections/barley'), 403, 121);
  });

  it('unknown collection gives 404 errno 110 with details', async () => {
    const body = expectError(await alice.get(`${COLLECTIONS}/pills`), 404, 110);
    expect(body.details).toEqual({ id: 'pills', resource_name: 'collection' });
  });

  it('collections are isolated by bucket', async () => {
    await alice.put(BARLEY, {});
    await alice.put('/buckets/sodas', {});
    expectError(await alice.get('/buckets/sodas/collections/barley'), 404, 110);
  });

  it('accepts record:create but not collection:create permissions', async () => {
    const ok = await alice.put(BARLEY, { permissions: { 'record:create': ['fxa:user'] } });
    expect(ok.json().permissions['record:create']).toEqual(['fxa:user']);
    expectInvalid(await alice.put(BARLEY, { permissions: { 'collection:create': ['fxa:user'] } }), 'body');
  });

  it('keeps arbitrary attributes, filterable', async () => {
    await alice.put(BARLEY, { data: { fingerprint: 'abc', size: 3 } });
    await alice.put(`${COLLECTIONS}/malt`, { data: {} });
    const response = await alice.get(`${COLLECTIONS}?has_size=true&min_size=2`);
    expect(ids(response)).toEqual(['barley']);
    expect(response.json().data[0].fingerprint).toBe('abc');
  });

  it('cache_expires must be an integer', async () => {
    expect((await alice.put(BARLEY, { data: { cache_expires: 3600 } })).statusCode).toBe(201);
    expectInvalid(await alice.put(BARLEY, { data: { cache_expires: 'soon' } }), 'body', 'data.cache_expires');
  });

  it('creating in a missing bucket is refused (403 without permission on it)', async () => {
    expectError(await alice.put('/buckets/sodas/collections/x', {}), 403, 121);
  });
});

describe('collection deletion', () => {
  beforeEach(async () => {
    await alice.put('/buckets/beers', {
      permissions: { 'collection:create': ['system.Everyone'], read: ['system.Everyone'] },
    });
    await alice.put(BARLEY, {});
    const record = await alice.post(`${BARLEY}/records`, { data: { a: 1 }, permissions: { read: ['fxa:x'] } });
    expect(record.statusCode).toBe(201);
  });

  it('deletes the collection and purges its records without tombstones', async () => {
    const before = etagOf(await alice.get(`${BARLEY}/records`));
    const deleted = await alice.delete(BARLEY);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().data).toMatchObject({ id: 'barley', deleted: true });
    expectError(await alice.get(BARLEY), 404, 110);
    expectError(await alice.get(`${BARLEY}/records`), 404, 111);
    await alice.put(BARLEY, {});
    expect((await alice.get(`${BARLEY}/records?_since=0`)).json().data).toEqual([]);
    expect(etagOf(await alice.get(`${BARLEY}/records`))).not.toBe(before);
  });

  it('leaves a tombstone for the collection itself', async () => {
    await alice.delete(BARLEY);
    const list = await alice.get(`${COLLECTIONS}?_since=0`);
    expect(list.json().data).toEqual([expect.objectContaining({ id: 'barley', deleted: true })]);
  });

  it('can be recreated with If-None-Match: *', async () => {
    await alice.delete(BARLEY);
    expect((await alice.put(BARLEY, {}, { 'if-none-match': '*' })).statusCode).toBe(201);
  });

  it('plural DELETE removes only collections the user may write', async () => {
    await alice.put(`${COLLECTIONS}/one`, {});
    await bob.put(`${COLLECTIONS}/two`, {});
    await bob.put(`${COLLECTIONS}/three`, {});
    const deleted = await bob.delete(COLLECTIONS);
    expect(deleted.statusCode).toBe(200);
    expect(ids(deleted).sort()).toEqual(['three', 'two']);
    expect(ids(await alice.get(COLLECTIONS)).sort()).toEqual(['barley', 'one']);
  });
});
