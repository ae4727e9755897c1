import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../core/app.ts';
import { migrateBackends } from '../../core/backends.ts';
import { loadConfig } from '../../core/settings/load.ts';
import type { SqlClient } from '../../core/sql/driver.ts';
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
    const alice = client(writer, ALICE);
    await alice.put('/buckets/b', { permissions: { read: ['system.Everyone'] } });
    await alice.put('/buckets/b/collections/c', {});
    for (const id of ['r1', 'r2', 'r3']) await alice.put(`/buckets/b/collections/c/records/${id}`, { data: {} });
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
    const loaded = loadConfig({ iniText: iniFor(url, 'kinto.readonly = true'), env: {} });
    const app = await buildApp(loaded);
    try {
      expect(loaded.warnings.join('\n')).not.toMatch(/starting in readonly mode/);
      const anonymous = client(app);
      expect((await anonymous.get('/buckets/b')).statusCode).toBe(200);
      const write = await client(app, ALICE).put('/buckets/c', {});
      expect(write.statusCode).toBe(405);
      expect(write.json().errno).toBe(115);
      const list = await anonymous.get('/buckets/b/groups');
      expect(list.statusCode).toBe(503);
      expect(list.json().message).toBe(
        'Resource timestamp cannot be written. Plural endpoint must be hit at least once from a writable instance.',
      );
      expect((await anonymous.get('/__heartbeat__')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('starts in readonly mode by itself, says why, and pages through lists with a memory cache', async () => {
    const loaded = loadConfig({ iniText: iniFor(database.url.replace('postgres@', `${role}@`)), env: {} });
    const app = await buildApp(loaded);
    try {
      expect(app.kinto.settings.bool('readonly')).toBe(true);
      expect(loaded.warnings.join('\n')).toMatch(/database user may only read: starting in readonly mode/);
      expect(loaded.warnings.join('\n')).toMatch(/in-process memory cache/);
      const anonymous = client(app);
      expect((await anonymous.get('/')).json().settings.readonly).toBe(true);
      const first = await anonymous.get('/buckets/b/collections/c/records?_limit=2&_sort=id');
      expect(first.json().data.map((r: { id: string }) => r.id)).toEqual(['r1', 'r2']);
      const nextPage = new URL(first.headers['next-page'] as string);
      expect((await anonymous.get(nextPage.pathname + nextPage.search)).json().data.map((r: { id: string }) => r.id)).toEqual(['r3']);
      const write = await client(app, ALICE).put('/buckets/b/collections/c/records/r4', { data: {} });
      expect(write.json()).toMatchObject({ code: 405, errno: 115, error: 'Method Not Allowed' });
      expect((await anonymous.get('/__heartbeat__')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('keeps writing when only the cache table is read-only: the cache alone becomes a memory one', async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`GRANT INSERT, UPDATE, DELETE ON objects, timestamps, access_control_entries, user_principals TO ${role}`);
    await admin.end();
    const loaded = loadConfig({ iniText: iniFor(database.url.replace('postgres@', `${role}@`)), env: {} });
    const app = await buildApp(loaded);
    try {
      expect(app.kinto.settings.bool('readonly')).toBe(false);
      expect(loaded.warnings.join('\n')).toMatch(/in-process memory cache/);
      expect(loaded.warnings.join('\n')).not.toMatch(/starting in readonly mode/);
      expect((await client(app, ALICE).put('/buckets/b/collections/c/records/written', { data: {} })).statusCode).toBe(201);
    } finally {
      await app.close();
    }
  });
});

describe('connection pool exhausted', () => {
  it('makes requests wait up to the pool timeout, then answer 503, never hang', async () => {
    const database = await createTestDatabase();
    await migrateBackends(loadConfig({ iniText: iniFor(database.url), env: {} }).settings);
    const app = await appOn(database.url, 'kinto.storage_pool_size = 1\nkinto.storage_max_overflow = 0\nkinto.storage_pool_timeout = 1');
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

describe('pool settings', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateBackends(loadConfig({ iniText: iniFor(database.url), env: {} }).settings);
  });
  afterAll(async () => database?.drop());

  it('open pool_size + max_overflow connections, read from the environment as Kinto does', async () => {
    const env = { KINTO_STORAGE_POOL_SIZE: '1', KINTO_STORAGE_MAX_OVERFLOW: '1', KINTO_STORAGE_POOL_TIMEOUT: '0.5' };
    const app = await buildApp(loadConfig({ iniText: iniFor(database.url), env }));
    try {
      const held = [await app.kinto.storage.begin(), await app.kinto.storage.begin()];
      const waiting = await client(app, ALICE).get('/buckets');
      expect(waiting.statusCode).toBe(503);
      await held[0].rollback();
      expect((await client(app, ALICE).get('/buckets')).statusCode).toBe(200);
      await held[1].rollback();
    } finally {
      await app.close();
    }
  });

  it('answer 503 at once beyond max_backlog instead of queueing', { timeout: 10_000 }, async () => {
    const extra = 'kinto.storage_pool_size = 1\nkinto.storage_max_overflow = 0\nkinto.storage_pool_timeout = 30\nkinto.storage_max_backlog = 0';
    const app = await appOn(database.url, extra);
    try {
      const held = await app.kinto.storage.begin();
      const refused = await client(app, ALICE).get('/buckets');
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('7');
      await held.rollback();
      expect((await client(app, ALICE).get('/buckets')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('prepare repeated statements once per connection, unless storage_prepared_statements is off', async () => {
    for (const [extra, expected] of [['', true], ['kinto.storage_prepared_statements = false', false]] as const) {
      const app = await appOn(database.url, `kinto.storage_pool_size = 1\nkinto.storage_max_overflow = 0\n${extra}`);
      try {
        for (let i = 0; i < 5; i++) await app.kinto.storage.get('bucket', '', 'none');
        const tx = await app.kinto.storage.begin();
        const { client: connection } = (tx as unknown as { sql: { client: SqlClient } }).sql;
        const prepared = await connection.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
        await tx.rollback();
        expect(prepared.rows.some((row) => row.statement.includes('FROM objects'))).toBe(expected);
      } finally {
        await app.close();
      }
    }
  });

  it('replace connections older than pool_recycle seconds', async () => {
    const app = await appOn(database.url, 'kinto.storage_pool_size = 1\nkinto.storage_max_overflow = 0\nkinto.storage_pool_recycle = 1');
    const backendPid = async () => {
      const tx = await app.kinto.storage.begin();
      try {
        const { client: connection } = (tx as unknown as { sql: { client: SqlClient } }).sql;
        return (await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      } finally {
        await tx.rollback();
      }
    };
    try {
      const first = await backendPid();
      expect(await backendPid()).toBe(first);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await backendPid()).not.toBe(first);
    } finally {
      await app.close();
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
