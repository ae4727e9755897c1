import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { basic, type Client } from '../../../test/helpers/app.ts';
import { expectError } from '../../../test/helpers/protocol.ts';
import { client, entriesOf, historyApp, userIdOf } from './helpers.ts';

let app: FastifyInstance;
afterEach(() => app.close());

describe('history: who can read which entries', () => {
  let author: Client;
  let bucketReader: Client;
  let collectionReader: Client;
  let recordWriter: Client;

  async function populate(): Promise<void> {
    author = client(app, basic('author'));
    bucketReader = client(app, basic('reader'));
    collectionReader = client(app, basic('julia'));
    recordWriter = client(app, basic('bob'));
    const [reader, julia, bob] = await Promise.all([bucketReader, collectionReader, recordWriter].map(userIdOf));
    await author.put('/buckets/author-only');
    await author.put('/buckets/test', { permissions: { read: [reader] } });
    await author.put('/buckets/test/groups/admins', { data: { members: [] } });
    await author.put('/buckets/test/collections/alice-julia', { permissions: { read: [julia] } });
    await author.put('/buckets/test/collections/author-only');
    await author.post('/buckets/test/collections/alice-julia/records', { permissions: { write: [bob, reader] } });
    await author.post('/buckets/test/collections/alice-julia/records', { permissions: { read: ['system.Authenticated'] } });
  }

  beforeEach(async () => {
    app = await historyApp();
    await populate();
  });

  it('the author and the bucket readers see everything', async () => {
    expect(await entriesOf(author, 'test')).toHaveLength(6);
    expect(await entriesOf(bucketReader, 'test')).toHaveLength(6);
    expectError(await bucketReader.get('/buckets/author-only/history'), 403, 121);
  });

  it('a collection reader sees only the entries of that collection', async () => {
    const entries = await entriesOf(collectionReader, 'test');
    expect(entries.map((e) => e.resource_name)).toEqual(['record', 'record', 'collection']);
    expect(entries.every((e) => e.uri.startsWith('/buckets/test/collections/alice-julia'))).toBe(true);
  });

  it('a record writer sees that record, and what every authenticated user may read', async () => {
    const bob = await userIdOf(recordWriter);
    const [shared, own] = await entriesOf(recordWriter, 'test');
    expect(shared.target.permissions.read).toContain('system.Authenticated');
    expect(own.target.permissions.write).toContain(bob);
    expect(await entriesOf(recordWriter, 'test')).toHaveLength(2);
    const [onlyPublic] = await entriesOf(client(app, basic('jack')), 'test', '?_limit=10');
    expect(onlyPublic.target.permissions.read).toContain('system.Authenticated');
    expect(await entriesOf(client(app, basic('jack')), 'test')).toHaveLength(1);
  });

  it('filters and counts only what the caller may see', async () => {
    const head = await collectionReader.head('/buckets/test/history?resource_name=record');
    expect(head.headers['total-objects']).toBe('2');
    expect(await entriesOf(collectionReader, 'test', '?resource_name=group')).toEqual([]);
  });

  it('entries keep the readers of their time: a removed reader sees the past, not the new changes', async () => {
    await author.patch('/buckets/test', { permissions: { read: [] } });
    await author.put('/buckets/test/collections/new-one');
    const seen = (await entriesOf(bucketReader, 'test')).map((e) => e.uri);
    expect(seen).toHaveLength(6);
    expect(seen).not.toContain('/buckets/test/collections/new-one');
    expect((await entriesOf(author, 'test'))[0].uri).toBe('/buckets/test/collections/new-one');
  });

  it('entries are not listed by the permissions endpoint', async () => {
    const listed = (await author.get('/permissions')).json().data as { resource_name: string }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.some((e) => e.resource_name === 'history')).toBe(false);
  });
});

