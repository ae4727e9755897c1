import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { basic, client } from '../../../test/helpers/app.ts';
import { changesWorld, createCollection, sleep, type ChangesWorld } from './helpers.ts';

const RECORDS = '/buckets/blocklists/collections/certificates/records';
const CHANGESET = '/buckets/blocklists/collections/certificates/changeset?_expected=42';
const MONITOR = '/buckets/monitor/collections/changes/changeset?_expected=42';

const CACHE_SETTINGS = {
  'kinto.record_cache_expires_seconds': '180',
  'kinto.main.record_cache_expires_seconds': '360',
  'kinto.blocklists.certificates.record_cache_expires_seconds': '1234',
  'kinto.blocklists.certificates.record_cache_minimum_expires_seconds': '42',
  'kinto.blocklists.certificates.record_cache_maximum_expires_seconds': '3600',
};

describe('collection changeset', () => {
  let world: ChangesWorld;
  beforeEach(async () => {
    world = await changesWorld(CACHE_SETTINGS);
    await world.alice.post(RECORDS, { data: { 'dev-edition': true } });
  });
  afterEach(() => world.app.close());

  it('returns metadata, changes and the records timestamp', async () => {
    const etag = (await world.alice.head(RECORDS)).headers.etag as string;
    const body = (await world.alice.get(CHANGESET)).json();
    expect(body.metadata.bucket).toBe('blocklists');
    expect(body.metadata.id).toBe('certificates');
    expect(body.changes).toHaveLength(1);
    expect(body.changes[0]['dev-edition']).toBe(true);
    expect(body.timestamp).toBe(Number(etag.slice(1, -1)));
  });

  it('takes Last-Modified from the collection metadata, and sends no ETag', async () => {
    const response = await world.alice.get(CHANGESET);
    const metadataTimestamp = response.json().metadata.last_modified;
    expect(new Date(response.headers['last-modified'] as string).getTime()).toBe(Math.floor(metadataTimestamp / 1000) * 1000);
    expect(response.headers.etag).toBeUndefined();
  });

  it('filters with `_since` and then includes tombstones', async () => {
    const before = (await world.alice.post(RECORDS, { data: {} })).json().data.last_modified;
    await world.alice.post(RECORDS, { data: {} });
    expect((await world.alice.get(CHANGESET)).json().changes).toHaveLength(3);
    expect((await world.alice.get(`${CHANGESET}&_since="${before}"`)).json().changes).toHaveLength(1);

    const etag = (await world.alice.get(RECORDS)).headers.etag as string;
    const deleted = (await world.alice.delete(`${RECORDS}?_limit=1`)).json().data[0];
    const changes = (await world.alice.get(`${CHANGESET}&_since=${etag}`)).json().changes;
    expect(changes).toEqual([{ id: deleted.id, last_modified: deleted.last_modified, deleted: true }]);
    expect((await world.alice.get(CHANGESET)).json().changes.some((c: { deleted?: boolean }) => c.deleted)).toBe(false);
  });

  it('sorts changes newest first and honours `_limit`', async () => {
    await world.alice.post(RECORDS, { data: { n: 2 } });
    const changes = (await world.alice.get(CHANGESET)).json().changes;
    expect(changes[0].n).toBe(2);
    expect((await world.alice.get(`${CHANGESET}&_limit=1`)).json().changes).toHaveLength(1);
  });

  it('requires read permission on the collection', async () => {
    const other = client(world.app, basic('some-user'));
    expect((await world.anonymous.get(CHANGESET)).statusCode).toBe(401);
    expect((await other.get(CHANGESET)).statusCode).toBe(403);
    await world.alice.patch('/buckets/blocklists', { permissions: { read: ['system.Everyone'] } });
    expect((await other.get(CHANGESET)).statusCode).toBe(200);
    expect((await world.anonymous.get(CHANGESET)).statusCode).toBe(200);
  });

  it('answers 404 for an unknown collection without creating its timestamp', async () => {
    const response = await world.alice.get('/buckets/blocklists/collections/fjuvrb/changeset?_expected=42');
    expect(response.statusCode).toBe(404);
    expect(response.json().errno).toBe(111);
    const monitored = await world.app.kinto.storage.resourceTimestamps('record', '/buckets/blocklists/collections/fjuvrb');
    expect(monitored).toEqual([]);
  });

  it('validates the querystring', async () => {
    const status = async (query: string) => (await world.alice.get(`${CHANGESET}${query}`)).statusCode;
    expect(await status('&_since=abc')).toBe(400);
    expect(await status('&_since=42')).toBe(200);
    expect(await status('&_since=42%22')).toBe(400);
    expect(await status('&_since=%2242%22')).toBe(200);
    expect(await status('&_since="42"%0A')).toBe(400);
    expect(await status('&_since="9999999999999999999"')).toBe(400);
    expect(await status('&_since="116137514678616060"')).toBe(400);
    expect(await status('&_since=*)(!(objectClass=*)')).toBe(400);
    expect(await status('&_since="4102444800000"')).toBe(200);
    expect(await status('&_limit=-1')).toBe(400);
    expect(await status(`&_limit=${2n ** 65n}`)).toBe(400);
    expect(await status('&_extra=abc')).toBe(200);
    const missing = await world.alice.get(CHANGESET.split('?')[0]);
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ errno: 107, message: '_expected in querystring: Required' });
    const invalid = (await world.alice.get(`${CHANGESET}&_since=abc`)).json();
    expect(invalid.message).toBe('_since in querystring: The value should be integer, optionally between double quotes.');
  });

  it('bounds `_limit` by the storage maximum fetch size', async () => {
    const list = vi.spyOn(world.app.kinto.storage, 'list');
    await world.alice.get(`${CHANGESET}&_limit=42000`);
    expect(list.mock.calls[0][2]?.limit).toBe(10000);
  });

  it('picks the cache lifetime from `_expected`', async () => {
    const cacheControl = async (url: string) => (await world.alice.get(url)).headers['cache-control'];
    const base = '/buckets/blocklists/collections/certificates/changeset';
    expect(await cacheControl(`${base}?_expected=1773913097658`)).toBe('max-age=3600');
    expect(await cacheControl(`${base}?_expected=0`)).toBe('max-age=42');
    expect(await cacheControl(`${base}?_expected=99999996565`)).toBe('max-age=42');
    await createCollection(world.alice, 'main', 'cfr');
    expect(await cacheControl('/buckets/main/collections/cfr/changeset?_expected=0')).toBe('max-age=360');
    await createCollection(world.alice, 'blocklists', 'addons');
    expect(await cacheControl('/buckets/blocklists/collections/addons/changeset?_expected=0')).toBe('max-age=180');
  });

  it('honours a lifetime of 0 in the bucket and global fallbacks (expired, not unset)', async () => {
    const base = '/buckets/blocklists/collections/certificates/changeset?_expected=0';
    const expired = 'max-age=0, must-revalidate, no-cache, no-store';
    const bucketZero = await changesWorld({ 'kinto.blocklists.record_cache_expires_seconds': '0', 'kinto.record_cache_expires_seconds': '180' });
    try {
      const response = await bucketZero.alice.get(base);
      expect(response.headers['cache-control']).toBe(expired);
      expect(response.headers.expires).toBeDefined();
      await createCollection(bucketZero.alice, 'main', 'cfr');
      expect((await bucketZero.alice.get('/buckets/main/collections/cfr/changeset?_expected=0')).headers['cache-control']).toBe('max-age=180');
    } finally {
      await bucketZero.app.close();
    }
    const globalZero = await changesWorld({ 'kinto.record_cache_expires_seconds': '0' });
    try {
      expect((await globalZero.alice.get(base)).headers['cache-control']).toBe(expired);
    } finally {
      await globalZero.app.close();
    }
  });

  it('answers 503 on backend errors and 409 when records change during the read', async () => {
    const { BackendError } = await import('../../../core/storage/types.ts');
    const spy = vi.spyOn(world.app.kinto.storage, 'get').mockRejectedValueOnce(new BackendError('down'));
    expect((await world.alice.get(CHANGESET)).statusCode).toBe(503);
    spy.mockRestore();
    const storage = world.app.kinto.storage;
    const list = storage.list.bind(storage);
    vi.spyOn(storage, 'list').mockImplementationOnce(async (...args) => {
      const found = await list(...args);
      await storage.create('record', '/buckets/blocklists/collections/certificates', { id: 'sneaky' });
      return found;
    });
    const conflict = await world.alice.get(CHANGESET);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ errno: 122, message: 'Integrity constraint violated, please retry.' });
    expect(conflict.headers['retry-after']).toBe('3');
  });

  it('is never a 304 and refuses writes', async () => {
    const response = await world.alice.get(CHANGESET, { 'if-none-match': '"42"' });
    expect(response.statusCode).toBe(200);
    expect((await world.alice.post(CHANGESET, {})).statusCode).toBe(405);
  });
});

