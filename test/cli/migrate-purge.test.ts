// `kinto migrate` across schema versions, and `kinto purge-deleted --max-age-days / --max-count`,
// run as operators run them (a child process per command) on fresh PostgreSQL databases;
// what a command did is checked in the database itself.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { CACHE_MIGRATIONS } from '../../core/cache/sql.ts';
import { PERMISSION_MIGRATIONS } from '../../core/permission/sql.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { migrate } from '../../core/sql/migrations.ts';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { STORAGE_MIGRATIONS } from '../../core/storage/sql/schema.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { postgresIni, runKinto } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'kinto-migrate-purge-'));
const dropped: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(dropped.map((drop) => drop()));
});

/** A fresh database and an INI file whose three backends use it. */
async function freshDatabase(): Promise<{ url: string; ini: string }> {
  const database = await createTestDatabase();
  dropped.push(database.drop);
  const ini = join(dir, `${database.url.split('/').at(-1)}.ini`);
  writeFileSync(ini, postgresIni(database.url));
  return { url: database.url, ini };
}

async function sql<Row = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const [row] = await sql<{ found: string | null }>(url, 'SELECT to_regclass($1)::text AS found', [table]);
  return row.found !== null;
}

async function indexExists(url: string, index: string): Promise<boolean> {
  return (await sql(url, 'SELECT 1 FROM pg_indexes WHERE indexname = $1', [index])).length === 1;
}

async function versions(url: string): Promise<Record<string, number>> {
  const rows = await sql<{ component: string; version: number }>(url, 'SELECT component, version FROM kinto_migrations');
  return Object.fromEntries(rows.map((row) => [row.component, row.version]));
}

function lines(output: string): string[] {
  return output.trim().split('\n');
}

const UP_TO_DATE = ['storage: version 2 -> 2 (up to date)', 'permission: version 1 -> 1 (up to date)', 'cache: version 1 -> 1 (up to date)'];

