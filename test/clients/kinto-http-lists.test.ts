// kinto-http 5.3.0 against a real listening server: pagination (Next-Page following),
// `since` polling with tombstones, filters and sorting, `safe` writes and deletions.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KintoClient, basicAuth, failure, startServer } from './server.ts';
import type { KintoClientInstance, RunningServer } from './server.ts';

type Rec = { id: string; last_modified: number; n: number; title: string; done: boolean; deleted?: boolean; extra?: string };

let server: RunningServer;
let alice: KintoClientInstance;
let counter = 0;
let bucketName = '';

function posts() {
  return alice.bucket(bucketName).collection('posts');
}

beforeAll(async () => {
  server = await startServer();
  alice = new KintoClient(server.remote, { headers: basicAuth('alice') });
});
afterAll(() => server.app.close());

// Each test gets a fresh bucket holding ten records r0..r9, created in that order.
beforeEach(async () => {
  bucketName = `lists-${++counter}`;
  await alice.createBucket(bucketName);
  await alice.bucket(bucketName).createCollection('posts');
  await posts().batch((batch) => {
    for (let n = 0; n < 10; n++) {
      const record: Record<string, unknown> = { id: `r${n}`, n, title: `title ${String.fromCharCode(106 - n)}`, done: n % 2 === 0 };
      if (n === 3) record.extra = 'yes';
      batch.createRecord(record);
    }
  });
});

