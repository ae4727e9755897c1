import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, makeApp } from '../../../test/helpers/app.ts';

/** A server on a real port, and what a Prometheus scraper would read from it. */
async function listen(extraIni: string): Promise<{ app: FastifyInstance; base: string }> {
  const app = await makeApp(`kinto.includes = kinto.plugins.prometheus\n${extraIni}`);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function scrape(base: string, path = '/v1/__metrics__'): Promise<string> {
  const response = await fetch(`${base}${path}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('prometheus plugin', () => {
  let app: FastifyInstance;
  let base: string;
  let metrics: string;

  beforeAll(async () => {
    ({ app, base } = await listen(''));
    await fetch(`${base}/v1/`, { headers: ALICE });
    await fetch(`${base}/v1/`, { headers: ALICE });
    await fetch(`${base}/v1/buckets/b`, { method: 'PUT', headers: { ...ALICE, 'content-type': 'application/json' }, body: '{}' });
    await fetch(`${base}/v1/__heartbeat__`);
    await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers: { ...ALICE, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ method: 'PUT', path: '/buckets/b/collections/c' }] }),
    });
    await fetch(`${base}/v1/nowhere/to/be/found`);
    metrics = await scrape(base);
  });

  afterAll(() => app.close());

  it('exposes view durations as one histogram labelled by endpoint and method', () => {
    expect(sample(metrics, 'kinto_view_seconds_count{endpoint="hello",method="GET"}')).toBe(2);
    expect(sample(metrics, 'kinto_view_seconds_count{endpoint="bucket-object",method="PUT"}')).toBe(1);
    expect(sample(metrics, 'kinto_view_seconds_count{endpoint="heartbeat",method="GET"}')).toBe(1);
    expect(sample(metrics, 'kinto_view_seconds_count{endpoint="batch",method="POST"}')).toBe(1);
    expect(sample(metrics, 'kinto_view_seconds_count{endpoint="collection-object",method="PUT"}')).toBe(1);
    // No route: no path in the labels, whatever the URL.
    expect(sample(metrics, 'kinto_view_seconds_count{endpoint="unknown",method="GET"}')).toBe(1);
    expect(metrics).not.toContain('nowhere');
  });

  it("uses Kinto's default buckets", () => {
    const bounds = [...metrics.matchAll(/^kinto_view_seconds_bucket\{le="([^"]+)",endpoint="hello",method="GET"\}/gm)].map((m) => m[1]);
    expect(bounds).toEqual(['0.01', '0.05', '0.1', '0.5', '1', '3', '6', '+Inf']);
  });

  it('times backends per method and permission checks', () => {
    expect(sample(metrics, 'kinto_storage_seconds_count{method="create"}')).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'kinto_permission_seconds_count{method="get_user_principals"}')).toBeGreaterThan(0);
    expect(sample(metrics, 'kinto_cache_seconds_count{method="heartbeat"}')).toBe(1);
    expect(sample(metrics, 'kinto_authentication_permits_seconds_count')).toBeGreaterThan(0);
  });

  it('counts users and authentications of top-level requests', () => {
    const users = metrics.split('\n').filter((l) => l.startsWith('kinto_users_total{'));
    expect(users).toHaveLength(1);
    expect(users[0]).toMatch(/^kinto_users_total\{auth="basicauth",userid="[0-9a-f]{64}"\} 4$/);
    expect(sample(metrics, 'kinto_authn_type_total{type="basicauth"}')).toBe(4);
  });

  it('advertises the prometheus capability', async () => {
    const hello = (await (await fetch(`${base}/v1/`)).json()) as { capabilities: Record<string, unknown> };
    expect(hello.capabilities.prometheus).toEqual({
      description: 'Prometheus metrics.',
      url: 'https://github.com/Kinto/kinto/',
      prefix: 'kinto_',
      disabled_metrics: [],
    });
  });
});

describe('prometheus settings', () => {
  it('applies prefix, disabled metrics, buckets and endpoint', async () => {
    const { app, base } = await listen(
      [
        'kinto.prometheus_prefix = remote-settings',
        'kinto.prometheus_disabled_metrics = storage remotesettings_authentication_permits_seconds',
        'kinto.prometheus_histogram_buckets = 0.2 2 Inf',
        'kinto.prometheus_endpoint = /metrics',
        '',
      ].join('\n'),
    );
    try {
      await fetch(`${base}/v1/`, { headers: ALICE });
      const metrics = await scrape(base, '/metrics');
      const bounds = [...metrics.matchAll(/^remotesettings_view_seconds_bucket\{le="([^"]+)",endpoint="hello"/gm)].map((m) => m[1]);
      expect(bounds).toEqual(['0.2', '2', '+Inf']);
      expect(metrics).toContain('remotesettings_permission_seconds_count{method="get_user_principals"}');
      expect(metrics).not.toContain('remotesettings_storage_seconds');
      expect(metrics).not.toContain('remotesettings_authentication_permits_seconds');
      expect((await fetch(`${base}/v1/__metrics__`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
