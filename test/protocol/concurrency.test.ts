import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, etagOf, expectError, expectInvalid } from '../helpers/protocol.ts';

let app: FastifyInstance;
let alice: Client;
let record: { id: string; last_modified: number; title: string };
let url: string;

beforeEach(async () => {
  app = await makeApp();
  alice = client(app, ALICE);
  await createCollection(alice);
  record = (await alice.post(RECORDS, { data: { title: 'first' } })).json().data;
  url = `${RECORDS}/${record.id}`;
});
afterEach(() => app.close());

const quoted = (ts: number) => `"${ts}"`;

function expect412(response: LightMyRequestResponse, existing?: Record<string, unknown>): void {
  const body = expectError(response, 412, 114, { error: 'Precondition Failed', message: 'Resource was modified meanwhile' });
  if (existing) expect(body.details).toEqual({ existing });
  else expect(body).not.toHaveProperty('details');
  expect(response.headers.etag).toMatch(/^"\d+"$/);
  expect(response.headers['last-modified']).toBeDefined();
}

describe('ETag and Last-Modified', () => {
  it('object ETag is its timestamp; Last-Modified its HTTP date (second resolution)', async () => {
    const response = await alice.get(url);
    expect(etagOf(response)).toBe(record.last_modified);
    const date = new Date(String(response.headers['last-modified']));
    expect(date.getTime()).toBe(Math.floor(record.last_modified / 1000) * 1000);
  });

  it('plural ETag is the collection timestamp and moves with every write', async () => {
    const before = etagOf(await alice.get(RECORDS));
    expect(before).toBe(record.last_modified);
    const created = await alice.post(RECORDS, { data: {} });
    expect(etagOf(await alice.get(RECORDS))).toBe(etagOf(created));
  });

  it('timestamps are strictly increasing, even for writes within the same millisecond', async () => {
    const stamps = [];
    for (let i = 0; i < 20; i += 1) stamps.push((await alice.post(RECORDS, { data: {} })).json().data.last_modified);
    for (let i = 1; i < stamps.length; i += 1) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]);
  });

  it('an empty list has a stable timestamp until the first write', async () => {
    await alice.put('/buckets/beers/collections/empty', {});
    const first = etagOf(await alice.get('/buckets/beers/collections/empty/records'));
    const second = etagOf(await alice.get('/buckets/beers/collections/empty/records'));
    expect(second).toBe(first);
  });

  it('plural DELETE ETag is the newest tombstone timestamp', async () => {
    const deleted = await alice.delete(RECORDS);
    expect(etagOf(deleted)).toBe(deleted.json().data[0].last_modified);
    expect(etagOf(await alice.get(RECORDS))).toBe(etagOf(deleted));
  });
});

describe('If-None-Match', () => {
  it('answers 304 with ETag and no body when unchanged (object and plural)', async () => {
    const object = await alice.get(url, { 'if-none-match': quoted(record.last_modified) });
    expect(object.statusCode).toBe(304);
    expect(object.body).toBe('');
    expect(etagOf(object)).toBe(record.last_modified);
    expect(object.headers['last-modified']).toBeDefined();
    const plural = await alice.get(RECORDS, { 'if-none-match': quoted(record.last_modified) });
    expect(plural.statusCode).toBe(304);
  });

  it('answers 200 when changed', async () => {
    expect((await alice.get(url, { 'if-none-match': quoted(record.last_modified - 1) })).statusCode).toBe(200);
    expect((await alice.get(RECORDS, { 'if-none-match': quoted(record.last_modified + 1) })).statusCode).toBe(200);
  });

  it('* fails with 412 on existing objects and on plural endpoints', async () => {
    const star = { 'if-none-match': '*' };
    const { last_modified: _lm, ...rest } = record;
    expect412(await alice.get(url, star), { ...rest, last_modified: record.last_modified });
    expect412(await alice.put(url, { data: {} }, star), record);
    expect412(await alice.patch(url, { data: {} }, star), record);
    expect412(await alice.delete(url, star), record);
    expect412(await alice.post(RECORDS, { data: { id: record.id } }, star), record);
    expect412(await alice.get(RECORDS, star));
    expect412(await alice.delete(RECORDS, star));
  });

  it('* lets a create through, including over a tombstone', async () => {
    const star = { 'if-none-match': '*' };
    expect((await alice.put(`${RECORDS}/fresh`, { data: {} }, star)).statusCode).toBe(201);
    expect((await alice.post(RECORDS, { data: { id: 'other' } }, star)).statusCode).toBe(201);
    await alice.delete(url);
    expect((await alice.put(url, { data: {} }, star)).statusCode).toBe(201);
  });

  it('If-Modified-Since and If-Unmodified-Since are ignored', async () => {
    const old = 'Thu, 01 Jan 1970 00:00:00 GMT';
    expect((await alice.get(url, { 'if-modified-since': new Date().toUTCString() })).statusCode).toBe(200);
    expect((await alice.put(url, { data: {} }, { 'if-unmodified-since': old })).statusCode).toBe(200);
  });
});

