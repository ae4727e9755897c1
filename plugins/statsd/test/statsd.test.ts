import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, client, makeApp } from '../../../test/helpers/app.ts';

/** A real StatsD server stand-in: every UDP packet's lines, as received. */
class UdpCollector {
  readonly lines: string[] = [];
  private readonly socket: Socket = createSocket('udp4');
  port = 0;

  async start(): Promise<number> {
    this.socket.on('message', (packet) => this.lines.push(...packet.toString('utf8').split('\n').filter(Boolean)));
    await new Promise<void>((done) => this.socket.bind(0, '127.0.0.1', done));
    this.port = (this.socket.address() as AddressInfo).port;
    return this.port;
  }

  /** Waits until a line starts with `name:` and returns it. */
  async line(name: string, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.lines.find((line) => line.startsWith(`${name}:`));
      if (found) return found;
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error(`No StatsD packet for ${name}; received: ${this.lines.join(' ')}`);
  }

  close(): void {
    this.socket.close();
  }
}

const collector = new UdpCollector();
let app: FastifyInstance;

beforeAll(async () => {
  const port = await collector.start();
  app = await makeApp(`kinto.includes = kinto.plugins.statsd\nkinto.statsd_url = udp://127.0.0.1:${port}\n`);
  const alice = client(app, ALICE);
  await alice.get('/');
  await client(app).get('/__heartbeat__');
  await alice.put('/buckets/b', {});
  await alice.post('/batch', { requests: [{ method: 'PUT', path: '/buckets/b/collections/c' }, { path: '/buckets/b/collections/c' }] });
});

afterAll(async () => {
  await app.close();
  collector.close();
});

describe('statsd plugin', () => {
  it('times views by endpoint and method, prefixed with the project name', async () => {
    expect(await collector.line('kinto.view.hello.GET')).toMatch(/^kinto\.view\.hello\.GET:[\d.]+\|ms$/);
    await collector.line('kinto.view.heartbeat.GET');
    await collector.line('kinto.view.bucket-object.PUT');
    await collector.line('kinto.view.batch.POST');
  });

  it('times the views of batch subrequests', async () => {
    await collector.line('kinto.view.collection-object.PUT');
    await collector.line('kinto.view.collection-object.GET');
  });

  it('times the storage, permission and cache backends per method, and permission checks', async () => {
    await collector.line('kinto.storage.get');
    await collector.line('kinto.storage.create');
    await collector.line('kinto.storage.begin');
    await collector.line('kinto.storage.commit');
    await collector.line('kinto.permission.get_user_principals');
    await collector.line('kinto.cache.heartbeat');
    expect(await collector.line('kinto.authentication.permits')).toMatch(/\|ms$/);
  });

  it('counts unique users with a set and authentications per policy', async () => {
    expect(await collector.line('kinto.users')).toMatch(/^kinto\.users:basicauth\.[0-9a-f]{64}\|s$/);
    expect(await collector.line('kinto.authn_type.basicauth')).toBe('kinto.authn_type.basicauth:1|c');
  });

  it('counts top-level requests only: a batch authenticates once', () => {
    const authentications = collector.lines.filter((line) => line.startsWith('kinto.authn_type.basicauth:'));
    // GET /, PUT /buckets/b and the batch: its two subrequests add nothing.
    expect(authentications).toHaveLength(3);
  });
});

describe('statsd settings', () => {
  it('uses statsd_prefix when project_name is empty (Kinto rule)', async () => {
    const other = await makeApp(
      `kinto.includes = kinto.plugins.statsd\nkinto.statsd_url = udp://127.0.0.1:${collector.port}\nkinto.project_name =\nkinto.statsd_prefix = myprefix\n`,
    );
    await client(other).get('/');
    await collector.line('myprefix.view.hello.GET');
    await other.close();
  });

  it('refuses a statsd_url that is not udp://', async () => {
    await expect(makeApp('kinto.includes = kinto.plugins.statsd\nkinto.statsd_url = tcp://localhost:8125\n')).rejects.toThrow(
      /statsd_url'? must .*udp:\/\//,
    );
  });

  it('refuses to run with the prometheus plugin as well: one metrics service', async () => {
    await expect(
      makeApp('kinto.includes = kinto.plugins.statsd kinto.plugins.prometheus\nkinto.statsd_url = udp://127.0.0.1:8125\n'),
    ).rejects.toThrow(/only one of StatsD\/Prometheus/);
  });
});
