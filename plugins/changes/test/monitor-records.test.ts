import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, client } from '../../../test/helpers/app.ts';
import { changesWorld, createCollection, sleep, type ChangesWorld } from './helpers.ts';

const CHANGES = '/buckets/monitor/collections/changes/records';
const RECORDS = '/buckets/blocklists/collections/certificates/records';
const HOUR_AGO = Date.now() - 3600 * 1000;

describe('monitor/changes records', () => {
  let world: ChangesWorld;
  beforeEach(async () => {
    world = await changesWorld();
    await world.alice.post(RECORDS, { data: { 'dev-edition': true } });
  });
  afterEach(() => world.app.close());

  it('lists one entry per watched collection, publicly', async () => {
    const response = await world.anonymous.get(CHANGES);
    expect(response.statusCode).toBe(200);
    const [entry] = response.json().data;
    const head = await world.alice.head(RECORDS);
    expect(entry).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      last_modified: Number(head.headers.etag!.toString().slice(1, -1)),
      bucket: 'blocklists',
      collection: 'certificates',
      host: 'www.kinto-storage.org',
    });
    expect(response.headers.etag).toBe(`"${entry.last_modified}"`);
  });

  it('uses the md5 of host and collection URI as a stable id', async () => {
    const { createHash } = await import('node:crypto');
    const hex = createHash('md5').update('www.kinto-storage.org/buckets/blocklists/collections/certificates').digest('hex');
    const [entry] = (await world.anonymous.get(CHANGES)).json().data;
    expect(entry.id.replaceAll('-', '')).toBe(hex);
  });

  it('bumps the entry timestamp on each change, keeping its id', async () => {
    const [before] = (await world.anonymous.get(CHANGES)).json().data;
    await world.alice.post(RECORDS, { data: { n: 2 } });
    const [after] = (await world.anonymous.get(CHANGES)).json().data;
    expect(after.id).toBe(before.id);
    expect(after.last_modified).toBeGreaterThan(before.last_modified);
  });

  it('ignores unwatched and excluded collections', async () => {
    await createCollection(world.alice, 'other', 'not-monitored');
    await world.alice.post('/buckets/other/collections/not-monitored/records', { data: {} });
    await createCollection(world.alice, 'blocklists', 'excluded');
    await world.alice.post('/buckets/blocklists/collections/excluded/records', { data: {} });
    const entries = (await world.anonymous.get(CHANGES)).json().data;
    expect(entries.map((e: { collection: string }) => e.collection)).toEqual(['certificates']);
  });

  it('works whether or not the monitor bucket exists, and refuses writes', async () => {
    await world.alice.put('/buckets/monitor', {});
    expect((await world.anonymous.get(CHANGES)).json().data).toHaveLength(1);
    expect((await world.alice.post(CHANGES, { data: {} })).statusCode).toBe(405);
    expect((await world.alice.delete(CHANGES)).statusCode).toBe(405);
  });

  it('answers 200 with no data instead of 304', async () => {
    const etag = (await world.anonymous.get(CHANGES)).headers.etag as string;
    const since = await world.anonymous.get(`${CHANGES}?_since=${etag}`);
    expect(since.statusCode).toBe(200);
    expect(since.json().data).toEqual([]);
    const conditional = await world.anonymous.get(CHANGES, { 'if-none-match': etag });
    expect(conditional.statusCode).toBe(200);
    expect(conditional.json().data).toEqual([]);
    expect(conditional.headers.etag).toBe(etag);
  });

  it('answers 412 to If-None-Match: *', async () => {
    const response = await world.anonymous.get(CHANGES, { 'if-none-match': '*' });
    expect(response.statusCode).toBe(412);
    expect(response.json().errno).toBe(114);
  });

  it('filters, sorts and paginates like a records list', async () => {
    await createCollection(world.alice, 'blocklists', 'addons');
    await sleep(2);
    await world.alice.post('/buckets/blocklists/collections/addons/records', { data: {} });
    const all = (await world.anonymous.get(`${CHANGES}?_sort=collection`)).json().data;
    expect(all.map((e: { collection: string }) => e.collection)).toEqual(['addons', 'certificates']);
    const filtered = (await world.anonymous.get(`${CHANGES}?collection=addons`)).json().data;
    expect(filtered).toHaveLength(1);
    const first = await world.anonymous.get(`${CHANGES}?_limit=1`);
    expect(first.json().data[0].collection).toBe('addons');
    const next = new URL(first.headers['next-page'] as string);
    const second = await world.anonymous.get(`${next.pathname}${next.search}`);
    expect(second.json().data.map((e: { collection: string }) => e.collection)).toEqual(['certificates']);
    expect(second.headers['next-page']).toBeUndefined();
    const unknown = await world.anonymous.get(`${CHANGES}?unknown_field=1`);
    expect(unknown.statusCode).toBe(400);
  });

  it('counts entries on HEAD', async () => {
    const response = await world.anonymous.head(CHANGES);
    expect(response.statusCode).toBe(200);
    expect(response.headers['total-objects']).toBe('1');
    expect(response.body).toBe('');
  });

  it('sends no cache lifetime unless configured', async () => {
    const response = await world.anonymous.get(`${CHANGES}?_expected="42"`);
    expect(response.headers['cache-control']).toBe('no-cache, no-store');
  });
});

