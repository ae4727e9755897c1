import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';

const INDEX = '<!doctype html><html><head><script src="/v1/admin/assets/app.js"></script></head><body>Kinto Admin</body></html>';

async function adminApp(settings: Record<string, string>): Promise<FastifyInstance> {
  const lines = Object.entries({
    'kinto.includes': 'kinto.plugins.admin',
    'kinto.storage_backend': 'kinto.core.storage.memory',
    'kinto.permission_backend': 'kinto.core.permission.memory',
    'kinto.cache_backend': 'kinto.core.cache.memory',
    ...settings,
  }).map(([key, value]) => `${key} = ${value}`);
  const app = await buildApp(loadConfig({ iniText: `[app:main]\nuse = egg:kinto\n${lines.join('\n')}\n`, env: {} }));
  await app.ready();
  return app;
}

describe('admin: with a Kinto Admin build', () => {
  let root: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'kinto-admin-'));
    const build = join(root, 'build');
    mkdirSync(join(build, 'assets'), { recursive: true });
    writeFileSync(join(build, 'index.html'), INDEX);
    writeFileSync(join(build, 'VERSION'), '3.4.0\n');
    writeFileSync(join(build, 'assets', 'app.js'), 'console.log("admin");');
    writeFileSync(join(build, '.env'), 'SECRET=1');
    writeFileSync(join(root, 'outside.txt'), 'not served');
    app = await adminApp({ 'kinto.admin_assets_path': build });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('redirects /v1/admin to /v1/admin/ and serves the home page with a Content-Security-Policy', async () => {
    const redirect = await app.inject({ method: 'GET', url: '/v1/admin?x=1' });
    expect(redirect.statusCode).toBe(307);
    expect(redirect.headers.location).toBe('/v1/admin/');
    const home = await app.inject({ method: 'GET', url: '/v1/admin/' });
    expect(home.statusCode).toBe(200);
    expect(home.headers['content-type']).toMatch(/^text\/html/);
    expect(home.headers['content-security-policy']).toBe(
      "default-src 'self'; img-src data: *; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'",
    );
    expect(home.body).toBe(INDEX);
  });

  it('serves the build’s files, and nothing outside it nor its dot files', async () => {
    const script = await app.inject({ method: 'GET', url: '/v1/admin/assets/app.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.body).toBe('console.log("admin");');
    for (const url of ['/v1/admin/../outside.txt', '/v1/admin/%2e%2e/outside.txt', '/v1/admin/.env', '/v1/admin/missing.js']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.body, url).not.toContain('not served');
      expect(response.body, url).not.toContain('SECRET');
    }
  });

  it('advertises the admin capability with the build’s version', async () => {
    const hello = (await app.inject({ method: 'GET', url: '/v1/' })).json();
    expect(hello.capabilities.admin).toEqual({
      description: 'Serves the admin console.',
      url: 'https://github.com/Kinto/kinto-admin/',
      version: '3.4.0',
    });
  });
});

describe('admin: without a build', () => {
  it('explains how to get the Kinto Admin on /v1/admin/', async () => {
    const app = await adminApp({});
    const home = await app.inject({ method: 'GET', url: '/v1/admin/' });
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('kinto.admin_assets_path');
    expect((await app.inject({ method: 'GET', url: '/v1/admin/assets/app.js' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/' })).json().capabilities.admin.version).toBeNull();
    await app.close();
  });
});
