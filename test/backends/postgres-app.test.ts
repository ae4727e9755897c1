import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../core/app.ts';
import { KintoError } from '../../core/errors.ts';
import { migrateBackends } from '../../core/backends.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { ALICE, client } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { postgresIni } from '../helpers/processes.ts';

function iniFor(url: string, extra = ''): string {
  return postgresIni(url, `kinto.retry_after_seconds = 7
kinto.storage_pool_size = 10
kinto.storage_max_overflow = 0
${extra}`);
}

async function appOn(url: string, extra = ''): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: iniFor(url, extra), env: {} }));
  await app.ready();
  return app;
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let first: FastifyInstance;
let second: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  await expect(appOn(database.url)).rejects.toThrow(/run 'kinto migrate/);
  await migrateBackends(loadConfig({ iniText: iniFor(database.url), env: {} }).settings);
  first = await appOn(database.url);
  second = await appOn(database.url);
  const alice = client(first, ALICE);
  await alice.put('/buckets/b', {});
  await alice.put('/buckets/b/collections/c', {});
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await database.drop();
});

describe('two servers on one PostgreSQL database', () => {
  it('hand out unique, increasing timestamps under concurrent writes', async () => {
    const writes = Array.from({ length: 40 }, (_, i) =>
      client(i % 2 ? first : second, ALICE).post('/buckets/b/collections/c/records', { data: { i } }),
    );
    const responses = await Promise.all(writes);
    expect(responses.map((r) => r.statusCode)).toEqual(Array(40).fill(201));
    const stamps = responses.map((r) => r.json().data.last_modified as number);
    expect(new Set(stamps).size).toBe(40);
    const listed = await client(second, ALICE).get('/buckets/b/collections/c/records');
    const order = listed.json().data.map((r: { last_modified: number }) => r.last_modified);
    expect(order).toEqual([...stamps].sort((a, b) => b - a));
    expect(listed.headers.etag).toBe(`"${Math.max(...stamps)}"`);
  });

  it('give one 201 and only 412s to concurrent safe creates of one id', async () => {
    const creates = Array.from({ length: 10 }, (_, i) =>
      client(i % 2 ? first : second, ALICE).put('/buckets/b/collections/c/records/race', { data: { i } }, { 'if-none-match': '*' }),
    );
    const statuses = (await Promise.all(creates)).map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(412)]);
  });

  it('lose no update among concurrent PATCHes with the same If-Match', async () => {
    const alice = client(first, ALICE);
    const created = await alice.put('/buckets/b/collections/c/records/counter', { data: { n: 0 } });
    const etag = created.headers.etag as string;
    const patches = Array.from({ length: 10 }, (_, i) =>
      client(i % 2 ? first : second, ALICE).patch('/buckets/b/collections/c/records/counter', { data: { n: i + 1 } }, { 'if-match': etag }),
    );
    const statuses = (await Promise.all(patches)).map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(412)]);
  });

  it('never hand out a smaller timestamp when writes alternate between the servers', async () => {
    let previous = 0;
    for (let i = 0; i < 12; i++) {
      const response = await client(i % 2 ? first : second, ALICE).post('/buckets/b/collections/c/records', { data: { i } });
      const stamp = response.json().data.last_modified as number;
      expect(stamp).toBeGreaterThan(previous);
      expect(response.headers.etag).toBe(`"${stamp}"`);
      previous = stamp;
    }
  });

  it('answer If-None-Match on one server from writes made on the other', async () => {
    const url = '/buckets/b/collections/c/records';
    const etag = (await client(first, ALICE).get(url)).headers.etag as string;
    expect((await client(second, ALICE).get(url, { 'if-none-match': etag })).statusCode).toBe(304);
    await client(first, ALICE).post(url, { data: { changed: true } });
    const after = await client(second, ALICE).get(url, { 'if-none-match': etag });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
  });

  it('give one 200 and only 412s to concurrent plural DELETEs with the same If-Match', async () => {
    const alice = client(first, ALICE);
    await alice.put('/buckets/b/collections/purged', {});
    const url = '/buckets/b/collections/purged/records';
    for (let i = 0; i < 5; i++) await alice.post(url, { data: { i } });
    const etag = (await alice.get(url)).headers.etag as string;
    const deletes = Array.from({ length: 10 }, (_, i) => client(i % 2 ? first : second, ALICE).delete(url, { 'if-match': etag }));
    const responses = await Promise.all(deletes);
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, ...Array(9).fill(412)]);
    const winner = responses.find((r) => r.statusCode === 200)!;
    expect(winner.json().data).toHaveLength(5);
  });

  it('share permissions and group membership', async () => {
    const bob = { authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` };
    const bobId = (await client(first, bob).get('/')).json().user.id;
    await client(first, ALICE).put('/buckets/b/groups/readers', { data: { members: [bobId] } });
    await client(first, ALICE).patch('/buckets/b/collections/c', { permissions: { read: ['/buckets/b/groups/readers'] } });
    const read = await client(second, bob).get('/buckets/b/collections/c/records');
    expect(read.statusCode).toBe(200);
  });
});

describe('atomic requests', () => {
  it('roll back everything a refused batch wrote, storage and permissions alike', async () => {
    const app = await buildApp(loadConfig({ iniText: iniFor(database.url), env: {} }));
    // An in-transaction listener refusing a record: the whole unit of work must vanish.
    app.kinto.events.subscribe({
      phase: 'transaction',
      resources: ['record'],
      async handle(events) {
        if (events.some((e) => e.impacted.some((i) => i.new?.refuse === true))) {
          throw new KintoError('FORBIDDEN', { message: 'refused by a listener' });
        }
      },
    });
    await app.ready();
    const alice = client(app, ALICE);
    try {
      const response = await alice.post('/batch', {
        requests: [
          { method: 'PUT', path: '/buckets/atomic', body: {} },
          { method: 'PUT', path: '/buckets/atomic/collections/x', body: { permissions: { read: ['system.Everyone'] } } },
          { method: 'PUT', path: '/buckets/atomic/collections/x/records/r', body: { data: { refuse: true } } },
        ],
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().message).toBe('refused by a listener');
      expect((await alice.get('/buckets/atomic')).statusCode).toBe(403);
      const [acl] = await app.kinto.permission.getObjectsPermissions(['/buckets/atomic/collections/x']);
      expect(acl).toEqual({});
      expect(await app.kinto.storage.get('bucket', '', 'atomic')).toBeNull();
    } finally {
      await app.close();
    }
  });
});
