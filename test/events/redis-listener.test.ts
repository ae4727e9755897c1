/**
 * The Redis event transport against the real server of this machine (127.0.0.1:6379):
 * these tests fail, rather than skip, when it cannot be reached.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { ALICE, BASE_INI, client, makeApp, type Client } from '../helpers/app.ts';
import { testBackends } from '../helpers/test-backends.ts';

const REDIS_URL = process.env.KINTO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const RECORDS = '/buckets/b/collections/c/records';

let app: FastifyInstance | undefined;
let redis: Redis;
let alice: Client;

beforeEach(async () => {
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await redis.connect();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  redis.disconnect();
});

function listenerIni(lines: Record<string, string>, name = 'redis'): string {
  const settings = Object.entries(lines).map(([key, value]) => `kinto.event_listeners.${name}.${key} = ${value}`);
  return `kinto.event_listeners = ${name}\n${settings.join('\n')}\n`;
}

/** Subscribes to a channel and collects what is published on it. */
async function subscribe(channel: string): Promise<{ next: () => Promise<Record<string, any>> }> {
  const messages: string[] = [];
  const waiting: ((message: string) => void)[] = [];
  redis.on('message', (_channel: string, message: string) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else messages.push(message);
  });
  await redis.subscribe(channel);
  return {
    next: async () => {
      const raw = messages.shift() ?? (await new Promise<string>((done) => waiting.push(done)));
      return JSON.parse(raw);
    },
  };
}

async function start(ini: string): Promise<void> {
  app = await makeApp(ini);
  alice = client(app, ALICE);
}

describe('redis event listener: pub/sub', () => {
  it('publishes each committed change with its payload and impacted objects', async () => {
    const channel = `kinto-test-${randomUUID()}`;
    const messages = await subscribe(channel);
    await start(listenerIni({ use: 'redis', url: REDIS_URL, channel }));
    await alice.put('/buckets/b');
    const bucket = await messages.next();
    expect(bucket).toMatchObject({ action: 'create', resource_name: 'bucket', uri: '/buckets/b', bucket_id: 'b' });
    expect(bucket.user_id).toMatch(/^basicauth:/);
    expect(typeof bucket.timestamp).toBe('number');
    expect(bucket.impacted_objects).toEqual([{ new: expect.objectContaining({ id: 'b' }) }]);
    await alice.put('/buckets/b', { data: { title: 'B' } });
    const update = await messages.next();
    expect(update.action).toBe('update');
    expect(update.impacted_objects[0].old.id).toBe('b');
    expect(update.impacted_objects[0].new.title).toBe('B');
  });

  it('honours the actions and resources filters', async () => {
    const channel = `kinto-test-${randomUUID()}`;
    const messages = await subscribe(channel);
    // The short name alone needs no `.use`.
    await start(listenerIni({ url: REDIS_URL, channel, actions: 'delete', resources: 'record' }));
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/collections/c');
    await alice.put(`${RECORDS}/r1`, { data: {} });
    await alice.put(`${RECORDS}/r2`, { data: {} });
    await alice.delete('/buckets/b/collections/c/records/r1');
    await alice.delete('/buckets/b/collections/c');
    await alice.delete(`/buckets/b`);
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/collections/c');
    await alice.put(`${RECORDS}/r3`, { data: {} });
    await alice.delete(`${RECORDS}/r3`);
    // Messages arrive in commit order: nothing was sent for the filtered-out changes.
    expect(await messages.next()).toMatchObject({ action: 'delete', resource_name: 'record', record_id: 'r1' });
    expect(await messages.next()).toMatchObject({ action: 'delete', resource_name: 'record', record_id: 'r3' });
  });

  it('announces nothing of a rolled-back request, and times deliveries', async () => {
    const channel = `kinto-test-${randomUUID()}`;
    const messages = await subscribe(channel);
    const ini = `${BASE_INI}${listenerIni({ use: 'redis', url: REDIS_URL, channel, resources: 'bucket' })}`;
    app = await buildApp(loadConfig({ iniText: ini, env: {} }), { backends: await testBackends() });
    app.kinto.events.subscribe({
      phase: 'transaction',
      async handle(events) {
        if (events.some((e) => e.payload.bucket_id === 'refused')) throw new Error('refused');
      },
    });
    const timers: string[] = [];
    app.kinto.metrics.provide('test', { timer: (key) => timers.push(key), observe: () => {}, count: () => {} });
    await app.ready();
    alice = client(app, ALICE);
    expect((await alice.put('/buckets/refused')).statusCode).toBe(500);
    await alice.put('/buckets/accepted');
    expect(await messages.next()).toMatchObject({ action: 'create', bucket_id: 'accepted' });
    await expect.poll(() => timers).toContain('listeners.redis.seconds');
  });
});

describe('redis event listener: kinto-redis queue', () => {
  it('pushes on a list under the Python module name, configured by its last segment', async () => {
    const list = `kinto-test-${randomUUID()}`;
    await start(`kinto.event_listeners = kinto_redis.listeners
kinto.event_listeners.listeners.url = ${REDIS_URL}
kinto.event_listeners.listeners.listname = ${list}
`);
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/collections/c');
    let pushed: string[] = [];
    for (let attempt = 0; attempt < 50 && pushed.length < 2; attempt += 1) {
      pushed = await redis.lrange(list, 0, -1);
      if (pushed.length < 2) await new Promise((done) => setTimeout(done, 20));
    }
    await redis.del(list);
    // LPUSH: the newest first.
    expect(pushed.map((m) => JSON.parse(m).resource_name)).toEqual(['collection', 'bucket']);
  });

  it('accepts `use = kinto_redis.listeners` with the kinto-redis default list', async () => {
    await start(listenerIni({ use: 'kinto_redis.listeners', url: REDIS_URL, actions: 'create', resources: 'bucket' }, 'queue'));
    const before = await redis.llen('kinto.core.events');
    await alice.put(`/buckets/b-${randomUUID()}`);
    let after = before;
    for (let attempt = 0; attempt < 50 && after === before; attempt += 1) {
      after = await redis.llen('kinto.core.events');
      if (after === before) await new Promise((done) => setTimeout(done, 20));
    }
    expect(after).toBe(before + 1);
    const newest = JSON.parse((await redis.lpop('kinto.core.events'))!);
    expect(newest).toMatchObject({ action: 'create', resource_name: 'bucket' });
  });
});

describe('event listener settings', () => {
  it('are checked at start-up', async () => {
    await expect(makeApp('kinto.event_listeners = nothing\n')).rejects.toThrow(/event_listeners\.nothing\.use/);
    await expect(makeApp(listenerIni({ use: 'redis', actions: 'create explode' }))).rejects.toThrow(/'explode'/);
    await expect(makeApp(listenerIni({ use: './no/such/transport.ts' }))).rejects.toThrow(/cannot load event listener/);
    await expect(makeApp(listenerIni({ use: 'redis', channel: 'a', listname: 'b' }))).rejects.toThrow(/exclusive/);
  });
});
