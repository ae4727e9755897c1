// A read-only public instance behind a real nginx configured as a caching reverse proxy
// with the shipped dist/nginx/kinto-cdn.conf: the Remote Settings layout on one machine.
// A writer instance and the reader share one PostgreSQL database; clients only see the edge.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../helpers/databases.ts';
import { basicAuth } from '../helpers/load.ts';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePort, postgresIni, runKinto, sleep, spawnKinto, waitUntilServing, type KintoProcess } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 240_000 });

const ALICE = basicAuth('alice');
const PUBLIC_URL = 'https://cdn.example.test/v1';
const READER_SETTINGS = `kinto.readonly = true
kinto.http_host = cdn.example.test
kinto.http_scheme = https
kinto.public.long.record_cache_expires_seconds = 600
kinto.public_paged_record_cache_expires_seconds = 600
`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let writer: KintoProcess;
let reader: KintoProcess;
let nginx: Nginx;
let writerBase: string;
let readerBase: string;
let edge: string;

async function write(method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${writerBase}${path}`, {
    method,
    headers: { ...ALICE, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
}

async function viaEdge(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${edge}${path}`, { headers, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, headers: response.headers, cache: response.headers.get('x-cache-status'), body: text ? JSON.parse(text) : null };
}

async function startInstance(iniPath: string): Promise<{ process: KintoProcess; base: string }> {
  const port = await freePort();
  const process = spawnKinto(['start', '--ini', iniPath, '--port', String(port)]);
  const base = `http://127.0.0.1:${port}/v1`;
  await waitUntilServing(`${base}/__lbheartbeat__`, process);
  return { process, base };
}

beforeAll(async () => {
  database = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'kinto-cdn-'));
  writeFileSync(join(dir, 'writer.ini'), postgresIni(database.url));
  writeFileSync(join(dir, 'reader.ini'), postgresIni(database.url, READER_SETTINGS));
  expect((await runKinto(['migrate', '--ini', join(dir, 'writer.ini')])).code).toBe(0);
  const started = await Promise.all([startInstance(join(dir, 'writer.ini')), startInstance(join(dir, 'reader.ini'))]);
  [{ process: writer, base: writerBase }, { process: reader, base: readerBase }] = started;

  await write('PUT', '/buckets/public', { permissions: { read: ['system.Everyone'] } });
  await write('PUT', '/buckets/private');
  for (const [bucket, collection, metadata] of [
    ['public', 'long', {}],
    ['public', 'paged', {}],
    ['public', 'short', { cache_expires: 2 }],
    ['private', 'secret', {}],
  ] as const) {
    await write('PUT', `/buckets/${bucket}/collections/${collection}`, { data: metadata });
    for (const id of ['r1', 'r2', 'r3']) await write('PUT', `/buckets/${bucket}/collections/${collection}/records/${id}`, { data: { id } });
  }

  const listen = `127.0.0.1:${await freePort()}`;
  nginx = await startNginx(listen, new URL(readerBase).host);
  edge = `http://${listen}/v1`;
});

afterAll(async () => {
  await nginx?.stop();
  await Promise.all([writer?.stop(), reader?.stop()]);
  await database?.drop();
});

