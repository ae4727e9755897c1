import { SqlCache } from '../../core/cache/sql.ts';
import { runCacheContract } from '../../core/cache/contract.ts';
import { SqlPermission } from '../../core/permission/sql.ts';
import { runPermissionContract } from '../../core/permission/contract.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import { runStorageContract } from '../../core/storage/contract.ts';
import { keepOpen, sharedPGlite } from '../helpers/databases.ts';

runStorageContract('pglite', async () => new SqlStorage(keepOpen(await sharedPGlite())));
runPermissionContract('pglite', async () => new SqlPermission(keepOpen(await sharedPGlite())));
runCacheContract('pglite', async () => new SqlCache(keepOpen(await sharedPGlite())));