describe('kinto-http: pagination', () => {
  it('pages with limit, follows Next-Page with next() and stops when exhausted', async () => {
    const first = await posts().listRecords<Rec>({ limit: 3 });
    expect(first.data.map((r) => r.id)).toEqual(['r9', 'r8', 'r7']); // default sort: -last_modified
    expect(first.hasNextPage).toBe(true);
    const second = await first.next();
    expect(second.data.map((r) => r.id)).toEqual(['r6', 'r5', 'r4']);
    const third = await second.next();
    const fourth = await third.next();
    expect(third.data.map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
    expect(fourth.data.map((r) => r.id)).toEqual(['r0']);
    expect(fourth.hasNextPage).toBe(false);
    await expect(fourth.next()).rejects.toThrow('Pagination exhausted');
  });

  it('aggregates a number of pages, or all of them', async () => {
    const two = await posts().listRecords<Rec>({ limit: 3, pages: 2 });
    expect(two.data.map((r) => r.id)).toEqual(['r9', 'r8', 'r7', 'r6', 'r5', 'r4']);
    expect(two.hasNextPage).toBe(true);
    const all = await posts().listRecords<Rec>({ limit: 4, pages: Infinity, sort: 'n' });
    expect(all.data.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(all.hasNextPage).toBe(false);
    // the list ETag is the collection timestamp, i.e. the newest record's last_modified
    const newest = Math.max(...all.data.map((r) => r.last_modified));
    expect(all.last_modified).toBe(String(newest));
    expect(await posts().getRecordsTimestamp()).toBe(`"${newest}"`);
    expect(await posts().getTotalRecords()).toBe(10);
  });

  it('paginates with a descending custom sort and filters', async () => {
    const result = await posts().listRecords<Rec>({ limit: 2, pages: Infinity, sort: '-title', filters: { done: 'true' } });
    expect(result.data.map((r) => r.id)).toEqual(['r0', 'r2', 'r4', 'r6', 'r8']);
  });
});

describe('kinto-http: polling with since', () => {
  it('returns records changed after an ETag, including tombstones', async () => {
    const etag = await posts().getRecordsTimestamp();
    expect(etag).toMatch(/^"\d+"$/);
    expect((await posts().listRecords({ since: etag! })).data).toEqual([]);
    const updated = await posts().updateRecord({ id: 'r1', n: 100, title: 'changed', done: true });
    const deleted = await posts().deleteRecord('r2');
    const created = await posts().createRecord({ id: 'r10', n: 10, title: 'new', done: false });
    const changes = await posts().listRecords<Rec>({ since: etag! });
    expect(changes.data).toEqual([
      { id: 'r10', n: 10, title: 'new', done: false, last_modified: created.data.last_modified },
      { id: 'r2', deleted: true, last_modified: deleted.data.last_modified },
      { id: 'r1', n: 100, title: 'changed', done: true, last_modified: updated.data.last_modified },
    ]);
    expect(changes.last_modified).toBe(String(created.data.last_modified));
    // unquoted timestamps work as well, and the tombstone never shows in a plain list
    const later = await posts().listRecords<Rec>({ since: String(deleted.data.last_modified) });
    expect(later.data.map((r) => r.id)).toEqual(['r10']);
    const plain = await posts().listRecords<Rec>({ pages: Infinity });
    expect(plain.data.map((r) => r.id)).not.toContain('r2');
    expect(plain.data).toHaveLength(10);
  });
});

describe('kinto-http: filters and sorting', () => {
  const ids = (records: Rec[]) => records.map((r) => r.id);

  it('applies the Kinto filter operators', async () => {
    const list = async (filters: Record<string, string | number>, sort = 'n') =>
      ids((await posts().listRecords<Rec>({ filters, sort })).data);
    expect(await list({ done: 'false' })).toEqual(['r1', 'r3', 'r5', 'r7', 'r9']);
    expect(await list({ n: 4 })).toEqual(['r4']);
    expect(await list({ min_n: 3, max_n: 5 })).toEqual(['r3', 'r4', 'r5']);
    expect(await list({ gt_n: 7 })).toEqual(['r8', 'r9']);
    expect(await list({ lt_n: 2 })).toEqual(['r0', 'r1']);
    expect(await list({ in_n: '1,5,7' })).toEqual(['r1', 'r5', 'r7']);
    expect(await list({ exclude_id: 'r0,r1,r2,r3,r4,r5' })).toEqual(['r6', 'r7', 'r8', 'r9']);
    expect(await list({ not_done: 'true', max_n: 4 })).toEqual(['r1', 'r3']);
    expect(await list({ has_extra: 'true' })).toEqual(['r3']);
    expect(await list({ like_title: '*j*' })).toEqual(['r0']);
  });

  it('sorts on one or several fields and selects fields', async () => {
    const byTitle = await posts().listRecords<Rec>({ sort: 'title' });
    expect(ids(byTitle.data)).toEqual(['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
    const multi = await posts().listRecords<Rec>({ sort: '-done,n', limit: 4 });
    expect(ids(multi.data)).toEqual(['r0', 'r2', 'r4', 'r6']);
    const fields = await posts().listRecords<Rec>({ sort: 'n', limit: 1, fields: ['title'] });
    expect(fields.data).toEqual([{ id: 'r0', title: 'title j', last_modified: expect.any(Number) }]);
  });

  it('deletes the records matching filters', async () => {
    const deleted = await posts().deleteRecords<Rec>({ filters: { done: 'true' } });
    expect(ids(deleted.data).sort()).toEqual(['r0', 'r2', 'r4', 'r6', 'r8']);
    expect(deleted.data.every((r) => r.deleted === true)).toBe(true);
    expect(ids((await posts().listRecords<Rec>({ sort: 'n' })).data)).toEqual(['r1', 'r3', 'r5', 'r7', 'r9']);
  });
});

describe('kinto-http: safe writes', () => {
  it('refuses a stale update with the 412 error and the existing record', async () => {
    const { data: original } = await posts().getRecord<Rec>('r1');
    const { data: newer } = await posts().updateRecord({ ...original, title: 'newer' });
    expect(newer.last_modified).toBeGreaterThan(original.last_modified);
    const error = await failure(posts().updateRecord({ ...original, title: 'stale' }, { safe: true }));
    expect(error.response.status).toBe(412);
    expect(error.message).toMatch(/^HTTP 412 Precondition Failed/);
    expect(error.data).toMatchObject({ code: 412, errno: 114, error: 'Precondition Failed' });
    expect(error.data?.details?.existing).toMatchObject({ id: 'r1', title: 'newer', last_modified: newer.last_modified });
    // with the current timestamp the same safe update goes through
    const ok = await posts().updateRecord({ ...newer, title: 'fresh' }, { safe: true });
    expect(ok.data).toMatchObject({ id: 'r1', title: 'fresh' });
    expect((await posts().getRecord<Rec>('r1')).data.title).toBe('fresh');
  });

  it('refuses a safe creation over an existing record, but creates new ones', async () => {
    const error = await failure(posts().createRecord({ id: 'r1', title: 'clobber' }, { safe: true }));
    expect(error.response.status).toBe(412);
    expect(error.data?.details?.existing).toMatchObject({ id: 'r1', n: 1 });
    const created = await posts().createRecord({ id: 'brand-new', title: 'ok' }, { safe: true });
    expect(created.data).toMatchObject({ id: 'brand-new', title: 'ok' });
    // a safe update without last_modified only creates (If-None-Match: *)
    expect((await failure(posts().updateRecord({ id: 'r2', title: 'x' }, { safe: true }))).response.status).toBe(412);
  });

  it('deletes with last_modified only when it is current', async () => {
    const { data: record } = await posts().getRecord<Rec>('r5');
    await posts().updateRecord({ ...record, title: 'touched' });
    const stale = await failure(posts().deleteRecord('r5', { safe: true, last_modified: record.last_modified }));
    expect(stale.response.status).toBe(412);
    expect(stale.data?.details?.existing).toMatchObject({ id: 'r5', title: 'touched' });
    const { data: current } = await posts().getRecord<Rec>('r5');
    const deleted = await posts().deleteRecord(current, { safe: true });
    expect(deleted.data).toMatchObject({ id: 'r5', deleted: true });
    expect(deleted.data.last_modified).toBeGreaterThan(current.last_modified);
    expect((await failure(posts().getRecord('r5'))).response.status).toBe(404);
    // the client refuses a safe deletion without a timestamp before sending anything
    await expect(posts().deleteRecord('r6', { safe: true })).rejects.toThrow('requires a last_modified');
  });

  it('applies the safe option set on the bucket and on collection metadata', async () => {
    const safeBucket = alice.bucket(bucketName, { safe: true });
    const collection = safeBucket.collection('posts');
    const { data: record } = await collection.getRecord<Rec>('r7');
    await posts().updateRecord({ ...record, title: 'elsewhere' });
    expect((await failure(collection.updateRecord({ ...record, title: 'mine' }))).response.status).toBe(412);
    const meta = await collection.getData<{ last_modified: number }>();
    await posts().setData({ touched: true }, { patch: true });
    const error = await failure(collection.setData({ color: 'red', last_modified: meta.last_modified }));
    expect(error.response.status).toBe(412);
    expect(await posts().getData()).toMatchObject({ touched: true });
  });
});
