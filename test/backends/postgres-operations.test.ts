import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../core/app.ts';
import { migrateBackends } from '../../core/backends.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { ALICE, client } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { startPrivatePostgres } from '../helpers/private-postgres.ts';

function iniFor(url: string, extra = ''): string {
  const backends = ['storage', 'permission', 'cache']
    .map((kind) => `kinto.${kind}_backend = kinto.core.${kind}.postgresql\nkinto.${kind}_url = ${url}`)
    .join('\n');
  return `[app:main]
kinto.userid_hmac_secret = s
multiauth.policies = basicauth
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
kinto.retry_after_seconds = 7
${backends}
${extra}`;
}

async function appOn(url: string, extra = ''): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: iniFor(url, extra), env: {} }));
  await app.ready();
  return app;
}

describe('a read-only database user', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const role = `kinto_ro_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateBackends(loadConfig({ iniText: iniFor(database.url), env: {} }).settings);
    const writer = await appOn(database.url);
    await client(writer, ALICE).put('/buckets/b', { permissions: { read: ['system.Everyone'] } });
    await writer.close();
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    await admin.end();
  });
  afterAll(async () => {
    await database.drop();
    const admin = new pg.Client({ connectionString: database.url.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('serves reads in readonly mode, refuses writes, and says why a list cannot start', async () => {
    const url = database.url.replace('postgres@', `${role}@`);
    const app = await appOn(url, 'kinto.readonly = true');
    try {
      const anonymous = client(app);
      expect((await anonymous.get('/buckets/b')).statusCode).toBe(200);
      const write = await client(app, ALICE).put('/buckets/c', {});
      expect(write.statusCode).toBe(405);
      expect(write.json().errno).toBe(115);
      const list = await anonymous.get('/buckets/b/collections');
      expect(list.statusCode).toBe(503);
      expect(list.json().message).toBe(
        'Resource timestamp cannot be written. Plural endpoint must be hit at least once from a writable instance.',
      );
      expect((await anonymous.get('/__heartbeat__')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('connection pool exhausted', () => {
  it('makes requests wait up to the pool timeout, then answer 503, never hang', async () => {
    const database = await createTestDatabase();
    await migrateBackends(loadConfig({ iniText: iniFor(database.url), env: {} }).settings);
    const app = await appOn(database.url, 'kinto.storage_pool_size = 1\nkinto.storage_pool_timeout = 1');
    try {
      const held = await app.kinto.storage.begin();
      const started = Date.now();
      const response = await client(app, ALICE).get('/buckets');
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('7');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      await held.rollback();
      expect((await client(app, ALICE).get('/buckets')).statusCode).toBe(200);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});

describe('PostgreSQL stopped and started again', () => {
  let server: Awaited<ReturnType<typeof startPrivatePostgres>>;
  beforeAll(async () => {
    server = await startPrivatePostgres();
    await migrateBackends(loadConfig({ iniText: iniFor(server.url), env: {} }).settings);
  });
  afterAll(() => server.destroy());

  it('answers 503 with Retry-After, reports the backend in the heartbeat, and recovers by itself', async () => {
    const app = await appOn(server.url, 'kinto.storage_pool_timeout = 2');
    const alice = client(app, ALICE);
    try {
      expect((await alice.put('/buckets/b', {})).statusCode).toBe(201);
      server.stop();
      const down = await alice.get('/buckets/b');
      expect(down.statusCode).toBe(503);
      expect(down.headers['retry-after']).toBe('7');
      expect(down.json()).toMatchObject({ code: 503, errno: 201, error: 'Service Unavailable' });
      const heartbeat = await alice.get('/__heartbeat__');
      expect(heartbeat.statusCode).toBe(503);
      expect(heartbeat.json()).toMatchObject({ storage: false, permission: false });
      server.start();
      expect((await alice.get('/buckets/b')).statusCode).toBe(200);
      expect((await alice.get('/__heartbeat__')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
