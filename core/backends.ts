import type { Cache } from './cache/types.ts';
import { MemoryCache } from './cache/memory.ts';
import { CACHE_MIGRATIONS, SqlCache } from './cache/sql.ts';
import type { PermissionBackend } from './permission/types.ts';
import { MemoryPermission } from './permission/memory.ts';
import { PERMISSION_MIGRATIONS, SqlPermission } from './permission/sql.ts';
import { Settings } from './settings/load.ts';
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
  /** Backends whose database user may only read (Kinto's read-only instance): see `adaptToReadOnlyUser`. */
  readOnlyUser?: readonly Kind[];
}

type Kind = 'storage' | 'permission' | 'cache';
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
    poolSize: settings.int(`${kind}_pool_size`, 25),
    maxOverflow: settings.int(`${kind}_max_overflow`, 5),
    recycleSeconds: settings.int(`${kind}_pool_recycle`, -1),
    maxBacklog: settings.int(`${kind}_max_backlog`, -1),
    preparedStatements: settings.bool(`${kind}_prepared_statements`, true),
    // Validated at start-up as a number of seconds; fractions allowed.
    connectionTimeoutMs: Math.round(Number(settings.str(`${kind}_pool_timeout`, '30')) * 1000),
  });
}

/** The tables each backend writes: a user lacking a write privilege on one can only read. */
const WRITTEN_TABLES: Record<Kind, string[]> = {
  storage: ['objects', 'timestamps'],
  permission: ['access_control_entries', 'user_principals'],
  cache: ['cache'],
};

async function databaseUserCanWrite(driver: SqlDriver, kind: Kind): Promise<boolean> {
  const result = await driver.query<{ writable: boolean }>(
    `SELECT bool_and(has_table_privilege(current_user, t, 'INSERT')
                     AND has_table_privilege(current_user, t, 'UPDATE')
                     AND has_table_privilege(current_user, t, 'DELETE')) AS writable
       FROM unnest($1::text[]) AS t`,
    [WRITTEN_TABLES[kind]],
  );
  return result.rows[0]?.writable === true;
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
    const readOnlyUser: Kind[] = [];
    for (const [kind, driver] of drivers) {
      if (driver.name !== 'pglite' && !(await databaseUserCanWrite(driver, kind))) readOnlyUser.push(kind);
    }
    if (readOnlyUser.length) backends.readOnlyUser = readOnlyUser;
  } catch (error) {
    await closeBackends(backends);
    throw error;
  }
  return backends;
}

/**
 * Kinto's read-only instance runs on a database user that may only SELECT. Such a server
 * starts in readonly mode (said once in the log), and a cache it cannot write (pagination
 * tokens, the accounts' and broadcasts' entries) becomes a per-process memory cache.
 */
export async function adaptToReadOnlyUser(
  settings: Settings,
  backends: Backends,
  warn: (message: string) => void,
): Promise<{ settings: Settings; backends: Backends }> {
  const kinds = backends.readOnlyUser ?? [];
  if (!kinds.length) return { settings, backends };
  let adapted = backends;
  if (kinds.includes('cache')) {
    await backends.cache.close();
    adapted = { ...backends, cache: new MemoryCache({ prefix: settings.str('cache_prefix', '') }) };
    warn('The cache database user may not write the cache table: using an in-process memory cache instead.');
  }
  // A cache alone is replaced; writes need the storage and permission tables.
  const readers = kinds.filter((kind) => kind !== 'cache');
  if (!readers.length || settings.bool('readonly', false)) return { settings, backends: adapted };
  warn(`The ${readers.join(' and ')} database user may only read: starting in readonly mode (set kinto.readonly = true to say so).`);
  return { settings: new Settings({ ...settings.toJSON(), readonly: true }), backends: adapted };
}

export async function closeBackends(backends: Backends): Promise<void> {
  await Promise.all([backends.storage.close(), backends.permission.close(), backends.cache.close()]);
}
