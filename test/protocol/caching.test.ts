import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../helpers/app.ts';

let app: FastifyInstance;
let alice: Client;
let anonymous: Client;

async function start(extraIni = ''): Promise<void> {
  app = await makeApp(extraIni);
  alice = client(app, ALICE);
  anonymous = client(app);
}
afterEach(() => app.close());

/** Creates `/buckets/{bid}/collections/{cid}` readable by everyone, with one record; returns the records URL and record URL. */
async function publicRecord(bid: string, cid: string, collection: Record<string, unknown> = {}): Promise<[string, string]> {
  await alice.put(`/buckets/${bid}`, { permissions: { read: ['system.Everyone'] } });
  await alice.put(`/buckets/${bid}/collections/${cid}`, { data: collection });
  const records = `/buckets/${bid}/collections/${cid}/records`;
  const created = await alice.post(records, { data: { a: 1 } });
  return [records, `${records}/${created.json().data.id}`];
}

function expectMaxAge(response: LightMyRequestResponse, seconds: number): void {
  expect(response.statusCode).toBe(200);
  expect(response.headers['cache-control']).toBe(`max-age=${seconds}`);
  expect(response.headers.expires).toBeDefined();
}

function expectNoCache(response: LightMyRequestResponse): void {
  expect(response.headers['cache-control']).toBe('no-cache, no-store');
  expect(response.headers.expires).toBeUndefined();
}

describe('cache headers', () => {
  it('reads are no-cache, no-store by default', async () => {
    await start();
    const [records, record] = await publicRecord('blog', 'cached');
    expectNoCache(await anonymous.get(records));
    expectNoCache(await anonymous.get(record));
    expectNoCache(await anonymous.get('/buckets/blog'));
  });

  it('record_cache_expires_seconds applies to anonymous reads only', async () => {
    await start('kinto.record_cache_expires_seconds = 3600\n');
    const [records, record] = await publicRecord('blog', 'cached');
    expectMaxAge(await anonymous.get(records), 3600);
    expectMaxAge(await anonymous.get(record), 3600);
    expectNoCache(await alice.get(records));
  });

  it('bucket and collection specific settings win over the global one', async () => {
    await start('kinto.record_cache_expires_seconds = 5\nkinto.blog.record_cache_expires_seconds = 30\nkinto.browser.top500.record_cache_expires_seconds = 60\n');
    const [blog] = await publicRecord('blog', 'cached');
    const [top] = await publicRecord('browser', 'top500');
    const [other] = await publicRecord('other', 'x');
    expectMaxAge(await anonymous.get(blog), 30);
    expectMaxAge(await anonymous.get(top), 60);
    expectMaxAge(await anonymous.get(other), 5);
  });

  it('the collection cache_expires attribute applies, 0 meaning "expire now"', async () => {
    await start();
    const [records, record] = await publicRecord('blog', 'cached', { cache_expires: 3600 });
    expectMaxAge(await anonymous.get(records), 3600);
    expectMaxAge(await anonymous.get(record), 3600);
    expectNoCache(await alice.get(records));
    await alice.put('/buckets/blog/collections/cached', { data: { cache_expires: 0 } });
    const zero = await anonymous.get(records);
    expect(zero.headers['cache-control']).toBe('max-age=0, must-revalidate, no-cache, no-store');
    expect(zero.headers.pragma).toBe('no-cache');
    expect(zero.headers.expires).toBeDefined();
    await alice.put('/buckets/blog/collections/cached', { data: {} });
    expectNoCache(await anonymous.get(records));
  });

  it('a collection cache_expires can raise but not lower the server setting', async () => {
    await start('kinto.record_cache_expires_seconds = 10\n');
    const [records] = await publicRecord('blog', 'cached', { cache_expires: 3600 });
    expectMaxAge(await anonymous.get(records), 3600);
    await alice.put('/buckets/blog/collections/cached', { data: { cache_expires: 0 } });
    expectMaxAge(await anonymous.get(records), 10);
  });

  it('bucket_cache_expires_seconds applies to buckets', async () => {
    await start('kinto.bucket_cache_expires_seconds = 120\n');
    await publicRecord('blog', 'cached');
    expectMaxAge(await anonymous.get('/buckets/blog'), 120);
  });
});
