import type { Cache } from './cache/types.ts';
import { MemoryCache } from './cache/memory.ts';
import { CACHE_MIGRATIONS, SqlCache } from './cache/sql.ts';
import type { PermissionBackend } from './permission/types.ts';
import { MemoryPermission } from './permission/memory.ts';
import { PERMISSION_MIGRATIONS, SqlPermission } from './permission/sql.ts';
import type { Settings } from './settings/load.ts';
import { SettingsError } from './settings/ini.ts';
import type { SqlDriver } from './sql/driver.ts';
import { latestVersion, migrate, schemaVersion, type ComponentMigrations, type MigrationStep } from './sql/migrations.ts';
import { PgDriver } from './sql/pg-driver.ts';
import { PGliteDriver } from './sql/pglite-driver.ts';
import { shareDrivers } from './sql/shared-driver.ts';
import type { StorageBackend } from './storage/types.ts';
import { MemoryStorage } from './storage/memory.ts';
import { SqlStorage } from './storage/sql/storage.ts';
import { STORAGE_MIGRATIONS } from './storage/sql/schema.ts';

export interface Backends {
  storage: StorageBackend;
  permission: PermissionBackend;
  cache: Cache;
}

type Kind = keyof Backends;
type Engine = 'memory' | 'postgresql' | 'pglite';

export const DEFAULT_DATA_DIR = 'data';
const KINDS: Kind[] = ['storage', 'permission', 'cache'];
const MIGRATIONS: Record<Kind, ComponentMigrations> = {
  storage: STORAGE_MIGRATIONS,
  permission: PERMISSION_MIGRATIONS,
  cache: CACHE_MIGRATIONS,
};

/** Backend names as Kinto operators write them, and our short names. */
function engineOf(kind: Kind, name: string): Engine {
  const short = name.replace(new RegExp(`^kinto\\.core\\.${kind}\\.`), '');
  if (short === 'memory' || short === 'postgresql' || short === 'pglite') return short;
  if (short === 'embedded') return 'pglite';
  throw new SettingsError(
    `Unknown ${kind}_backend '${name}' (expected kinto.core.${kind}.memory, kinto.core.${kind}.postgresql or pglite)`,
  );
}

interface Plan {
  engine: Engine;
  url: string;
}

function planOf(kind: Kind, settings: Settings): Plan {
  const engine = engineOf(kind, settings.str(`${kind}_backend`, 'pglite') || 'pglite');
  const url = settings.str(`${kind}_url`, '');
  if (engine === 'postgresql' && !/^postgres(ql)?:\/\//.test(url)) {
    throw new SettingsError(`${kind}_url must be a postgresql:// URL for the PostgreSQL ${kind} backend (got '${url}')`);
  }
  return { engine, url: engine === 'pglite' ? url || DEFAULT_DATA_DIR : url };
}

function driverFor(kind: Kind, plan: Plan, settings: Settings): SqlDriver {
  if (plan.engine === 'pglite') return new PGliteDriver(plan.url === 'memory://' ? null : plan.url);
  return new PgDriver({
    url: plan.url,
    poolSize: settings.int(`${kind}_pool_size`, 10),
    connectionTimeoutMs: settings.int(`${kind}_pool_timeout`, 30) * 1000,
  });
}

/** Builds the three backends; those pointing at the same database share one driver. */
function instantiate(settings: Settings): { backends: Backends; drivers: Map<Kind, SqlDriver> } {
  const plans = Object.fromEntries(KINDS.map((k) => [k, planOf(k, settings)])) as Record<Kind, Plan>;
  const drivers = shareDrivers(
    KINDS.filter((k) => plans[k].engine !== 'memory').map((k) => ({ kind: k, key: `${plans[k].engine}|${plans[k].url}` })),
    (kind) => driverFor(kind as Kind, plans[kind as Kind], settings),
  ) as Map<Kind, SqlDriver>;
  const prefix = settings.str('cache_prefix', '');
  const backends: Backends = {
    storage: drivers.has('storage') ? new SqlStorage(drivers.get('storage')!) : new MemoryStorage(),
    permission: drivers.has('permission') ? new SqlPermission(drivers.get('permission')!) : new MemoryPermission(),
    cache: drivers.has('cache') ? new SqlCache(drivers.get('cache')!, { prefix }) : new MemoryCache({ prefix }),
  };
  return { backends, drivers };
}

/** The schemas living in a backend's database: plugins' tables go with the storage (as Kinto). */
function componentsOf(kind: Kind, plugins: readonly ComponentMigrations[]): ComponentMigrations[] {
  return kind === 'storage' ? [MIGRATIONS.storage, ...plugins] : [MIGRATIONS[kind]];
}

/**
 * Applies (or, with dryRun, lists) pending schema migrations of every SQL backend, and
 * `plugins` migrations (core/plugins.ts `pluginMigrations`) on the storage database.
 */
export async function migrateBackends(
  settings: Settings,
  dryRun = false,
  plugins: readonly ComponentMigrations[] = [],
): Promise<MigrationStep[]> {
  const { backends, drivers } = instantiate(settings);
  try {
    const steps: MigrationStep[] = [];
    for (const [kind, driver] of drivers) {
      for (const component of componentsOf(kind, plugins)) steps.push(await migrate(driver, component, dryRun));
    }
    return steps;
  } finally {
    await closeBackends(backends);
  }
}

/**
 * The backends the server runs on. The embedded engine migrates itself; a PostgreSQL
 * server must have been migrated (`kinto migrate`) or the server refuses to start.
 * `plugins` are the included plugins' migrations (core/plugins.ts `pluginMigrations`).
 */
export async function openBackends(settings: Settings, plugins: readonly ComponentMigrations[] = []): Promise<Backends> {
  const { backends, drivers } = instantiate(settings);
  try {
    for (const [kind, driver] of drivers) {
      for (const component of componentsOf(kind, plugins)) {
        if (driver.name === 'pglite') {
          await migrate(driver, component);
          continue;
        }
        const version = await schemaVersion(driver, component.component);
        if (version < latestVersion(component)) {
          throw new SettingsError(
            `The ${component.component} database schema is out of date (version ${version}, expected ${latestVersion(component)}): run 'kinto migrate --ini <file>' first`,
          );
        }
      }
    }
  } catch (error) {
    await closeBackends(backends);
    throw error;
  }
  return backends;
}

export async function closeBackends(backends: Backends): Promise<void> {
  await Promise.all([backends.storage.close(), backends.permission.close(), backends.cache.close()]);
}
