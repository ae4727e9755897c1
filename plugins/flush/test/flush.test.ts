/** `POST /v1/__flush__`: served when the plugin is included, empties every backend, tells listeners. */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../core/app.ts';
import type { ServerFlushedEvent } from '../../../core/events.ts';
import { loadConfig } from '../../../core/settings/load.ts';

const BASE_INI = `[app:main]
kinto.userid_hmac_secret = flush-secret
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory
`;
const ALICE = { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` };

const open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function start(lines: string, flushed: ServerFlushedEvent[] = []): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: `${BASE_INI}${lines}`, env: {} }));
  open.push(app);
  app.kinto.events.onServerFlushed((event) => void flushed.push(event));
  await app.ready();
  return app;
}

async function seed(app: FastifyInstance): Promise<void> {
  const bucket = await app.inject({ method: 'PUT', url: '/v1/buckets/beers', headers: ALICE, payload: {} });
  expect(bucket.statusCode).toBe(201);
  await app.inject({ method: 'PUT', url: '/v1/buckets/beers/collections/barley', headers: ALICE, payload: {} });
  const record = await app.inject({
    method: 'POST',
    url: '/v1/buckets/beers/collections/barley/records',
    headers: ALICE,
    payload: { data: { name: 'ipa' } },
  });
  expect(record.statusCode).toBe(201);
  await app.kinto.cache.set('some-key', 'some-value', 60);
}

describe('the flush endpoint', () => {
  it('is served as soon as the plugin is included, as in Kinto 26', async () => {
    const app = await start('kinto.includes = kinto.plugins.flush\n');
    const hello = (await app.inject('/v1/')).json();
    expect(hello.capabilities.flush_endpoint).toEqual({
      description: 'The __flush__ endpoint can be used to remove all data from all backends.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/flush.html',
    });
    const response = await app.inject({ method: 'POST', url: '/v1/__flush__' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({});
  });

  it('is a 404 in Kinto error format when the plugin is not included', async () => {
    const app = await start('kinto.flush_endpoint_enabled = true\n');
    const response = await app.inject({ method: 'POST', url: '/v1/__flush__' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 404, errno: 111, error: 'Not Found' });
    expect((await app.inject('/v1/')).json().capabilities.flush_endpoint).toBeUndefined();
  });

  it('removes every object, permission and cached value, without authentication', async () => {
    const app = await start('kinto.includes = flush\n');
    await seed(app);
    expect((await app.inject({ url: '/v1/buckets', headers: ALICE })).json().data).toHaveLength(1);

    expect((await app.inject({ method: 'POST', url: '/v1/__flush__' })).statusCode).toBe(202);

    expect((await app.inject({ url: '/v1/buckets', headers: ALICE })).json().data).toEqual([]);
    // Alice's write permission on the bucket went with it: the records are now out of her reach.
    const records = await app.inject({ url: '/v1/buckets/beers/collections/barley/records', headers: ALICE });
    expect(records.statusCode).toBe(403);
    expect(await app.kinto.cache.get('some-key')).toBeNull();
    // The server keeps working on the emptied backends.
    expect((await app.inject({ method: 'PUT', url: '/v1/buckets/beers', headers: ALICE, payload: {} })).statusCode).toBe(201);
  });

  it('notifies ServerFlushed listeners once, with the caller', async () => {
    const flushed: ServerFlushedEvent[] = [];
    const app = await start('kinto.includes = flush\n', flushed);
    await app.inject({ method: 'POST', url: '/v1/__flush__', headers: ALICE });
    expect(flushed).toHaveLength(1);
    expect(flushed[0].user_id).toMatch(/^basicauth:[0-9a-f]{64}$/);
    expect(flushed[0].timestamp).toBeGreaterThan(0);
  });

  it('is refused in readonly mode', async () => {
    const app = await start('kinto.includes = flush\nkinto.readonly = true\n');
    const response = await app.inject({ method: 'POST', url: '/v1/__flush__' });
    expect(response.statusCode).toBe(405);
    expect(response.json()).toMatchObject({ code: 405, errno: 115 });
  });
});
