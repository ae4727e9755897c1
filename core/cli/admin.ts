import { closeBackends, migrateBackends, openBackends, type Backends } from '../backends.ts';
import { EventBus } from '../events.ts';
import type { Settings } from '../settings/load.ts';
import { inUnitOfWork, type UnitOfWork } from '../unit-of-work.ts';
import { CliError, loadPluginConfig, nonNegativeInteger, progress } from './common.ts';

async function withBackends<T>(iniPath: string | undefined, work: (backends: Backends, settings: Settings) => Promise<T>): Promise<T> {
  const { config, migrations } = await loadPluginConfig(iniPath);
  const settings = config.settings;
  const backends = await openBackends(settings, migrations);
  try {
    return await work(backends, settings);
  } finally {
    await closeBackends(backends);
  }
}

/** Storage and permission writes of one command, committed together (or not at all). */
function transaction<T>(backends: Backends, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  return inUnitOfWork({ ...backends, events: new EventBus() }, { readonly: false }, work);
}

/** `kinto migrate [--dry-run]`: one line per SQL component, the included plugins' tables too. */
export async function runMigrate(iniPath: string | undefined, dryRun: boolean): Promise<void> {
  const { config, migrations } = await loadPluginConfig(iniPath);
  const steps = await migrateBackends(config.settings, dryRun, migrations);
  for (const step of steps) {
    const verb = dryRun ? 'would apply' : 'applied';
    const what = step.applied.length ? `${verb} ${step.applied.join(', ')}` : 'up to date';
    console.log(`${step.component}: version ${step.from} -> ${step.to} (${what})`);
  }
  if (!steps.length) console.log('No SQL backend configured: nothing to migrate.');
}

export interface PurgeOptions {
  /** Kinto's positional form: resource names, then the number of tombstones to keep. */
  args: string[];
  maxAgeDays?: number;
  maxCount?: number;
}

function positionalMaxRetained(value: string): number {
  try {
    return nonNegativeInteger('max-retained')(value);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** `kinto purge-deleted [resource ...] [max-retained]`: removes tombstones, for every resource by default. */
export async function runPurgeDeleted(iniPath: string | undefined, options: PurgeOptions): Promise<void> {
  const args = [...options.args];
  let maxRetained = options.maxCount;
  if (args.length && /^\d+$/.test(args.at(-1)!)) maxRetained = positionalMaxRetained(args.pop()!);
  const resources: (string | null)[] = args.length ? args : [null];
  // Clamped: a huge age would make a timestamp PostgreSQL cannot read as a BIGINT.
  const before = options.maxAgeDays === undefined
    ? undefined
    : Math.max(Number.MIN_SAFE_INTEGER, Date.now() - options.maxAgeDays * 86_400_000);
  await withBackends(iniPath, async ({ storage }) => {
    const bar = progress('Purging tombstones', resources.length);
    let purged = 0;
    for (const resource of resources) {
      purged += await storage.purgeDeleted(resource, '*', { before, maxRetained });
      bar.tick();
    }
    bar.done();
    const kept = maxRetained === undefined ? '' : ` (keeping ${maxRetained} per parent and resource)`;
    console.log(`Purged ${purged} tombstones${kept}.`);
  });
}

/** `kinto flush-cache`: empties the cache backend. */
export async function runFlushCache(iniPath: string | undefined): Promise<void> {
  await withBackends(iniPath, async ({ cache }) => {
    await cache.flush();
    console.log('Cache has been cleared.');
  });
}

/**
 * `kinto delete-collection --bucket B --collection C`: removes a collection, its records and
 * their permissions for good (no tombstones), as Kinto's former `delete-collection` script;
 * with its exit codes (31 read-only, 32 no such bucket, 33 no such collection).
 */
export async function runDeleteCollection(iniPath: string | undefined, bucket: string, collection: string): Promise<void> {
  await withBackends(iniPath, async (backends, settings) => {
    if (settings.bool('readonly', false)) throw new CliError('Cannot delete the collection while in readonly mode.', 31);
    const bucketUri = `/buckets/${bucket}`;
    const collectionUri = `${bucketUri}/collections/${collection}`;
    const deleted = await transaction(backends, async ({ storage, permission }) => {
      if (!(await storage.get('bucket', '', bucket))) throw new CliError(`Bucket '${bucketUri}' does not exist.`, 32);
      if (!(await storage.get('collection', bucketUri, collection))) {
        throw new CliError(`Collection '${collectionUri}' does not exist.`, 33);
      }
      const records = await storage.deleteAll('record', collectionUri, { withTombstones: false });
      await storage.purgeDeleted('record', collectionUri);
      await storage.delete('collection', bucketUri, collection, { withTombstone: false });
      await permission.deleteObjectPermissions(collectionUri, `${collectionUri}/records/*`);
      return records.length;
    });
    console.log(deleted ? `${deleted} record(s) were deleted.` : `No records found for '${collectionUri}'.`);
    console.log(`'${collectionUri}' collection object was deleted, with its permissions.`);
  });
}
