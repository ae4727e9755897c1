import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import { migrateBackends } from '../../../core/backends.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { ALICE, BASE_INI, client, makeApp } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/databases.ts';
import { runKinto } from '../../../test/helpers/processes.ts';
import { readBucketInfo, readCollectionInfo } from '../counters.ts';
import { jsonSize } from '../size.ts';

let app: FastifyInstance;
afterEach(() => app?.close());

const WITH_QUOTAS = 'kinto.includes = kinto.plugins.quotas\n';
const RECORDS = '/buckets/b/collections/c/records';

async function withData(extra = '') {
  app = await makeApp(`${WITH_QUOTAS}${extra}`);
  const alice = client(app, ALICE);
  await alice.put('/buckets/b');
  await alice.put('/buckets/b/collections/c');
  return alice;
}

async function usage() {
  return {
    bucket: await readBucketInfo(app.kinto.storage, 'b'),
    collection: await readCollectionInfo(app.kinto.storage, 'b', 'c'),
  };
}

/** What Kinto counts for an object: its stored form, as Python serialises it. */
async function storedSize(resource: string, parentId: string, id: string): Promise<number> {
  const object = await app.kinto.storage.get(resource, parentId, id);
  return jsonSize(object!);
}

describe('object sizes', () => {
  it("are the length of Python's json.dumps(sort_keys, compact separators, ASCII)", () => {
    // Lengths printed by CPython 3 for the same values.
    expect(jsonSize({ id: 'r', last_modified: 123, title: 'é' })).toBe(47);
    expect(jsonSize({ a: [1, 2.5, null, true, false, {}], b: 'x"\\\n\u0001\u007f😀' })).toBe(70);
    expect([[], {}, 1e-5, 1.5e300, 0.1, -3].map((v) => jsonSize(v))).toEqual([2, 2, 5, 8, 3, 2]);
  });
});

