import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import type { Heartbeat } from '../../core/context.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { BASE_INI } from '../helpers/app.ts';
import { testBackends } from '../helpers/test-backends.ts';

/** An app whose plugins registered these heartbeats, with checks limited to `timeout` seconds. */
async function appWith(heartbeats: Record<string, Heartbeat>, timeout = 0.3): Promise<FastifyInstance> {
  const config = loadConfig({ iniText: `${BASE_INI}kinto.heartbeat_timeout_seconds = ${timeout}\n` });
  const app = await buildApp(config, { backends: await testBackends() });
  for (const [name, check] of Object.entries(heartbeats)) app.kinto.heartbeats.add(name, check);
  await app.ready();
  return app;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('/__heartbeat__', () => {
  it('reports a check that hangs as failed once its own timeout is over: 503', async () => {
    let settled = false;
    app = await appWith({
      hanging: () => new Promise<boolean>(() => {}),
      slow_but_fine: () => new Promise<boolean>((done) => setTimeout(() => ((settled = true), done(true)), 100)),
    });
    const started = Date.now();
    const response = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    const elapsed = Date.now() - started;
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ storage: true, permission: true, cache: true, hanging: false, slow_but_fine: true });
    expect(settled).toBe(true);
    // Checks run side by side, each bounded: not the sum of the waits, not the default 10 s.
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
  });

  it('ignores checks that answer null (not applicable): 200', async () => {
    app = await appWith({ not_applicable: async () => null });
    const response = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ not_applicable: null, storage: true });
  });

  it('reports a check that throws as failed: 503', async () => {
    app = await appWith({ broken: async () => Promise.reject(new Error('down')) });
    const response = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ broken: false, storage: true });
  });

  it('__lbheartbeat__ answers without running the checks', async () => {
    app = await appWith({ hanging: () => new Promise<boolean>(() => {}) });
    const response = await app.inject({ method: 'GET', url: '/v1/__lbheartbeat__' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({});
  });
});
