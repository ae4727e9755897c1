/** Service settings seen through HTTP: version file, Backoff share, id generators, root cache. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp } from '../helpers/app.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});
const dir = mkdtempSync(join(tmpdir(), 'kinto-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('version_json_path', () => {
  it('serves the configured version file at /__version__', async () => {
    const path = join(dir, 'my-version.json');
    writeFileSync(path, JSON.stringify({ source: 'https://example.org/src', version: '9.9.9', commit: 'abc', build: 'b1' }));
    app = await makeApp(`kinto.version_json_path = ${path}\n`);
    const response = await client(app).get('/__version__');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ source: 'https://example.org/src', version: '9.9.9', commit: 'abc', build: 'b1' });
  });

  it('falls back to the version.json shipped at the root of the distribution', async () => {
    app = await makeApp(`kinto.version_json_path = ${join(dir, 'absent.json')}\n`);
    const shipped = JSON.parse(readFileSync(join(import.meta.dirname, '../../version.json'), 'utf8'));
    const response = await client(app).get('/__version__');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(shipped);
  });
});

describe('backoff_percentage', () => {
  it('sends Backoff to no client at 0% and to every client at 100%', async () => {
    app = await makeApp('', { KINTO_BACKOFF: '30', KINTO_BACKOFF_PERCENTAGE: '0' });
    for (let i = 0; i < 20; i++) expect((await client(app).get('/')).headers.backoff).toBeUndefined();
    await app.close();
    app = await makeApp('', { KINTO_BACKOFF: '30', KINTO_BACKOFF_PERCENTAGE: '100' });
    for (let i = 0; i < 20; i++) expect((await client(app).get('/')).headers.backoff).toBe('30');
  });

  it('sends it to about that share of responses', async () => {
    app = await makeApp('', { KINTO_BACKOFF: '30', KINTO_BACKOFF_PERCENTAGE: '50' });
    let sent = 0;
    for (let i = 0; i < 400; i++) if ((await client(app).get('/__lbheartbeat__')).headers.backoff === '30') sent += 1;
    // 400 draws at 50%: outside 120..280 has a probability below 1e-15.
    expect(sent).toBeGreaterThan(120);
    expect(sent).toBeLessThan(280);
  });
});

describe('id generators', () => {
  it('generate UUID4 record ids, and refuse other ids with the strict UUID4 generator', async () => {
    app = await makeApp('kinto.record_id_generator = kinto.core.storage.generators.UUID4\n');
    const alice = client(app, ALICE);
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/collections/c');
    const created = await alice.post('/buckets/b/collections/c/records', { data: {} });
    expect(created.json().data.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const named = await alice.put('/buckets/b/collections/c/records/my-record', { data: {} });
    expect(named.statusCode).toBe(400);
    expect(named.json()).toMatchObject({ errno: 107, error: 'Invalid parameters' });
  });

  it('generate 8-character names for buckets by default, and accept UUID4 only when configured', async () => {
    app = await makeApp();
    const generated = await client(app, ALICE).post('/buckets', { data: {} });
    expect(generated.json().data.id).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_-]{7}$/);
    await app.close();
    app = await makeApp('kinto.bucket_id_generator = kinto.core.storage.generators.UUID4\n');
    expect((await client(app, ALICE).put('/buckets/blog')).statusCode).toBe(400);
  });

  it('refuses an unknown generator at start-up, naming the setting', async () => {
    await expect(makeApp('kinto.record_id_generator = my.module.Generator\n')).rejects.toThrow(/record_id_generator/);
  });
});

describe('root_cache_expires_seconds', () => {
  it('sets how long a readonly instance lets caches keep the hello view', async () => {
    app = await makeApp('kinto.readonly = true\nkinto.root_cache_expires_seconds = 120\n');
    const hello = await client(app).get('/');
    expect(hello.headers['cache-control']).toMatch(/max-age=120/);
    await app.close();
    app = await makeApp();
    expect(String((await client(app).get('/')).headers['cache-control'] ?? '')).not.toMatch(/max-age/);
  });
});