describe('quotas', () => {
  it('advertises its capability', async () => {
    app = await makeApp(WITH_QUOTAS);
    expect((await client(app).get('/')).json().capabilities.quotas).toEqual({
      description: 'Quotas Management on buckets and collections.',
      url: 'https://kinto.readthedocs.io',
    });
  });

  it('count the bucket, its groups, collections and records, and follow updates and deletions', async () => {
    const alice = await withData();
    await alice.put('/buckets/b/groups/g', { data: { members: ['x'] } });
    await alice.put(`${RECORDS}/r1`, { data: { title: 'one' } });
    await alice.put(`${RECORDS}/r2`, { data: { title: 'two é' } });
    const sizes = async () => ({
      bucket: await storedSize('bucket', '', 'b'),
      group: await storedSize('group', '/buckets/b', 'g'),
      collection: await storedSize('collection', '/buckets/b', 'c'),
      r1: await storedSize('record', '/buckets/b/collections/c', 'r1'),
      r2: await storedSize('record', '/buckets/b/collections/c', 'r2'),
    });
    const s = await sizes();
    expect(await usage()).toEqual({
      bucket: { collection_count: 1, record_count: 2, storage_size: s.bucket + s.group + s.collection + s.r1 + s.r2 },
      collection: { record_count: 2, storage_size: s.collection + s.r1 + s.r2 },
    });
    await alice.patch(`${RECORDS}/r1`, { data: { title: 'a much longer title than before' } });
    await alice.delete(`${RECORDS}/r2`);
    const r1 = await storedSize('record', '/buckets/b/collections/c', 'r1');
    expect(r1).toBeGreaterThan(s.r1);
    expect(await usage()).toEqual({
      bucket: { collection_count: 1, record_count: 1, storage_size: s.bucket + s.group + s.collection + r1 },
      collection: { record_count: 1, storage_size: s.collection + r1 },
    });
  });

  it('count a batch and a plural DELETE, and recount the bucket when a collection goes', async () => {
    const alice = await withData();
    await alice.put('/buckets/b/collections/d');
    const requests = Array.from({ length: 5 }, (_, i) => ({ method: 'PUT', path: `${RECORDS}/r${i}`, body: { data: { i } } }));
    requests.push({ method: 'PUT', path: '/buckets/b/collections/d/records/x', body: { data: { i: 9 } } });
    expect((await alice.post('/batch', { requests })).statusCode).toBe(200);
    expect((await usage()).collection.record_count).toBe(5);
    expect((await usage()).bucket).toMatchObject({ collection_count: 2, record_count: 6 });
    await alice.delete(`${RECORDS}?i=1`);
    expect((await usage()).collection.record_count).toBe(4);
    await alice.delete('/buckets/b/collections/c');
    const bucket = await storedSize('bucket', '', 'b');
    const d = await storedSize('collection', '/buckets/b', 'd');
    const x = await storedSize('record', '/buckets/b/collections/d', 'x');
    expect((await usage()).bucket).toEqual({ collection_count: 1, record_count: 1, storage_size: bucket + d + x });
  });

  it('refuse a record beyond a collection limit with a 507, and keep nothing of the request', async () => {
    const alice = await withData('kinto.quotas.collection_max_items = 2\n');
    await alice.put(`${RECORDS}/r1`, { data: {} });
    await alice.put(`${RECORDS}/r2`, { data: {} });
    const refused = await alice.put(`${RECORDS}/r3`, { data: {} });
    expect(refused.statusCode).toBe(507);
    expect(refused.json()).toEqual({
      code: 507,
      errno: 121,
      error: 'Insufficient Storage',
      message: 'Collection maximum number of objects exceeded (3 > 2 objects).',
    });
    expect((await alice.get(`${RECORDS}/r3`)).statusCode).toBe(404);
    expect((await usage()).collection.record_count).toBe(2);
    const batch = await alice.post('/batch', {
      requests: [
        { method: 'DELETE', path: `${RECORDS}/r1` },
        { method: 'PUT', path: `${RECORDS}/r4`, body: { data: {} } },
        { method: 'PUT', path: `${RECORDS}/r5`, body: { data: {} } },
      ],
    });
    expect(batch.statusCode).toBe(507);
    expect((await alice.get(`${RECORDS}/r1`)).statusCode).toBe(200);
  });

  it('apply the most specific limit: collection of a bucket, then bucket-wide, then global', async () => {
    const alice = await withData(
      'kinto.quotas.collection_max_items = 1\nkinto.quotas.collection_b_max_items = 3\nkinto.quotas.collection_b_c_max_items = 2\n',
    );
    await alice.put('/buckets/b/collections/other');
    for (const id of ['1', '2']) expect((await alice.put(`${RECORDS}/${id}`, { data: {} })).statusCode).toBe(201);
    expect((await alice.put(`${RECORDS}/3`, { data: {} })).statusCode).toBe(507);
    for (const id of ['1', '2', '3']) expect((await alice.put(`/buckets/b/collections/other/records/${id}`, { data: {} })).statusCode).toBe(201);
    expect((await alice.put('/buckets/b/collections/other/records/4', { data: {} })).statusCode).toBe(507);
    await alice.put('/buckets/z');
    await alice.put('/buckets/z/collections/c');
    expect((await alice.put('/buckets/z/collections/c/records/1', { data: {} })).statusCode).toBe(201);
    expect((await alice.put('/buckets/z/collections/c/records/2', { data: {} })).statusCode).toBe(507);
  });

  it('refuse a bucket over its total size, and an object over the size per item', async () => {
    const alice = await withData('kinto.quotas.bucket_b_max_bytes = 900\nkinto.quotas.collection_max_bytes_per_item = 200\n');
    const big = await alice.put(`${RECORDS}/big`, { data: { text: 'x'.repeat(250) } });
    expect(big.statusCode).toBe(507);
    expect(big.json().message).toMatch(/^Maximum bytes per object exceeded " "\(\d+ > 200 Bytes\.$/);
    let status = 201;
    let i = 0;
    while (status === 201 && i < 20) status = (await alice.put(`${RECORDS}/r${i++}`, { data: { text: 'y'.repeat(100) } })).statusCode;
    expect(status).toBe(507);
    const { bucket } = await usage();
    expect(bucket.storage_size).toBeLessThanOrEqual(900);
    const last = await alice.put(`${RECORDS}/again`, { data: { text: 'y'.repeat(100) } });
    expect(last.json().message).toMatch(/^Bucket maximum total size exceeded \(\d+ > 900 Bytes\)\. $/);
    // Deleting always goes through, even over a limit lowered since.
    expect((await alice.delete(`${RECORDS}/r0`)).statusCode).toBe(200);
  });

  it('refuses a limit that is not a non-negative integer at start-up', async () => {
    await expect(makeApp(`${WITH_QUOTAS}kinto.quotas.bucket_b_max_items = lots\n`)).rejects.toThrow(/quotas\.bucket_b_max_items/);
  });
});

describe('kinto rebuild-quotas', () => {
  it('recounts every bucket and collection from the stored objects; --dry-run only prints', { timeout: 120_000 }, async () => {
    const database = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'kinto-quotas-'));
    const iniPath = join(dir, 'kinto.ini');
    const backends = ['storage', 'permission', 'cache']
      .map((kind) => `kinto.${kind}_backend = kinto.core.${kind}.postgresql\nkinto.${kind}_url = ${database.url}`)
      .join('\n');
    writeFileSync(iniPath, `${BASE_INI.replace(/^kinto\.(storage|permission|cache)_backend.*\n/gm, '')}${backends}\n${WITH_QUOTAS}`);
    try {
      await migrateBackends(loadConfig({ iniPath, env: {} }).settings);
      const server = await buildApp(loadConfig({ iniPath, env: {} }));
      const alice = client(server, ALICE);
      await alice.put('/buckets/b');
      await alice.put('/buckets/b/collections/c');
      for (const id of ['r1', 'r2', 'r3']) await alice.put(`${RECORDS}/${id}`, { data: { id } });
      // Concurrent writers in two collections of one bucket: the bucket's counters lose none.
      await alice.put('/buckets/b/collections/d');
      const writes = Array.from({ length: 12 }, (_, i) => alice.put(`/buckets/b/collections/${i % 2 ? 'c' : 'd'}/records/w${i}`, { data: {} }));
      expect((await Promise.all(writes)).map((r) => r.statusCode)).toEqual(Array(12).fill(201));
      expect((await readBucketInfo(server.kinto.storage, 'b')).record_count).toBe(15);
      await alice.delete('/buckets/b/collections/d');
      await alice.delete(`${RECORDS}?id=w1`);
      for (let i = 3; i < 12; i += 2) await alice.delete(`${RECORDS}/w${i}`);
      const counted = {
        bucket: await readBucketInfo(server.kinto.storage, 'b'),
        collection: await readCollectionInfo(server.kinto.storage, 'b', 'c'),
      };
      await server.kinto.storage.update('quota', '/buckets/b', 'bucket_info', { collection_count: 7, record_count: 70, storage_size: 1 });
      await server.kinto.storage.update('quota', '/buckets/b/collections/c', 'collection_info', { record_count: 0, storage_size: 0 });
      const expectedLines = [
        `Bucket b, collection c. Final size: 3 records, ${counted.collection.storage_size} bytes.`,
        `Bucket b. Final size: 1 collections, 3 records, ${counted.bucket.storage_size} bytes.`,
      ];
      const dry = await runKinto(['rebuild-quotas', '--ini', iniPath, '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout.trim().split('\n')).toEqual(expectedLines);
      expect((await readBucketInfo(server.kinto.storage, 'b')).record_count).toBe(70);
      const rebuilt = await runKinto(['rebuild-quotas', '--ini', iniPath]);
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      expect(rebuilt.stdout.trim().split('\n')).toEqual(expectedLines);
      expect(await readBucketInfo(server.kinto.storage, 'b')).toEqual(counted.bucket);
      expect(await readCollectionInfo(server.kinto.storage, 'b', 'c')).toEqual(counted.collection);
      expect((await runKinto(['rebuild-quotas', '--ini', iniPath, '--force'])).code).toBe(2);
      await server.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
