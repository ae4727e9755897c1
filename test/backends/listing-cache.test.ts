/**
 * The listing cache (core/resource/listing-cache.ts) on PostgreSQL, with two nodes on one
 * database: an unchanged listing is served again without its statement, and any change made
 * on the other node, of any kind, is seen by the next listing (nothing to invalidate: the
 * list's version moves).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../core/app.ts';
import { migrateBackends } from '../../core/backends.ts';
import { Filter } from '../../core/filters/ast.ts';
import { ListingCache, listingKey } from '../../core/resource/listing-cache.ts';
import { loadConfig } from '../../core/settings/load.ts';
import type { Storage } from '../../core/storage/types.ts';
import { ALICE, BOB, client } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { postgresIni } from '../helpers/processes.ts';

interface Node {
  app: FastifyInstance;
  /** How many listings its storage has read (not served from its cache). */
  reads(): number;
  /** Makes each listing read that much slower (requests overlap). */
  slowDown(ms: number): void;
}

async function nodeOn(url: string, extra = ''): Promise<Node> {
  const app = await buildApp(loadConfig({ iniText: postgresIni(url, extra), env: {} }));
  await app.ready();
  let reads = 0;
  let delay = 0;
  const backend = app.kinto.storage;
  const begin = backend.begin.bind(backend);
  vi.spyOn(backend, 'begin').mockImplementation(async (options) => {
    const view = await begin(options);
    const listJson = view.listJson.bind(view);
    (view as Storage).listJson = async (...args) => {
      reads += 1;
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      return listJson(...args);
    };
    return view;
  });
  return { app, reads: () => reads, slowDown: (ms) => (delay = ms) };
}

const RECORDS = '/buckets/b/collections/c/records';
const QUERY = `${RECORDS}?_sort=-last_modified&_limit=5`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let one: Node;
let other: Node;
let off: Node;

beforeAll(async () => {
  database = await createTestDatabase();
  await migrateBackends(loadConfig({ iniText: postgresIni(database.url), env: {} }).settings);
  one = await nodeOn(database.url);
  other = await nodeOn(database.url);
  off = await nodeOn(database.url, 'kinto.listing_cache_max_size_bytes = 0');
  const alice = client(other.app, ALICE);
  await alice.put('/buckets/b', { permissions: { read: ['system.Authenticated'] } });
  await alice.put('/buckets/b/collections/c', {});
  for (let i = 0; i < 8; i++) await alice.put(`${RECORDS}/r${i}`, { data: { n: i } });
});

afterAll(async () => {
  for (const node of [one, other, off]) await node?.app.close();
  await database?.drop();
});

async function list(node: { app: FastifyInstance }, path = QUERY) {
  const response = await client(node.app, BOB).get(path);
  expect(response.statusCode).toBe(200);
  return { ids: (response.json().data as { id: string }[]).map((r) => r.id), etag: response.headers.etag, next: response.headers['next-page'] };
}

