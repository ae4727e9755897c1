import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, BOB, type Client } from '../../../test/helpers/app.ts';
import { expectError, expectInvalid } from '../../../test/helpers/protocol.ts';
import { basicUserId, client, historyApp } from './helpers.ts';

const COLLECTION = '/buckets/bid/collections/cid';
const snapshotUrl = (ts: number | string) => `/buckets/bid/snapshot/collections/cid@${ts}`;

let app: FastifyInstance;
let alice: Client;
let seed: Record<string, any>;

beforeEach(async () => {
  app = await historyApp();
  alice = client(app, ALICE);
  await alice.put('/buckets/bid');
  await alice.put(COLLECTION);
  seed = (await alice.put(`${COLLECTION}/records/rid1`, { data: { foo: 1, name: 'seed' } })).json().data;
});
afterEach(() => app.close());

async function snapshot(ts: number): Promise<Record<string, any>> {
  const response = await alice.get(snapshotUrl(ts));
  expect(response.statusCode, response.body).toBe(200);
  return Object.fromEntries(response.json().data.map((r: { id: string }) => [r.id, r]));
}

describe('history: collection snapshots', () => {
  it('only answers GET, and checks the timestamp', async () => {
    for (const method of ['PUT', 'PATCH', 'POST', 'DELETE'] as const) {
      expectError(await app.inject({ method, url: `/v1${snapshotUrl(1234)}`, headers: ALICE, payload: {} }), 405, 115);
    }
    expectInvalid(await alice.get(snapshotUrl('abc')), 'path', 'timestamp');
    expectInvalid(await alice.get(snapshotUrl('-42')), 'path', 'timestamp');
    expect((await alice.get('/buckets/bid/snapshot/collections/cid')).statusCode).toBe(404);
  });

  it('shows the records unchanged since the timestamp as they are', async () => {
    expect(await snapshot(seed.last_modified)).toEqual({ rid1: seed });
    const live = (await alice.get(`${COLLECTION}/records`)).json().data;
    expect(Object.values(await snapshot(seed.last_modified))).toEqual(live);
  });

  it('rolls back later updates and deletions, and leaves out later creations', async () => {
    const ts = seed.last_modified;
    await alice.patch(`${COLLECTION}/records/rid1`, { data: { foo: 2 } });
    await alice.put(`${COLLECTION}/records/rid2`, { data: { foo: 99 } });
    expect(await snapshot(ts)).toEqual({ rid1: seed });
    await alice.delete(`${COLLECTION}/records/rid1`);
    expect(await snapshot(ts)).toEqual({ rid1: seed });
  });

  it('leaves out records deleted at or before the timestamp', async () => {
    const deleted = (await alice.delete(`${COLLECTION}/records/rid1`)).json().data;
    expect(await snapshot(deleted.last_modified)).toEqual({});
    await alice.put(`${COLLECTION}/records/rid1`, { data: { back: true } });
    expect(await snapshot(deleted.last_modified)).toEqual({});
  });

  it('picks the latest version at or before the timestamp, newest records first', async () => {
    const v1 = (await alice.put(`${COLLECTION}/records/rid3`, { data: { version: 1 } })).json().data;
    await alice.patch(`${COLLECTION}/records/rid3`, { data: { version: 2 } });
    const v3 = (await alice.patch(`${COLLECTION}/records/rid3`, { data: { version: 3 } })).json().data;
    await alice.patch(`${COLLECTION}/records/rid3`, { data: { version: 4 } });
    await alice.patch(`${COLLECTION}/records/rid1`, { data: { foo: 5 } });
    expect((await snapshot(v1.last_modified)).rid3.version).toBe(1);
    const response = await alice.get(snapshotUrl(v3.last_modified));
    expect(response.json().data.map((r: { id: string; version?: number }) => [r.id, r.version])).toEqual([
      ['rid3', 3],
      ['rid1', undefined],
    ]);
  });

  it('is readable by the readers of the bucket or of the collection only', async () => {
    expectError(await client(app).get(snapshotUrl(1234)), 401, 104);
    const bob = client(app, BOB);
    expectError(await bob.get(snapshotUrl(1234)), 403, 121);
    await alice.patch(COLLECTION, { permissions: { read: [basicUserId('bob')] } });
    expect((await bob.get(snapshotUrl(1234))).statusCode).toBe(200);
    await alice.patch('/buckets/bid', { permissions: { read: ['system.Everyone'] } });
    expect((await client(app).get(snapshotUrl(1234))).json()).toEqual({ data: [] });
  });
});
