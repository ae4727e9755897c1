import { MemoryCache } from '../../core/cache/memory.ts';
import { runCacheContract } from '../../core/cache/contract.ts';
import { MemoryPermission } from '../../core/permission/memory.ts';
import { runPermissionContract } from '../../core/permission/contract.ts';
import { MemoryStorage } from '../../core/storage/memory.ts';
import { runStorageContract } from '../../core/storage/contract.ts';

runStorageContract('memory', async () => new MemoryStorage());
runPermissionContract('memory', async () => new MemoryPermission());
runCacheContract('memory', async () => new MemoryCache());
