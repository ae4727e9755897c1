import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SqlClient, SqlDriver, SqlResult } from '../../core/sql/driver.ts';
import { migrate } from '../../core/sql/migrations.ts';
import { PGliteDriver } from '../../core/sql/pglite-driver.ts';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { STORAGE_MIGRATIONS } from '../../core/storage/sql/schema.ts';
import { PERMISSION_MIGRATIONS } from '../../core/permission/sql.ts';
import { CACHE_MIGRATIONS } from '../../core/cache/sql.ts';

/** The PostgreSQL server of this machine (trust auth); CI must reach it: no silent skip. */
export const ADMIN_URL = process.env.KINTO_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A fresh database for one test file; `drop()` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `kinto_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function migrateAll(driver: SqlDriver): Promise<void> {
  for (const component of [STORAGE_MIGRATIONS, PERMISSION_MIGRATIONS, CACHE_MIGRATIONS]) await migrate(driver, component);
}

/** A driver whose `close` is a no-op, so that one engine serves many short-lived backends. */
export function keepOpen(driver: SqlDriver): SqlDriver {
  return {
    name: driver.name,
    supportsMultipleConnections: driver.supportsMultipleConnections,
    query: <Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> => driver.query<Row>(text, params),
    withConnection: <T>(work: (client: SqlClient) => Promise<T>) => driver.withConnection(work),
    exec: (script: string) => driver.exec(script),
    close: async () => {},
  };
}

let pglite: Promise<PGliteDriver> | null = null;

/** One migrated in-memory PGlite per test file (its start-up takes seconds). */
export function sharedPGlite(): Promise<PGliteDriver> {
  pglite ??= (async () => {
    const driver = new PGliteDriver(null);
    await migrateAll(driver);
    return driver;
  })();
  return pglite;
}

/** A migrated PostgreSQL database of its own and a driver on it, for SQL tests on both engines. */
export async function openPostgresTestDriver(): Promise<{ driver: SqlDriver; close: () => Promise<void> }> {
  const database = await createTestDatabase();
  const driver = new PgDriver({ url: database.url, poolSize: 2 });
  await migrateAll(driver);
  return {
    driver,
    close: async () => {
      await driver.close();
      await database.drop();
    },
  };
}

/** The shared in-memory PGlite engine, migrated, left open. */
export async function openPGliteTestDriver(): Promise<{ driver: SqlDriver; close: () => Promise<void> }> {
  return { driver: keepOpen(await sharedPGlite()), close: async () => {} };
}