describe('a read-only instance behind nginx (dist/nginx/kinto-cdn.conf)', () => {
  it('serves the hello view from the cache, with the public URL', async () => {
    const first = await viaEdge('/');
    expect(first.status).toBe(200);
    expect(first.body.url).toBe(`${PUBLIC_URL}/`);
    expect(first.body.settings.readonly).toBe(true);
    expect(first.headers.get('cache-control')).toBe('max-age=86400');
    expect(first.cache).toBe('MISS');
    expect((await viaEdge('/')).cache).toBe('HIT');
  });

  it('answers records from its cache: the server is not asked again until the entry expires', async () => {
    const first = await viaEdge('/buckets/public/collections/long/records');
    expect(first.cache).toBe('MISS');
    expect(first.headers.get('cache-control')).toBe('max-age=600');
    expect(first.headers.get('etag')).toMatch(/^"\d+"$/);
    expect(first.headers.get('last-modified')).toMatch(/GMT$/);
    expect(first.headers.get('vary')).toContain('Authorization');
    await write('PUT', '/buckets/public/collections/long/records/r4', { data: { added: true } });
    const cached = await viaEdge('/buckets/public/collections/long/records');
    expect(cached.cache).toBe('HIT');
    expect(cached.body.data).toHaveLength(3);
    expect(cached.headers.get('etag')).toBe(first.headers.get('etag'));
    // The origin itself already has the new record.
    const origin = (await (await fetch(`${readerBase}/buckets/public/collections/long/records`)).json()) as { data: unknown[] };
    expect(origin.data).toHaveLength(4);
    // A client revalidating its own copy gets a 304 from the edge.
    const conditional = await viaEdge('/buckets/public/collections/long/records', { 'if-none-match': first.headers.get('etag')! });
    expect(conditional.status).toBe(304);
  });

  it('keeps one cache entry per querystring, and Next-Page points at the public URL', async () => {
    const whole = await viaEdge('/buckets/public/collections/paged/records');
    const page = await viaEdge('/buckets/public/collections/paged/records?_limit=1');
    expect([whole.cache, page.cache]).toEqual(['MISS', 'MISS']);
    expect(page.body.data).toHaveLength(1);
    expect(whole.body.data).toHaveLength(3);
    const next = page.headers.get('next-page')!;
    expect(next.startsWith(`${PUBLIC_URL}/buckets/public/collections/paged/records?`)).toBe(true);
    expect(next).toContain('_limit=1');
    expect((await viaEdge('/buckets/public/collections/paged/records?_limit=1')).cache).toBe('HIT');
    expect((await viaEdge('/buckets/public/collections/paged/records?_limit=2')).cache).toBe('MISS');
    const following = await viaEdge(next.slice(PUBLIC_URL.length));
    expect(following.status).toBe(200);
    expect(following.body.data).toHaveLength(1);
    expect(following.body.data[0].id).not.toBe(page.body.data[0].id);
  });

  it('revalidates an expired entry: 304 from the server keeps it, a change replaces it', async () => {
    const path = '/buckets/public/collections/short/records';
    const first = await viaEdge(path);
    expect(first.headers.get('cache-control')).toBe('max-age=2');
    expect((await viaEdge(path)).cache).toBe('HIT');
    await sleep(3_000);
    const revalidated = await viaEdge(path);
    expect(revalidated.cache).toBe('REVALIDATED');
    expect(revalidated.body).toEqual(first.body);
    await write('PUT', `${path}/r9`, { data: { late: true } });
    await sleep(3_000);
    const refreshed = await viaEdge(path);
    expect(refreshed.cache).toBe('EXPIRED');
    expect(refreshed.body.data).toHaveLength(4);
    expect(refreshed.headers.get('etag')).not.toBe(first.headers.get('etag'));
  });

  it('never serves an answer to an Authorization request from the shared cache, nor caches it', async () => {
    const secret = '/buckets/private/collections/secret/records';
    const alice = await viaEdge(secret, ALICE);
    expect(alice.status).toBe(200);
    expect(alice.cache).toBe('BYPASS');
    expect(alice.headers.get('cache-control')).toBe('no-cache, no-store');
    expect((await viaEdge(secret, ALICE)).cache).toBe('BYPASS');
    const anonymous = await viaEdge(secret);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.data).toBeUndefined();

    // The public list is cached for anonymous clients; a user still gets the server's answer.
    await viaEdge('/buckets/public/collections/long/records');
    const user = await viaEdge('/buckets/public/collections/long/records', ALICE);
    expect(user.cache).toBe('BYPASS');
    expect(user.body.data).toHaveLength(4);
    const hello = await viaEdge('/', ALICE);
    expect(hello.cache).toBe('BYPASS');
    expect(hello.body.user.id).toMatch(/^basicauth:/);
    expect((await viaEdge('/')).body.user).toBeUndefined();
  });

  it("refuses writes with Kinto's error, and never caches it", async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const response = await fetch(`${edge}/buckets/public/collections/long/records`, {
        method,
        headers: { ...ALICE, 'content-type': 'application/json' },
        body: method === 'DELETE' ? undefined : '{"data": {}}',
      });
      expect(response.status).toBe(405);
      expect(await response.json()).toMatchObject({ code: 405, errno: 115, error: 'Method Not Allowed' });
    }
    const batch = await fetch(`${edge}/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"requests": []}' });
    expect(batch.status).toBe(405);
  });

  it('redirects without revealing the address of the server behind the edge', async () => {
    const redirect = await fetch(`${edge.replace(/\/v1$/, '')}/buckets/public`, { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const location = redirect.headers.get('location')!;
    expect(location.startsWith('/v1/buckets/public') || location.startsWith(`${PUBLIC_URL}/buckets/public`)).toBe(true);
    expect(location).not.toContain(new URL(readerBase).host);
    expect(nginx.errors()).not.toMatch(/\[(emerg|alert|crit)\]/);
  });
});
