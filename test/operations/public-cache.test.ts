// What a public instance behind a CDN relies on, checked in process: read-only refusals,
// the public URL in what the server writes, cache lifetimes and `Vary`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp } from '../helpers/app.ts';

const PUBLIC = `kinto.http_host = cdn.example.test
kinto.http_scheme = https
kinto.paginate_by = 1
kinto.record_cache_expires_seconds = 30
kinto.blog.record_cache_expires_seconds = 40
kinto.blog.drafts.record_cache_expires_seconds = 50
kinto.collection_cache_expires_seconds = 20
`;

let app: FastifyInstance;

beforeAll(async () => {
  app = await makeApp(PUBLIC);
  const alice = client(app, ALICE);
  await alice.put('/buckets/blog', { permissions: { read: ['system.Everyone'] } });
  await alice.put('/buckets/misc', { permissions: { read: ['system.Everyone'] } });
  for (const [bucket, collection, data] of [
    ['blog', 'posts', {}],
    ['blog', 'drafts', {}],
    ['blog', 'pinned', { cache_expires: 90 }],
    ['misc', 'notes', {}],
  ] as const) {
    await alice.put(`/buckets/${bucket}/collections/${collection}`, { data });
    await alice.put(`/buckets/${bucket}/collections/${collection}/records/a`, { data: {} });
    await alice.put(`/buckets/${bucket}/collections/${collection}/records/b`, { data: {} });
  }
});

afterAll(async () => {
  await app?.close();
});

describe('the public URL (http_host, http_scheme)', () => {
  it('is the hello url and the base of Next-Page', async () => {
    expect((await client(app).get('/')).json().url).toBe('https://cdn.example.test/v1/');
    const page = await client(app).get('/buckets/misc/collections/notes/records');
    expect(page.headers['next-page']).toMatch(/^https:\/\/cdn\.example\.test\/v1\/buckets\/misc\/collections\/notes\/records\?_limit=1&_token=/);
  });
});

describe('cache lifetimes of anonymous reads', () => {
  const lifetime = async (path: string, headers: Record<string, string> = {}) => {
    const response = await client(app, headers).get(path);
    return { control: response.headers['cache-control'], expires: response.headers.expires };
  };

  // Kinto's order: bucket.collection., bucket., the global setting, then the legacy
  // bucket_collection_ and bucket_ forms.
  it('follow the most specific setting, or the collection’s cache_expires when longer', async () => {
    expect((await lifetime('/buckets/misc/collections/notes/records')).control).toBe('max-age=30');
    expect((await lifetime('/buckets/blog/collections/posts/records')).control).toBe('max-age=40');
    expect((await lifetime('/buckets/blog/collections/drafts/records/a')).control).toBe('max-age=50');
    expect((await lifetime('/buckets/blog/collections/pinned/records')).control).toBe('max-age=90');
    expect((await lifetime('/buckets/blog/collections/posts')).control).toBe('max-age=20');
    const { expires } = await lifetime('/buckets/misc/collections/notes/records');
    const seconds = (new Date(String(expires)).getTime() - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(25);
    expect(seconds).toBeLessThanOrEqual(31);
  });

  it('are never given to authenticated reads', async () => {
    expect((await lifetime('/buckets/misc/collections/notes/records', ALICE)).control).toBe('no-cache, no-store');
  });
});

describe('Vary', () => {
  it('names Authorization and, with CORS, Origin', async () => {
    const response = await client(app).get('/buckets/misc/collections/notes/records');
    expect(response.headers.vary).toBe('Authorization, Origin');
    const noCors = await makeApp('kinto.cors_origins =\n');
    try {
      expect((await client(noCors).get('/')).headers.vary).toBe('Authorization');
    } finally {
      await noCors.close();
    }
  });
});

describe('readonly', () => {
  it("refuses every write with Kinto's 405, batches and unknown routes included, and still answers reads", async () => {
    const readonly = await makeApp('kinto.readonly = true\n');
    try {
      const alice = client(readonly, ALICE);
      for (const response of [
        await alice.put('/buckets/new', {}),
        await alice.post('/buckets', { data: {} }),
        await alice.post('/batch', { requests: [] }),
        await alice.delete('/buckets'),
      ]) {
        expect(response.statusCode).toBe(405);
        expect(response.json()).toMatchObject({ code: 405, errno: 115, error: 'Method Not Allowed' });
      }
      expect((await alice.get('/')).json().settings.readonly).toBe(true);
      const preflight = await readonly.inject({
        method: 'OPTIONS',
        url: '/v1/buckets',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
      });
      expect(preflight.statusCode).toBe(200);
    } finally {
      await readonly.close();
    }
  });
});