describe('history: permission settings', () => {
  it('history_read_principals opens every history', async () => {
    app = await historyApp('kinto.history_read_principals = system.Everyone\n');
    await client(app, basic('author')).put('/buckets/test');
    expect(await entriesOf(client(app), 'test')).toHaveLength(1);
  });

  it('without explicit permissions, entries are readable through the bucket', async () => {
    app = await historyApp('kinto.explicit_permissions = false\n');
    const author = client(app, basic('author'));
    await author.put('/buckets/test', { permissions: { write: ['system.Authenticated'] } });
    await author.put('/buckets/test/collections/test', { permissions: { write: ['system.Authenticated'] } });
    const alice = client(app, basic('alice'));
    await alice.post('/buckets/test/collections/test/records', {});
    const entries = await entriesOf(alice, 'test');
    expect(entries.map((e) => [e.action, e.resource_name])).toEqual([
      ['create', 'record'],
      ['create', 'collection'],
      ['create', 'bucket'],
    ]);
    const aces = await app.kinto.permission.getAccessibleObjects(['system.Authenticated'], [['/buckets/test/history/*', 'read']]);
    expect(aces.size).toBe(0);
  });
});

describe('history: batches and failures', () => {
  let author: Client;
  const explode = (event: { impacted: { new?: Record<string, unknown> }[] }) => event.impacted.some((i) => i.new?.explode);

  beforeEach(async () => {
    app = await historyApp('', {
      beforeReady: (built) =>
        built.kinto.events.subscribe({
          phase: 'transaction',
          resources: ['record'],
          async handle(events) {
            if (events.some(explode)) throw new Error('refused by a listener');
          },
        }),
    });
    author = client(app, basic('author'));
    await author.post('/batch', {
      defaults: { method: 'POST', path: '/buckets/bid/collections/cid/records' },
      requests: [
        { path: '/buckets/bid', method: 'PUT' },
        { path: '/buckets/bid/collections', body: { data: { id: 'cid' } } },
        { body: { data: { id: 'a', attr: 1 } } },
        { body: { data: { id: 'b', attr: 2 } } },
        { body: { data: { id: 'c', attr: 3 } } },
      ],
    });
  });

  it('writes one entry per change of every subrequest', async () => {
    const entries = await entriesOf(author, 'bid');
    expect(entries.map((e) => e.uri)).toEqual([
      '/buckets/bid/collections/cid/records/c',
      '/buckets/bid/collections/cid/records/b',
      '/buckets/bid/collections/cid/records/a',
      '/buckets/bid/collections/cid',
      '/buckets/bid',
    ]);
  });

  it('keeps each object its own ids when a batch changes several', async () => {
    const requests = ['a', 'b', 'c'].map((id) => ({ method: 'PATCH', path: `/buckets/bid/collections/cid/records/${id}`, body: { data: { label: id } } }));
    await author.post('/batch', { requests });
    await author.post('/batch', { requests: requests.map((r) => ({ ...r, method: 'DELETE', body: undefined })) });
    const entries = await entriesOf(author, 'bid', '?resource_name=record');
    expect(entries.slice(0, 3).map((e) => [e.action, e.record_id])).toEqual([['delete', 'c'], ['delete', 'b'], ['delete', 'a']]);
    for (const entry of entries) expect(entry.record_id).toBe(entry.target.data.id);
  });

  it('a failed request leaves no entry', async () => {
    const failed = await author.put('/buckets/bid/collections/cid/records/d', { data: { explode: true } });
    expectError(failed, 500, 999);
    expect((await author.get('/buckets/bid/collections/cid/records/d')).statusCode).toBe(404);
    expect(await entriesOf(author, 'bid')).toHaveLength(5);
  });

  it('a failed batch rolls back its changes and their entries together', async () => {
    const response = await author.post('/batch', {
      requests: [
        { method: 'PUT', path: '/buckets/bid/collections/other' },
        { method: 'PATCH', path: '/buckets/bid/collections/cid/records/a', body: { data: { attr: 10 } } },
        { method: 'POST', path: '/buckets/bid/collections/cid/records', body: { data: { explode: true } } },
      ],
    });
    expect(response.statusCode).toBe(500);
    expect((await author.get('/buckets/bid/collections/other')).statusCode).toBe(404);
    expect((await author.get('/buckets/bid/collections/cid/records/a')).json().data.attr).toBe(1);
    expect(await entriesOf(author, 'bid')).toHaveLength(5);
    const aces = await app.kinto.permission.getAccessibleObjects([await userIdOf(author)], [['/buckets/bid/history/*', 'read']]);
    expect(aces.size).toBe(5);
  });
});