describe('monitor/changes settings', () => {
  it('is empty when nothing is watched, and advertises its capability', async () => {
    const app = await makeApp('kinto.includes = changes\n');
    const anonymous = client(app);
    expect((await anonymous.get(CHANGES)).json().data).toEqual([]);
    const hello = (await anonymous.get('/')).json();
    expect(hello.capabilities.changes).toEqual({
      description: 'Track modifications of records in Kinto and store the collection timestamps into a specific bucket and collection.',
      url: 'http://kinto.readthedocs.io/en/latest/tutorials/synchronisation.html#polling-for-remote-changes',
      version: expect.any(String),
      collections: [],
    });
    await app.close();
  });

  it('accepts a collection URI as a watched resource', async () => {
    const world = await changesWorld({ 'kinto.changes.resources': '/buckets/blocklists/collections/certificates' });
    await createCollection(world.alice, 'blocklists', 'addons');
    await world.alice.post('/buckets/blocklists/collections/addons/records', { data: {} });
    await world.alice.post(RECORDS, { data: {} });
    const entries = (await world.anonymous.get(CHANGES)).json().data;
    expect(entries.map((e: { collection: string }) => e.collection)).toEqual(['certificates']);
    await world.app.close();
  });

  it('caches by `_expected` and `_since`', async () => {
    const world = await changesWorld({
      'kinto.monitor.changes.record_cache_expires_seconds': '60',
      'kinto.monitor.changes.record_cache_maximum_expires_seconds': '3600',
    });
    expect((await world.anonymous.get(CHANGES)).headers['cache-control']).toBe('max-age=60');
    const busted = await world.anonymous.get(`${CHANGES}?_since=${HOUR_AGO}&_expected=${HOUR_AGO + 1}`);
    expect(busted.headers['cache-control']).toBe('max-age=3600');
    expect((await world.anonymous.get(`${CHANGES}?_since=${HOUR_AGO}`)).headers['cache-control']).toBe('max-age=60');
    await world.app.close();
  });

  it('redirects old `_since` values and answers 204 to clients going back in time', async () => {
    const world = await changesWorld({ 'kinto.changes.since_max_age_days': '2', 'kinto.changes.http_host': 'cdn-host' });
    const redirect = await world.anonymous.get(`${CHANGES}?_since=42`);
    expect(redirect.statusCode).toBe(307);
    expect(redirect.headers.location).toBe('https://cdn-host/v1/buckets/monitor/collections/changes/records');
    expect(redirect.headers['cache-control']).toBe('max-age=86400');
    expect(redirect.headers.expires).toBeDefined();
    const threeDaysAgo = Date.now() - 3 * 24 * 3600 * 1000;
    expect((await world.anonymous.get(`${CHANGES}?_since=${threeDaysAgo}`)).statusCode).toBe(307);
    const kept = await world.anonymous.get(`${CHANGES}?_since=42&_foo=%22123456%22`);
    expect(kept.headers.location).toContain('/records?_foo=%22123456%22');
    expect((await world.anonymous.get(`${CHANGES}?_since=42&_expected=1`)).statusCode).toBe(204);
    const yesterday = Date.now() - 24 * 3600 * 1000;
    expect((await world.anonymous.get(`${CHANGES}?_since=${yesterday}`)).statusCode).toBe(200);
    await world.app.close();
  });
});