describe('the listing cache, two nodes on one PostgreSQL database', () => {
  it('serves an unchanged listing again without reading it', async () => {
    const first = await list(one);
    const before = one.reads();
    const again = await list(one);
    expect(one.reads()).toBe(before);
    expect(again.ids).toEqual(first.ids);
    expect(again.etag).toBe(first.etag);
    expect(again.next).toMatch(/_token=/);
  });

  it('sees every kind of change made on the other node at once', async () => {
    const alice = client(other.app, ALICE);
    const byTime = QUERY;
    const oldest = `${RECORDS}?_sort=last_modified&_limit=2`;
    const changes: [string, string, () => Promise<unknown>, (ids: string[]) => void][] = [
      ['a create', byTime, () => alice.put(`${RECORDS}/new`, { data: { n: 100 } }), (ids) => expect(ids[0]).toBe('new')],
      ['a delete', byTime, () => alice.delete(`${RECORDS}/new`), (ids) => expect(ids).not.toContain('new')],
      ['an update', byTime, () => alice.patch(`${RECORDS}/r3`, { data: { n: 33 } }), (ids) => expect(ids[0]).toBe('r3')],
      // A past client timestamp leaves the list timestamp (and the ETag) as it is.
      ['a create with a past timestamp', oldest, () => alice.put(`${RECORDS}/old`, { data: { last_modified: 1000 } }), (ids) => expect(ids[0]).toBe('old')],
    ];
    for (const [what, probe, change, check] of changes) {
      await list(one, probe);
      const { etag } = await list(one, probe);
      await change();
      const after = await list(one, probe);
      check(after.ids);
      if (what.includes('past')) expect(after.etag, what).toBe(etag);
    }
  });

  it('sees a tombstone purge in a listing with tombstones', async () => {
    const since = `${RECORDS}?_since=0&_sort=-last_modified`;
    await client(other.app, ALICE).delete(`${RECORDS}/r0`);
    expect((await list(one, since)).ids).toContain('r0');
    expect((await list(one, since)).ids).toContain('r0');
    await other.app.kinto.storage.purgeDeleted('record', '/buckets/b/collections/c');
    expect((await list(one, since)).ids).not.toContain('r0');
  });

  it('shares one read between concurrent requests of one listing', async () => {
    await client(other.app, ALICE).patch(`${RECORDS}/r4`, { data: { n: 44 } });
    const before = one.reads();
    one.slowDown(100);
    const pages = await Promise.all(Array.from({ length: 6 }, () => list(one))).finally(() => one.slowDown(0));
    expect(one.reads() - before).toBe(1);
    for (const page of pages) expect(page.ids).toEqual(pages[0].ids);
  });

  it('ends on what the database holds after listings race with writes on the other node', async () => {
    const alice = client(other.app, ALICE);
    const paths = [QUERY, `${RECORDS}?_sort=id`, `${RECORDS}?_since=0&_sort=-last_modified`, `${RECORDS}?has_n=true&_limit=3`];
    const writes = (async () => {
      for (let i = 0; i < 30; i++) {
        const id = `race${i % 7}`;
        if (i % 3 === 2) await alice.delete(`${RECORDS}/${id}`);
        else await alice.put(`${RECORDS}/${id}`, { data: { n: 1000 + i } });
      }
    })();
    const reads = Promise.all(
      Array.from({ length: 4 }, async (_, reader) => {
        for (let i = 0; i < 40; i++) await list(one, paths[(i + reader) % paths.length]);
      }),
    );
    await Promise.all([writes, reads]);
    for (const path of paths) {
      const cached = await client(one.app, BOB).get(path);
      const truth = await client(off.app, BOB).get(path);
      expect(cached.json(), path).toEqual(truth.json());
      expect(cached.headers.etag, path).toBe(truth.headers.etag);
    }
  });

  it('reads every listing when its budget is 0', async () => {
    const before = off.reads();
    await list(off);
    await list(off);
    expect(off.reads() - before).toBe(2);
  });

  it('keeps apart listings that read different objects', async () => {
    const byTime = await list(one, `${RECORDS}?_sort=-last_modified&_limit=3`);
    const byId = await list(one, `${RECORDS}?_sort=id&_limit=3`);
    const filtered = await list(one, `${RECORDS}?_sort=id&_limit=3&n=5`);
    expect(byTime.ids).not.toEqual(byId.ids);
    expect(filtered.ids).toEqual(['r5']);
    const next = await client(one.app, BOB).get(String(byId.next).replace(/^https?:\/\/[^/]+\/v1/, ''));
    expect((next.json().data as { id: string }[]).map((r) => r.id)).not.toEqual(byId.ids);
  });
});

describe('ListingCache', () => {
  it('keeps a keyset filter’s missing values apart from nulls', () => {
    const sort = [{ field: ['n'], direction: 1 }] as const;
    const missing = listingKey('record', '/p', { filters: [Filter.after(sort, [undefined])], sort });
    const nulls = listingKey('record', '/p', { filters: [Filter.after(sort, [null])], sort });
    expect(missing).not.toBeNull();
    expect(missing).not.toBe(nulls);
  });

  it('does not keep a listing whose key is huge', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `record-${i}`);
    expect(listingKey('record', '/p', { filters: [Filter.in(['id'], ids)], sort: [] })).toBeNull();
  });

  it('keeps no failed read, and reads again at another version', async () => {
    const cache = new ListingCache(1_000_000);
    await expect(cache.read('k', 'v1', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.read('k', 'v1', async () => ['{"a":1}'])).toEqual(['{"a":1}']);
    expect(await cache.read('k', 'v1', async () => ['not read'])).toEqual(['{"a":1}']);
    expect(await cache.read('k', 'v2', async () => ['{"a":2}'])).toEqual(['{"a":2}']);
  });

  it('keeps within its budget', async () => {
    const cache = new ListingCache(2000);
    const page = ['x'.repeat(200)];
    let reads = 0;
    const read = async () => {
      reads += 1;
      return page;
    };
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) await cache.read(key, 'v', read);
    await cache.read('a', 'v', read);
    expect(reads).toBe(7);
    await cache.read('f', 'v', read);
    expect(reads).toBe(7);
    // Larger than a quarter of the budget (texts counted twice): never kept.
    await cache.read('big', 'v', async () => ['y'.repeat(400)]);
    await cache.read('big', 'v', read);
    expect(reads).toBe(8);
  });
});
