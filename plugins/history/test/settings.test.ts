import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, basic, type Client } from '../../../test/helpers/app.ts';
import { basicUserId, client, entriesOf, historyApp, trimmed, userIdOf } from './helpers.ts';

let app: FastifyInstance;
let alice: Client;
afterEach(() => app?.close());

function countBy(entries: Record<string, any>[], key: (e: Record<string, any>) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of entries) counts[key(entry)] = (counts[key(entry)] ?? 0) + 1;
  return counts;
}

describe('history: exclusions', () => {
  const EXCLUDED = '/buckets/a /buckets/b/collections/a /buckets/b/collections/a/records/1 /buckets/b/groups/a';

  it('skips the excluded buckets, collections and objects, and advertises them', async () => {
    app = await historyApp(`kinto.history.exclude_resources = ${EXCLUDED}\n`);
    alice = client(app, ALICE);
    const group = { data: { members: [] } };
    await alice.put('/buckets/a');
    await alice.put('/buckets/a/groups/admins', group);
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/groups/a', group);
    await alice.put('/buckets/b/collections/a');
    await alice.put('/buckets/b/collections/a/records/1');
    await alice.put('/buckets/b/collections/b');
    await alice.put('/buckets/b/collections/b/records/1');
    expect(await entriesOf(alice, 'a')).toEqual([]);
    expect(await entriesOf(alice, 'b', '?collection_id=a')).toEqual([]);
    expect(await entriesOf(alice, 'b', '?group_id=a')).toEqual([]);
    expect((await entriesOf(alice, 'b')).map((e) => e.uri)).toEqual([
      '/buckets/b/collections/b/records/1',
      '/buckets/b/collections/b',
      '/buckets/b',
    ]);
    expect((await client(app).get('/')).json().capabilities.history.excluded_resources).toEqual([
      { bucket: 'a' },
      { bucket: 'b', collection: 'a' },
      { bucket: 'b', collection: 'a', record: '1' },
      { bucket: 'b', group: 'a' },
    ]);
  });

  it('refuses an exclusion that is not a bucket, collection, group or record URI', async () => {
    await expect(historyApp('kinto.history.exclude_resources = /buckets/a/collections\n')).rejects.toThrow(/exclude_resources/);
    app = await historyApp();
  });

  it('skips the changes of excluded users', async () => {
    app = await historyApp(`kinto.history.exclude_user_ids = ${basicUserId('joan')}\n`);
    alice = client(app, ALICE);
    await alice.put('/buckets/bid');
    await alice.put('/buckets/bid/collections/cid', { permissions: { write: ['system.Authenticated'] } });
    await alice.post('/buckets/bid/collections/cid/records', {});
    await client(app, basic('joan')).post('/buckets/bid/collections/cid/records', {});
    const entries = await entriesOf(alice, 'bid');
    expect(entries).toHaveLength(3);
    expect(new Set(entries.map((e) => e.user_id))).toEqual(new Set([await userIdOf(alice)]));
  });
});

