/**
 * The backends HTTP tests run on, chosen by KINTO_TEST_BACKEND: `memory` (default),
 * `postgresql` (one database per test file on the local server, emptied before each app)
 * or `pglite` (one in-memory engine per test file). The same protocol suite thus runs on
 * every implementation.
 */
import { afterAll } from 'vitest';
import type { Backends } from '../../core/backends.ts';
import { SqlCache } from '../../core/cache/sql.ts';
import { SqlPermission } from '../../core/permission/sql.ts';
import type { SqlDriver } from '../../core/sql/driver.ts';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import { createTestDatabase, keepOpen, migrateAll, sharedPGlite } from './databases.ts';

export const TEST_BACKEND = process.env.KINTO_TEST_BACKEND ?? 'memory';

let database: Promise<{ url: string; drop: () => Promise<void> }> | null = null;

function fileDatabase() {
  if (!database) {
    database = (async () => {
      const created = await createTestDatabase();
      const driver = new PgDriver({ url: created.url });
      await migrateAll(driver);
      await driver.close();
      return created;
    })();
    afterAll(async () => (await database!).drop());
  }
  return database;
}

function backendsOn(driver: SqlDriver): Backends {
  return { storage: new SqlStorage(driver), permission: new SqlPermission(driver), cache: new SqlCache(driver) };
}

/** Fresh, empty backends for one app, or undefined to use those the settings name (memory). */
export async function testBackends(): Promise<Backends | undefined> {
  if (TEST_BACKEND === 'memory') return undefined;
  let driver: SqlDriver;
  if (TEST_BACKEND === 'postgresql') {
    driver = new PgDriver({ url: (await fileDatabase()).url, poolSize: 5 });
  } else if (TEST_BACKEND === 'pglite') {
    driver = keepOpen(await sharedPGlite());
  } else {
    throw new Error(`Unknown KINTO_TEST_BACKEND '${TEST_BACKEND}'`);
  }
  const backends = backendsOn(driver);
  await driver.exec('DELETE FROM objects; DELETE FROM timestamps; DELETE FROM access_control_entries; DELETE FROM user_principals; DELETE FROM cache;');
  // Storage and permission close the same driver: only the last close ends the pool.
  let open = 3;
  const closeOnce = async () => {
    open -= 1;
    if (open === 0) await driver.close();
  };
  backends.storage.close = closeOnce;
  backends.permission.close = closeOnce;
  backends.cache.close = closeOnce;
  return backends;
}