describe('monitor changeset', () => {
  let world: ChangesWorld;
  beforeEach(async () => {
    world = await changesWorld({ 'kinto.changes.since_max_age_days': '1' });
    await createCollection(world.alice, 'blocklists', 'cfr');
    await world.alice.post('/buckets/blocklists/collections/cfr/records', { data: {} });
    await sleep(5);
    await world.alice.post(RECORDS, { data: {} });
  });
  afterEach(() => world.app.close());

  it('lists watched collections newest first, publicly, with the newest timestamp', async () => {
    const etag = (await world.alice.head(RECORDS)).headers.etag as string;
    const response = await world.anonymous.get(MONITOR);
    const body = response.json();
    expect(body.metadata).toEqual({ bucket: 'monitor' });
    expect(body.timestamp).toBe(Number(etag.slice(1, -1)));
    expect(body.changes.map((c: { collection: string }) => c.collection)).toEqual(['certificates', 'cfr']);
    await world.alice.post('/buckets/blocklists/collections/cfr/records', { data: {} });
    expect((await world.anonymous.get(MONITOR)).json().changes[0].collection).toBe('cfr');
  });

  it('supports `_limit`, `_since` and the bucket/collection filters', async () => {
    expect((await world.anonymous.get(`${MONITOR}&_limit=1`)).json().changes).toHaveLength(1);
    const filtered = (await world.anonymous.get(`${MONITOR}&bucket=blocklists&collection=cfr`)).json().changes;
    expect(filtered.map((c: { collection: string }) => c.collection)).toEqual(['cfr']);
    const timestamp = (await world.anonymous.get(MONITOR)).json().timestamp;
    const monitor = '/buckets/monitor/collections/changes/changeset';
    const upToDate = await world.anonymous.get(`${monitor}?_expected=${timestamp}&_since=${timestamp}`);
    expect(upToDate.statusCode).toBe(200);
    expect(upToDate.json().changes).toEqual([]);
    const older = await world.anonymous.get(`${monitor}?_expected=${timestamp}&_since=${timestamp - 1}`);
    expect(older.json().changes.map((c: { collection: string }) => c.collection)).toEqual(['certificates']);
  });

  it('redirects old `_since` values, answers 204 when `_expected` is older than `_since`', async () => {
    const redirect = await world.anonymous.get(`${MONITOR}&_since="42"`);
    expect(redirect.statusCode).toBe(307);
    expect(redirect.headers.location).toBe(
      'https://www.kinto-storage.org/v1/buckets/monitor/collections/changes/changeset?_expected=42',
    );
    const stale = await world.anonymous.get(`${MONITOR}&_since="43"`);
    expect(stale.statusCode).toBe(204);
    expect(stale.headers['cache-control']).toBe('max-age=86400');
  });

  it('redirects a quoted `_expected` to its plain form', async () => {
    const app = await changesWorld({ 'kinto.changes.http_host': 'cdn-host' });
    for (const value of ['%2242%22', '42%22', '%2242']) {
      const response = await app.anonymous.get(`/buckets/monitor/collections/changes/changeset?_expected=${value}`);
      expect(response.statusCode).toBe(307);
      expect(response.headers.location).toBe('https://cdn-host/v1/buckets/monitor/collections/changes/changeset?_expected=42');
    }
    await app.app.close();
  });

  it('reads storage once per poll, outside any transaction', async () => {
    const storage = world.app.kinto.storage;
    const spies = [vi.spyOn(storage, 'resourceTimestamps'), vi.spyOn(storage, 'begin'), vi.spyOn(storage, 'list'), vi.spyOn(storage, 'get')];
    expect((await world.anonymous.get(MONITOR)).statusCode).toBe(200);
    expect(spies.map((spy) => spy.mock.calls.length)).toEqual([1, 0, 0, 0]);
  });
});