describe('history: trimming in the background', () => {
  it('keeps the newest entries per bucket and resource type', async () => {
    app = await historyApp('kinto.history.auto_trim_max_count = 5\nkinto.history.auto_trim_threshold = 0\n');
    alice = client(app, ALICE);
    for (let i = 0; i < 10; i += 1) {
      await alice.put('/buckets/bid', { data: { i } });
      await alice.put(`/buckets/bid/collections/cid-${i}`);
    }
    await trimmed(app);
    expect(countBy(await entriesOf(alice, 'bid'), (e) => e.uri)).toEqual({
      '/buckets/bid': 5,
      '/buckets/bid/collections/cid-5': 1,
      '/buckets/bid/collections/cid-6': 1,
      '/buckets/bid/collections/cid-7': 1,
      '/buckets/bid/collections/cid-8': 1,
      '/buckets/bid/collections/cid-9': 1,
    });
    // Trimmed entries leave neither tombstones nor permissions behind.
    expect(await app.kinto.storage.count('history', '/buckets/bid', [], { includeDeleted: true })).toBe(10);
    const aces = await app.kinto.permission.getAccessibleObjects([await userIdOf(alice)], [['/buckets/bid/history/*', 'read']]);
    expect(aces.size).toBe(10);
    expect((await client(app).get('/')).json().capabilities.history.auto_trim_max_count).toBe(5);
  });

  it('lets entries pile up to the threshold before trimming', async () => {
    app = await historyApp('kinto.history.auto_trim_max_count = 3\nkinto.history.auto_trim_threshold = 4\n');
    alice = client(app, ALICE);
    await alice.put('/buckets/bid');
    for (let i = 0; i < 6; i += 1) await alice.post('/buckets/bid/collections', {});
    await trimmed(app);
    expect(await entriesOf(alice, 'bid', '?resource_name=collection')).toHaveLength(6);
    for (let i = 0; i < 2; i += 1) await alice.post('/buckets/bid/collections', {});
    await trimmed(app);
    expect(await entriesOf(alice, 'bid', '?resource_name=collection')).toHaveLength(3);
  });

  it('trims only the listed users, each separately, per resource type', async () => {
    const joanId = basicUserId('joan');
    app = await historyApp(
      `kinto.history.auto_trim_user_ids = ${joanId}\nkinto.history.auto_trim_max_count = 5\nkinto.history.auto_trim_threshold = 0\n`,
    );
    alice = client(app, ALICE);
    const joan = client(app, basic('joan'));
    await alice.put('/buckets/bid', { permissions: { write: ['system.Authenticated'] } });
    await alice.put('/buckets/bid/collections/cid');
    for (const user of [alice, joan]) {
      for (let i = 0; i < 10; i += 1) await user.patch('/buckets/bid/collections/cid', { data: { attr: i } });
      for (let i = 0; i < 10; i += 1) await user.put(`/buckets/bid/groups/${user === alice ? 'a' : 'j'}-${i}`);
    }
    await trimmed(app);
    const entries = await entriesOf(alice, 'bid');
    const joans = countBy(entries.filter((e) => e.user_id === joanId), (e) => e.resource_name);
    expect(joans).toEqual({ collection: 5, group: 5 });
    const alices = countBy(entries.filter((e) => e.user_id !== joanId), (e) => e.resource_name);
    expect(alices).toEqual({ bucket: 1, collection: 11, group: 10 });
    expect((await client(app).get('/')).json().capabilities.history.auto_trim_user_ids).toEqual([joanId]);
  });

  it('trims a large backlog in short transactions', async () => {
    app = await historyApp('kinto.history.auto_trim_max_count = 10\nkinto.history.auto_trim_threshold = 0\n');
    alice = client(app, ALICE);
    const storage = app.kinto.storage;
    const backlog = await storage.begin();
    for (let i = 0; i < 1200; i += 1) {
      await backlog.create('history', '/buckets/bid', { id: `old-${i}`, resource_name: 'bucket', action: 'update', uri: '/buckets/bid' });
    }
    await backlog.commit();
    const chunks: number[] = [];
    const begin = storage.begin.bind(storage);
    storage.begin = async (options) => {
      const transaction = await begin(options);
      const deleteAll = transaction.deleteAll.bind(transaction);
      transaction.deleteAll = async (resource, ...rest) => {
        const deleted = await deleteAll(resource, ...rest);
        if (resource === 'history') chunks.push(deleted.length);
        return deleted;
      };
      return transaction;
    };
    await alice.put('/buckets/bid', { data: { last: true } });
    await trimmed(app);
    const kept = await entriesOf(alice, 'bid');
    expect(kept).toHaveLength(10);
    expect(kept[0].target.data.last).toBe(true);
    expect(chunks).toEqual([500, 500, 191]);
  });

  it('is not part of the write: a failing trim leaves the write committed', async () => {
    app = await historyApp('kinto.history.auto_trim_max_count = 1\nkinto.history.auto_trim_threshold = 0\n');
    alice = client(app, ALICE);
    const storage = app.kinto.storage;
    const count = storage.count.bind(storage);
    storage.count = async (resource, ...rest) => {
      if (resource === 'history') throw new Error('trimming is down');
      return count(resource, ...rest);
    };
    await alice.put('/buckets/bid');
    const response = await alice.put('/buckets/bid', { data: { v: 2 } });
    expect(response.statusCode).toBe(200);
    await trimmed(app);
    expect(await entriesOf(alice, 'bid')).toHaveLength(2);
    storage.count = count;
    await alice.put('/buckets/bid', { data: { v: 3 } });
    await trimmed(app);
    expect((await entriesOf(alice, 'bid')).map((e) => e.target.data.v)).toEqual([3]);
  });
});
