import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, BOB, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, etagOf, expectError, expectInvalid, ids, userIdOf } from '../helpers/protocol.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RECORD = { name: 'Hulled Barley', type: 'Whole Grain' };

let app: FastifyInstance;
let alice: Client;
let bob: Client;
let record: { id: string; last_modified: number };
let recordUrl: string;

beforeEach(async () => {
  app = await makeApp();
  alice = client(app, ALICE);
  bob = client(app, BOB);
  await createCollection(alice);
  const created = await alice.post(RECORDS, { data: RECORD });
  record = created.json().data;
  recordUrl = `${RECORDS}/${record.id}`;
});
afterEach(() => app.close());

describe('records', () => {
  it('POST generates a UUID4 id and returns 201 with data and permissions', async () => {
    const created = await alice.post(RECORDS, { data: RECORD });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.data.id).toMatch(UUID);
    expect(body.data).toMatchObject(RECORD);
    expect(body.permissions).toEqual({ write: [await userIdOf(alice)] });
    expect(etagOf(created)).toBe(body.data.last_modified);
    expect(created.headers['last-modified']).toBe(new Date(Math.floor(body.data.last_modified / 1000) * 1000).toUTCString());
  });

  it('POST without data creates an empty record', async () => {
    const created = await alice.post(RECORDS, {});
    expect(created.statusCode).toBe(201);
    expect(Object.keys(created.json().data).sort()).toEqual(['id', 'last_modified']);
  });

  it('can be read by id, and holds exactly what was sent', async () => {
    const response = await alice.get(recordUrl);
    expect(response.statusCode).toBe(200);
    const { id, last_modified: lm, ...rest } = response.json().data;
    expect(id).toBe(record.id);
    expect(lm).toBe(record.last_modified);
    expect(rest).toEqual(RECORD);
    expect(etagOf(response)).toBe(record.last_modified);
    expect(response.headers['cache-control']).toBe('no-cache, no-store');
  });

  it('are listed as JSON, with or without _fields, holding exactly what was sent', async () => {
    const odd = { title: 'é ☃ "quoted" \\ \u2028', nested: { list: [1, 2.5, null, false] }, empty: {} };
    const created = (await alice.post(RECORDS, { data: odd })).json().data;
    for (const query of ['', '?_fields=title,nested,empty']) {
      const listed = await alice.get(`${RECORDS}${query}`);
      expect(listed.headers['content-type']).toBe('application/json; charset=utf-8');
      const found = listed.json().data.find((r: { id: string }) => r.id === created.id);
      const expected = query ? { id: created.id, last_modified: created.last_modified, ...odd } : created;
      expect(found).toEqual(expected);
    }
  });

  it('POST with an id uses it; an existing id answers 200 with the existing record', async () => {
    const created = await alice.post(RECORDS, { data: { id: 'a-simple-id', ...RECORD } });
    expect(created.statusCode).toBe(201);
    expect(created.json().data.id).toBe('a-simple-id');
    const again = await alice.post(RECORDS, { data: { id: record.id, stars: 8 } });
    expect(again.statusCode).toBe(200);
    expect(again.json().data).not.toHaveProperty('stars');
  });

  it('POST with the id of a record someone else owns is a 403', async () => {
    await alice.put('/buckets/beers/collections/barley', { permissions: { 'record:create': ['system.Authenticated'] } });
    expectError(await bob.post(RECORDS, { data: { id: record.id, stars: 8 } }), 403, 121);
  });

  it('unknown bucket is a 403; unknown collection a 404 errno 111; unknown record a 404 errno 110', async () => {
    expectError(await alice.get('/buckets/sodas/collections/barley/records'), 403, 121);
    const collection = expectError(await alice.get('/buckets/beers/collections/pills/records'), 404, 111);
    expect(collection.details).toEqual({ id: 'pills', resource_name: 'collection' });
    const missing = expectError(await alice.get(`${recordUrl}blah`), 404, 110, {
      message: 'The resource you are looking for could not be found.',
    });
    expect(missing.details).toEqual({ id: `${record.id}blah`, resource_name: 'record' });
  });

  it('writes into a missing collection answer 404 errno 111', async () => {
    const url = '/buckets/beers/collections/pills/records';
    expectError(await alice.post(url, { data: {} }), 404, 111);
    expectError(await alice.put(`${url}/abc`, { data: {} }), 404, 111);
    expectError(await alice.patch(`${url}/abc`, { data: {} }), 404, 111);
    expectError(await alice.delete(`${url}/abc`), 404, 111);
    expectError(await alice.delete(url), 404, 111);
  });

  it('are isolated by bucket and collection', async () => {
    await alice.put('/buckets/beers/collections/pills', {});
    expectError(await alice.get(recordUrl.replace('barley', 'pills')), 404, 110);
    await alice.put('/buckets/sodas', {});
    await alice.put('/buckets/sodas/collections/barley', {});
    expectError(await alice.get(recordUrl.replace('beers', 'sodas')), 404, 110);
  });

  it('accepts name-like ids but not other characters', async () => {
    expect((await alice.put(`${RECORDS}/my_record-1`, { data: {} })).statusCode).toBe(201);
    expectInvalid(await alice.put(`${RECORDS}/_bad`, { data: {} }), 'path');
    expectInvalid(await alice.get(`${RECORDS}/a.b`), 'path');
  });

  it('rejects create permissions on records', async () => {
    expectInvalid(await alice.put(recordUrl, { data: {}, permissions: { 'record:create': ['fxa:user'] } }), 'body');
  });

  it('every write bumps the collection timestamp', async () => {
    let previous = etagOf(await alice.get(RECORDS));
    for (const write of [
      () => alice.post(RECORDS, { data: RECORD }),
      () => alice.put(recordUrl, { data: RECORD }),
      () => alice.patch(recordUrl, { data: { a: 1 } }),
      () => alice.delete(recordUrl),
    ]) {
      const response = await write();
      expect(response.statusCode).toBeLessThan(300);
      const current = etagOf(await alice.get(RECORDS));
      expect(current).toBeGreaterThan(previous);
      expect(current).toBe(etagOf(response));
      previous = current;
    }
  });

  it('DELETE answers a tombstone without permissions, then 404', async () => {
    const deleted = await alice.delete(recordUrl);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({ data: { id: record.id, last_modified: etagOf(deleted), deleted: true } });
    expectError(await alice.get(recordUrl), 404, 110);
    expectError(await alice.delete(recordUrl), 404, 110);
    expect((await alice.put(recordUrl, { data: RECORD }, { 'if-none-match': '*' })).statusCode).toBe(201);
  });

  it('DELETE honours a newer ?last_modified and ignores an older one', async () => {
    const newer = record.last_modified + 100000;
    const deleted = await alice.delete(`${recordUrl}?last_modified=${newer}`);
    expect(deleted.json().data.last_modified).toBe(newer);
    const other = (await alice.post(RECORDS, { data: {} })).json().data;
    expectInvalid(await alice.delete(`${RECORDS}/${other.id}?last_modified=abc`), 'querystring');
    const older = await alice.delete(`${RECORDS}/${other.id}?last_modified=1`);
    expect(older.json().data.last_modified).toBeGreaterThan(other.last_modified);
    // The querystring is validated before the object is looked up.
    expectInvalid(await alice.delete(`${RECORDS}/${other.id}?last_modified=abc`), 'querystring');
  });

  it('honours a client last_modified on create when it is an integer', async () => {
    const future = Date.now() + 3600000;
    const created = await alice.post(RECORDS, { data: { last_modified: future } });
    expect(created.json().data.last_modified).toBe(future);
    expect(etagOf(await alice.get(RECORDS))).toBe(future);
    const ignored = await alice.post(RECORDS, { data: { last_modified: 'yesterday' } });
    expect(ignored.json().data.last_modified).toBeGreaterThan(future);
  });

  it('a past client last_modified is kept on create but does not move the collection timestamp', async () => {
    const before = etagOf(await alice.get(RECORDS));
    const created = await alice.post(RECORDS, { data: { last_modified: 1234 } });
    expect(created.json().data.last_modified).toBe(1234);
    expect(etagOf(await alice.get(RECORDS))).toBe(before);
  });

  it('a client last_modified equal to the collection timestamp is bumped by one', async () => {
    const current = etagOf(await alice.get(RECORDS));
    const created = await alice.post(RECORDS, { data: { last_modified: current } });
    expect(created.json().data.last_modified).toBe(current + 1);
  });

  it('ignores a client last_modified not newer on update', async () => {
    const updated = await alice.put(recordUrl, { data: { last_modified: 1 } });
    expect(updated.json().data.last_modified).toBeGreaterThan(record.last_modified);
  });

  it('is readable by a member of a group given read', async () => {
    const bobId = await userIdOf(bob);
    await alice.put('/buckets/beers/groups/brewers', { data: { members: [bobId] } });
    await alice.put(recordUrl, { data: RECORD, permissions: { read: ['/buckets/beers/groups/brewers'] } });
    expect((await bob.get(recordUrl)).statusCode).toBe(200);
    expectError(await bob.put(recordUrl, { data: {} }), 403, 121);
  });

  it('Accept must allow JSON (406), */* is fine', async () => {
    // Like cornice, the Accept check applies to requests that carry a Content-Type.
    const json = { 'content-type': 'application/json' };
    const refused = await alice.get(recordUrl, { ...json, accept: 'text/plain' });
    const body = expectError(refused, 406, 107, { error: 'Invalid parameters' });
    expect(body.message).toBe("Accept header should be one of ['application/json']");
    expectError(await alice.post(RECORDS, { data: {} }, { accept: 'text/html' }), 406, 107);
    expectError(await alice.get(recordUrl, { ...json, accept: 'application/json;q=0, */*' }), 406, 107);
    expect((await alice.get(recordUrl, { accept: 'text/plain' })).statusCode).toBe(200);
    expect((await alice.get(recordUrl, { ...json, accept: 'application/*' })).statusCode).toBe(200);
    expect((await alice.get(recordUrl, { ...json, accept: '*/*' })).statusCode).toBe(200);
    expect((await alice.get(recordUrl, { ...json, accept: 'text/html, application/json; q=0.9' })).statusCode).toBe(200);
  });

  it('sorts on any field and filters on unknown fields without error', async () => {
    for (const i of [0, 1, 2]) await alice.post(RECORDS, { data: { ...RECORD, name: `Stout ${i}` } });
    const sorted = await alice.get(`${RECORDS}?_sort=-name`);
    expect(sorted.json().data.map((r: { name: string }) => r.name)).toEqual(['Stout 2', 'Stout 1', 'Stout 0', 'Hulled Barley']);
    expect((await alice.get(`${RECORDS}?unknown=1`)).json().data).toEqual([]);
  });

  it('filters with JSON values and objects', async () => {
    await alice.post(RECORDS, { data: { id: 'strawberry', flavor: 'strawberry', attributes: { ibu: 25, seen_on: '2017-06-01' } } });
    await alice.post(RECORDS, { data: { id: 'raspberry', flavor: 'raspberry', attributes: {} } });
    expect(ids(await alice.get(`${RECORDS}?flavor="strawberry"`))).toEqual(['strawberry']);
    const query = encodeURIComponent('{"ibu": 25, "seen_on": "2017-06-01"}');
    expect(ids(await alice.get(`${RECORDS}?attributes=${query}`))).toEqual(['strawberry']);
  });
});
