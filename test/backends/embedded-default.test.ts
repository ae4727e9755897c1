import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { ALICE, client } from '../helpers/app.ts';

const folder = mkdtempSync(join(tmpdir(), 'kinto-embedded-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** No backend settings at all: the defaults must be the durable embedded engine. */
async function startWithDefaults() {
  const iniText = `[app:main]
kinto.userid_hmac_secret = s
multiauth.policies = basicauth
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
`;
  const config = loadConfig({ iniText, env: { KINTO_STORAGE_URL: join(folder, 'data'), KINTO_PERMISSION_URL: join(folder, 'data'), KINTO_CACHE_URL: join(folder, 'data') } });
  const app = await buildApp(config);
  await app.ready();
  return app;
}

describe('the embedded default', () => {
  it('creates its schema by itself and keeps the data across a restart', async () => {
    const first = await startWithDefaults();
    expect(first.kinto.storage.name).toBe('pglite');
    const alice = client(first, ALICE);
    expect((await alice.put('/buckets/kept', { permissions: { read: ['system.Everyone'] } })).statusCode).toBe(201);
    expect((await alice.put('/buckets/kept/collections/c', {})).statusCode).toBe(201);
    const record = await alice.post('/buckets/kept/collections/c/records', { data: { title: 'still here' } });
    await first.close();

    const second = await startWithDefaults();
    try {
      const again = await client(second, ALICE).get(`/buckets/kept/collections/c/records/${record.json().data.id}`);
      expect(again.statusCode).toBe(200);
      expect(again.json().data.title).toBe('still here');
      expect((await client(second).get('/buckets/kept')).statusCode).toBe(200);
    } finally {
      await second.close();
    }
  });
});