describe('If-Match', () => {
  it('succeeds when equal and fails with 412 and details.existing otherwise', async () => {
    const stale = await alice.put(url, { data: { title: 'x' } }, { 'if-match': quoted(record.last_modified - 10) });
    expect412(stale, record);
    expect(etagOf(stale)).toBe(record.last_modified);
    const ok = await alice.put(url, { data: { title: 'x' } }, { 'if-match': quoted(record.last_modified) });
    expect(ok.statusCode).toBe(200);
  });

  it('applies to PATCH, DELETE, GET and to plural endpoints (list timestamp)', async () => {
    const stale = { 'if-match': quoted(record.last_modified + 10) };
    expect412(await alice.patch(url, { data: {} }, stale), record);
    expect412(await alice.delete(url, stale), record);
    expect412(await alice.get(url, stale), record);
    expect412(await alice.get(RECORDS, stale));
    expect((await alice.head(RECORDS, stale)).statusCode).toBe(412);
    expect412(await alice.delete(RECORDS, stale));
    const current = { 'if-match': quoted(record.last_modified) };
    expect((await alice.get(RECORDS, current)).statusCode).toBe(200);
    expect((await alice.delete(url, current)).statusCode).toBe(200);
  });

  it('* succeeds on existing objects and plural endpoints, fails on missing ones', async () => {
    const star = { 'if-match': '*' };
    expect((await alice.get(url, star)).statusCode).toBe(200);
    expect((await alice.get(RECORDS, star)).statusCode).toBe(200);
    expect((await alice.patch(url, { data: { a: 1 } }, star)).statusCode).toBe(200);
    expect412(await alice.put(`${RECORDS}/missing`, { data: {} }, star));
    expect412(await alice.put(`${RECORDS}/missing`, { data: {} }, { 'if-match': quoted(record.last_modified) }));
  });

  it('POST on the plural endpoint with If-Match and a new id always fails', async () => {
    const current = etagOf(await alice.get(RECORDS));
    expect412(await alice.post(RECORDS, { data: {} }, { 'if-match': quoted(current) }));
    const existing = await alice.post(RECORDS, { data: { id: record.id } }, { 'if-match': '*' });
    expect(existing.statusCode).toBe(200);
  });

  it('"0" is ignored like an absent header', async () => {
    expect((await alice.put(url, { data: {} }, { 'if-match': '"0"' })).statusCode).toBe(200);
  });

  it('after a concurrent change, the old ETag no longer matches', async () => {
    const etag = quoted(record.last_modified);
    expect((await alice.patch(url, { data: { n: 1 } }, { 'if-match': etag })).statusCode).toBe(200);
    const second = await alice.patch(url, { data: { n: 2 } }, { 'if-match': etag });
    expect(second.statusCode).toBe(412);
    expect(second.json().details.existing.n).toBe(1);
  });
});

describe('invalid precondition headers', () => {
  it('are rejected with 400 errno 107 before anything else', async () => {
    for (const value of ['123', 'abc', '"abc"', '"12', '*, "1"', 'W/"1"']) {
      for (const name of ['if-match', 'if-none-match']) {
        const response = await alice.get(url, { [name]: value });
        const body = expectInvalid(response, 'header');
        expect(body.message, `${name}: ${value}`).toContain('The value should be integer between double quotes.');
      }
    }
    expectInvalid(await alice.get(`${RECORDS}/missing`, { 'if-match': 'abc' }), 'header', 'If-Match');
    expectInvalid(await alice.put(`${RECORDS}/missing`, { data: {} }, { 'if-none-match': 'abc' }), 'header', 'If-None-Match');
  });
});
