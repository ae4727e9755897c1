import { afterAll, beforeAll } from 'vitest';
import { SqlCache } from '../../core/cache/sql.ts';
import { runCacheContract } from '../../core/cache/contract.ts';
import { SqlPermission } from '../../core/permission/sql.ts';
import { runPermissionContract } from '../../core/permission/contract.ts';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import { runStorageContract } from '../../core/storage/contract.ts';
import { createTestDatabase, migrateAll } from '../helpers/databases.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  database = await createTestDatabase();
  const driver = new PgDriver({ url: database.url });
  await migrateAll(driver);
  await driver.close();
});
afterAll(async () => {
  await database.drop();
});

const driver = () => new PgDriver({ url: database.url, poolSize: 4 });
runStorageContract('postgresql', async () => new SqlStorage(driver()));
runPermissionContract('postgresql', async () => new SqlPermission(driver()));
runCacheContract('postgresql', async () => new SqlCache(driver()));