describe('kinto migrate', () => {
  it('--dry-run on a fresh database lists every pending version and creates nothing', async () => {
    const { url, ini } = await freshDatabase();
    const dryRun = await runKinto(['migrate', '--dry-run', '--ini', ini]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(lines(dryRun.stdout)).toEqual([
      'storage: version 0 -> 2 (would apply 1-initial, 2-live objects by id)',
      'permission: version 0 -> 1 (would apply 1-initial)',
      'cache: version 0 -> 1 (would apply 1-initial)',
    ]);
    for (const table of ['objects', 'timestamps', 'access_control_entries', 'cache', 'kinto_migrations']) {
      expect(await tableExists(url, table), table).toBe(false);
    }
  });

  it('upgrades a database at storage version 1, that the server refuses until then, keeping its data', async () => {
    const { url, ini } = await freshDatabase();
    const driver = new PgDriver({ url, poolSize: 1 });
    try {
      await migrate(driver, { component: 'storage', migrations: [STORAGE_MIGRATIONS.migrations[0]] });
      await migrate(driver, PERMISSION_MIGRATIONS);
      await migrate(driver, CACHE_MIGRATIONS);
    } finally {
      await driver.close();
    }
    await sql(url, `INSERT INTO objects (parent_id, resource_name, id, last_modified, data)
                    VALUES ('', 'bucket', 'kept', 1000, '{"title": "from v1"}')`);
    expect(await versions(url)).toEqual({ storage: 1, permission: 1, cache: 1 });
    expect(await indexExists(url, 'objects_live_by_id')).toBe(false);

    const config = () => loadConfig({ iniPath: ini, env: {} });
    await expect(buildApp(config())).rejects.toThrow(
      "The storage database schema is out of date (version 1, expected 2): run 'kinto migrate --ini <file>' first",
    );
    const refused = await runKinto(['start', '--ini', ini]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("run 'kinto migrate");

    const pending = await runKinto(['migrate', '--dry-run', '--ini', ini]);
    expect(lines(pending.stdout)).toEqual(['storage: version 1 -> 2 (would apply 2-live objects by id)', ...UP_TO_DATE.slice(1)]);
    expect(await indexExists(url, 'objects_live_by_id')).toBe(false);

    const migrated = await runKinto(['migrate', '--ini', ini]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(lines(migrated.stdout)).toEqual(['storage: version 1 -> 2 (applied 2-live objects by id)', ...UP_TO_DATE.slice(1)]);
    expect(await indexExists(url, 'objects_live_by_id')).toBe(true);
    expect(await versions(url)).toEqual({ storage: 2, permission: 1, cache: 1 });
    expect(lines((await runKinto(['migrate', '--dry-run', '--ini', ini])).stdout)).toEqual(UP_TO_DATE);

    const app = await buildApp(config());
    try {
      await app.ready();
      const kept = await app.kinto.storage.get('bucket', '', 'kept');
      expect(kept).toMatchObject({ id: 'kept', last_modified: 1000, title: 'from v1' });
    } finally {
      await app.close();
    }
  });

  it('is idempotent: a second run changes nothing and says up to date', async () => {
    const { url, ini } = await freshDatabase();
    const first = await runKinto(['migrate', '--ini', ini]);
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first.stdout)).toEqual([
      'storage: version 0 -> 2 (applied 1-initial, 2-live objects by id)',
      'permission: version 0 -> 1 (applied 1-initial)',
      'cache: version 0 -> 1 (applied 1-initial)',
    ]);
    const migratedAt = await sql(url, 'SELECT component, migrated_at FROM kinto_migrations ORDER BY component');
    const second = await runKinto(['migrate', '--ini', ini]);
    expect(second.code, second.stderr).toBe(0);
    expect(lines(second.stdout)).toEqual(UP_TO_DATE);
    expect(await sql(url, 'SELECT component, migrated_at FROM kinto_migrations ORDER BY component')).toEqual(migratedAt);
    expect(await versions(url)).toEqual({ storage: 2, permission: 1, cache: 1 });
    expect(await indexExists(url, 'objects_live_by_id')).toBe(true);
    // A schema newer than this code (migrated by a newer release) is reported as it is.
    await sql(url, "UPDATE kinto_migrations SET version = 3 WHERE component = 'storage'");
    expect(lines((await runKinto(['migrate', '--dry-run', '--ini', ini])).stdout)[0]).toBe('storage: version 3 -> 3 (up to date)');
  });

  it('run by two nodes at once, migrates once and each reports what it did', async () => {
    const { url, ini } = await freshDatabase();
    const runs = await Promise.all([runKinto(['migrate', '--ini', ini]), runKinto(['migrate', '--ini', ini])]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const reported = runs.flatMap((run) => lines(run.stdout)).sort();
    // Each component is applied by one of the runs; the other finds it done (whichever read first).
    expect(reported).toEqual([
      'cache: version 0 -> 1 (applied 1-initial)',
      'cache: version 1 -> 1 (up to date)',
      'permission: version 0 -> 1 (applied 1-initial)',
      'permission: version 1 -> 1 (up to date)',
      'storage: version 0 -> 2 (applied 1-initial, 2-live objects by id)',
      'storage: version 2 -> 2 (up to date)',
    ]);
    expect(await versions(url)).toEqual({ storage: 2, permission: 1, cache: 1 });
  });
});

describe('kinto purge-deleted --max-age-days / --max-count', () => {
  const C1 = '/buckets/b/collections/c1';
  const C2 = '/buckets/b/collections/c2';
  let url: string;
  let ini: string;

  interface Row {
    parent: string;
    resource?: string;
    id: string;
    /** Epoch ms. */
    at: number;
    deleted?: boolean;
  }

  async function insert(rows: Row[]): Promise<void> {
    for (const row of rows) {
      await sql(
        url,
        `INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data) VALUES ($1, $2, $3, $4, $5, '{}')`,
        [row.parent, row.resource ?? 'record', row.id, row.at, row.deleted ?? true],
      );
    }
  }

  /** What is left, as `resource parent id` (tombstones marked), sorted. */
  async function left(): Promise<string[]> {
    const rows = await sql<{ parent_id: string; resource_name: string; id: string; deleted: boolean }>(
      url,
      'SELECT parent_id, resource_name, id, deleted FROM objects',
    );
    return rows.map((r) => `${r.resource_name} ${r.parent_id} ${r.id}${r.deleted ? ' (deleted)' : ''}`).sort();
  }

  beforeAll(async () => {
    ({ url, ini } = await freshDatabase());
    const migrated = await runKinto(['migrate', '--ini', ini]);
    expect(migrated.code, migrated.stderr).toBe(0);
  });

  beforeEach(async () => {
    await sql(url, 'TRUNCATE objects, timestamps');
  });

  it('--max-age-days N purges the tombstones older than N days and keeps the younger ones', async () => {
    const now = Date.now();
    await insert([
      { parent: C1, id: 'old40', at: now - 40 * DAY },
      { parent: C1, id: 'old31', at: now - 31 * DAY },
      { parent: C1, id: 'young29', at: now - 29 * DAY },
      { parent: C2, id: 'old100', at: now - 100 * DAY },
      { parent: C2, id: 'young1', at: now - DAY },
      { parent: '/buckets/b', resource: 'collection', id: 'old35', at: now - 35 * DAY },
      { parent: C1, id: 'live', at: now - 365 * DAY, deleted: false },
    ]);
    // An age before any timestamp purges nothing (and is no BIGINT overflow).
    const none = await runKinto(['purge-deleted', '--ini', ini, '--max-age-days', '1000000000000']);
    expect([none.code, none.stdout.trim()], none.stderr).toEqual([0, 'Purged 0 tombstones.']);
    expect(await left()).toHaveLength(7);
    const purged = await runKinto(['purge-deleted', '--ini', ini, '--max-age-days', '30']);
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.stdout.trim()).toBe('Purged 4 tombstones.');
    expect(await left()).toEqual([
      `record ${C1} live`,
      `record ${C1} young29 (deleted)`,
      `record ${C2} young1 (deleted)`,
    ]);
  });

  it('--max-count N keeps the N newest tombstones per parent and resource', async () => {
    await insert([
      ...[1, 2, 3, 4].map((n) => ({ parent: C1, id: `c1-${n}`, at: n * 1000 })),
      ...[1, 2].map((n) => ({ parent: C2, id: `c2-${n}`, at: n * 1000 })),
      // Same parent, another resource: counted apart from the records.
      ...[1, 2, 3].map((n) => ({ parent: '/buckets/b', resource: 'collection', id: `col-${n}`, at: n * 1000 })),
      ...[1, 2].map((n) => ({ parent: '/buckets/b', resource: 'group', id: `grp-${n}`, at: n * 1000 })),
      { parent: C1, id: 'live', at: 1, deleted: false },
    ]);
    const all = await runKinto(['purge-deleted', '--ini', ini, '--max-count', String(Number.MAX_SAFE_INTEGER)]);
    expect([all.code, all.stdout.trim()], all.stderr).toEqual([0, `Purged 0 tombstones (keeping ${Number.MAX_SAFE_INTEGER} per parent and resource).`]);
    const purged = await runKinto(['purge-deleted', '--ini', ini, '--max-count', '2']);
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.stdout.trim()).toBe('Purged 3 tombstones (keeping 2 per parent and resource).');
    expect(await left()).toEqual([
      'collection /buckets/b col-2 (deleted)',
      'collection /buckets/b col-3 (deleted)',
      'group /buckets/b grp-1 (deleted)',
      'group /buckets/b grp-2 (deleted)',
      `record ${C1} c1-3 (deleted)`,
      `record ${C1} c1-4 (deleted)`,
      `record ${C1} live`,
      `record ${C2} c2-1 (deleted)`,
      `record ${C2} c2-2 (deleted)`,
    ]);
  });

  it('both together: a tombstone goes when older than N days and beyond the newest M of its parent', async () => {
    const now = Date.now();
    await insert([
      // c1: two young tombstones and four old ones.
      { parent: C1, id: 'young1', at: now - DAY },
      { parent: C1, id: 'young2', at: now - 2 * DAY },
      ...[40, 50, 60, 70].map((days) => ({ parent: C1, id: `old${days}`, at: now - days * DAY })),
      // c2: more young tombstones than --max-count, none old: none purged.
      ...[1, 2, 3].map((days) => ({ parent: C2, id: `young${days}`, at: now - days * DAY })),
    ]);
    const purged = await runKinto(['purge-deleted', '--ini', ini, '--max-age-days', '30', '--max-count', '2']);
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.stdout.trim()).toBe('Purged 4 tombstones (keeping 2 per parent and resource).');
    expect(await left()).toEqual([
      `record ${C1} young1 (deleted)`,
      `record ${C1} young2 (deleted)`,
      `record ${C2} young1 (deleted)`,
      `record ${C2} young2 (deleted)`,
      `record ${C2} young3 (deleted)`,
    ]);
  });

  it('refuses a bad value, naming the option, and purges nothing', async () => {
    await insert([1, 2, 3].map((n) => ({ parent: C1, id: `t${n}`, at: n * 1000 })));
    const before = await left();
    const cases: [string[], string][] = [
      [['--max-count', '-1'], '--max-count must be a non-negative integer.'],
      [['--max-count', '1.5'], '--max-count must be a non-negative integer.'],
      [['--max-age-days', 'abc'], '--max-age-days must be a non-negative integer.'],
      [['--max-age-days', ''], '--max-age-days must be a non-negative integer.'],
      [['--max-count', '99999999999999999999'], `--max-count must be at most ${Number.MAX_SAFE_INTEGER}.`],
    ];
    for (const [options, message] of cases) {
      const refused = await runKinto(['purge-deleted', '--ini', ini, ...options]);
      expect(refused.code, options.join(' ')).toBe(1);
      expect(refused.stderr).toContain(`error: option '${options[0]} <`);
      expect(refused.stderr).toContain(message);
      expect(refused.stdout).toBe('');
    }
    const positional = await runKinto(['purge-deleted', '--ini', ini, 'record', '99999999999999999999']);
    expect([positional.code, positional.stderr.trim()]).toEqual([1, `max-retained must be at most ${Number.MAX_SAFE_INTEGER}.`]);
    expect(await left()).toEqual(before);
  });
});
