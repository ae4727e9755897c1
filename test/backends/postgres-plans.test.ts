/**
 * What PostgreSQL does with the statements the storage writes: with 80% tombstones, lists
 * sorted by id or time, id ranges and keyset pages walk an index of live objects (no full
 * sort, no sequential scan); field names from a query string only ever travel as parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filter, type FieldPath, type FilterNode, type SortField } from '../../core/filters/ast.ts';
import { buildAfterFilter, parseListQuery } from '../../core/filters/parse.ts';
import type { QueryOptions, SqlClient, SqlDriver, SqlResult } from '../../core/sql/driver.ts';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { SqlPermission } from '../../core/permission/sql.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import { createTestDatabase, migrateAll } from '../helpers/databases.ts';

const PARENT = '/buckets/b/collections/c';
const OBJECTS = 20_000;

/** Remembers the statements a backend sends (and still runs them). */
function recording(driver: SqlDriver): { driver: SqlDriver; sent: { text: string; params: readonly unknown[] }[] } {
  const sent: { text: string; params: readonly unknown[] }[] = [];
  const record = (client: SqlClient): SqlClient => ({
    query<Row>(text: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<SqlResult<Row>> {
      sent.push({ text, params });
      return client.query<Row>(text, params, options);
    },
  });
  return {
    sent,
    driver: {
      name: driver.name,
      supportsMultipleConnections: driver.supportsMultipleConnections,
      ...record(driver),
      withConnection: (work) => driver.withConnection((client) => work(record(client))),
      exec: (script) => driver.exec(script),
      close: () => driver.close(),
    },
  };
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pg: PgDriver;
let storage: SqlStorage;
let sent: { text: string; params: readonly unknown[] }[];

beforeAll(async () => {
  database = await createTestDatabase();
  pg = new PgDriver({ url: database.url, poolSize: 2 });
  await migrateAll(pg);
  // 80% tombstones, and a neighbour collection as large, as a long-lived Remote Settings server has.
  await pg.query(
    `INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data)
     SELECT p, 'record', 'r' || lpad(i::text, 6, '0'), 1000000 + i + (CASE WHEN p = $1 THEN 0 ELSE $2 END),
            i % 5 <> 0, CASE WHEN i % 5 <> 0 THEN '{}'::jsonb ELSE jsonb_build_object('n', i) END
       FROM generate_series(1, $2::int) AS i, unnest(ARRAY[$1, '/buckets/b/collections/other']) AS p`,
    [PARENT, OBJECTS],
  );
  await pg.query('ANALYZE objects');
  const recorder = recording(pg);
  sent = recorder.sent;
  storage = new SqlStorage(recorder.driver);
});

afterAll(async () => {
  await pg?.close();
  await database?.drop();
});

async function planOf(filters: FilterNode[], sort: SortField[], limit = 10): Promise<string> {
  sent.length = 0;
  const listed = await storage.list('record', PARENT, { filters, sort, limit });
  expect(listed.length).toBeGreaterThan(0);
  const { text, params } = sent.at(-1)!;
  const result = await pg.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
  return JSON.stringify(result.rows[0]['QUERY PLAN']);
}

function query(raw: Record<string, string>) {
  return parseListQuery(raw, { now: Date.now() });
}

describe('list plans with 80% tombstones', () => {
  it('read the default order (newest first) from the live index', async () => {
    const plan = await planOf([], query({}).sort);
    expect(plan).toContain('objects_live_by_time');
    expect(plan).not.toMatch(/"Node Type":"(Seq Scan|Sort)"/);
  });

  it('read _sort=id and its keyset pages from the live index by id', async () => {
    const { sort } = query({ _sort: 'id' });
    expect(await planOf([], sort)).toContain('objects_live_by_id');
    const page = [buildAfterFilter(sort, { id: 'r010000', last_modified: 1010000 })];
    const plan = await planOf(page, sort);
    expect(plan).toContain('objects_live_by_id');
    expect(plan).not.toMatch(/"Node Type":"(Seq Scan|Sort)"/);
  });

  it('read an id range and a descending id sort from the live index by id', async () => {
    const { filters, sort } = query({ gt_id: 'r019000', _sort: '-id' });
    const plan = await planOf(filters, sort);
    expect(plan).toContain('objects_live_by_id');
    expect(plan).not.toMatch(/"Node Type":"(Seq Scan|Sort)"/);
  });

  it('read _since from an index on time', async () => {
    const { filters, sort } = query({ _since: String(1000000 + OBJECTS - 100) });
    const plan = await planOf(filters, sort);
    expect(plan).toMatch(/objects_live_by_time|objects_pkey/);
    expect(plan).not.toContain('Seq Scan');
  });
});

describe('prepared statements and value-dependent plans', () => {
  // A generic plan of `data @> $1` reads the GIN index over every collection (bench/README.md #13).
  it('plan lists filtered on data, or on a list of ids, with their values; keep column filters prepared', async () => {
    const single = new PgDriver({ url: database.url, poolSize: 1, maxOverflow: 0 });
    try {
      const own = new SqlStorage(single);
      const cases = {
        data: query({ n: '5' }).filters,
        ids: [Filter.in(['id'], ['r000005', 'r000010'])],
        dataSort: [buildAfterFilter(query({ _sort: 'n' }).sort, { n: 5, last_modified: 1 })],
        time: query({ _since: '1000100' }).filters,
      };
      for (let i = 0; i < 6; i++) for (const filters of Object.values(cases)) await own.list('record', PARENT, { filters, limit: 3 });
      const prepared = await single.withConnection((client) =>
        client.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements'),
      );
      const statements = prepared.rows.map((row) => row.statement).filter((text) => text.includes('FROM objects'));
      expect(statements.some((text) => text.includes('@>'))).toBe(false);
      expect(statements.some((text) => text.includes('ANY'))).toBe(false);
      expect(statements.some((text) => text.includes('#>'))).toBe(false);
      expect(statements.some((text) => text.includes('last_modified >'))).toBe(true);
    } finally {
      await single.close();
    }
  });
});

describe('the read-ahead of a GET', () => {
  // `= ANY($2)` kept PostgreSQL re-planning on every execution (bench/README.md #18).
  it('prepares the permission preload with a plan PostgreSQL reuses', async () => {
    const single = new PgDriver({ url: database.url, poolSize: 1, maxOverflow: 0 });
    try {
      const permission = new SqlPermission(single);
      // The estimates that mislead PostgreSQL need a table of realistic size.
      await single.query(
        `INSERT INTO access_control_entries (object_id, permission, principal)
         SELECT $1 || '/records/r' || i, 'read', 'g' || (i % 100) FROM generate_series(1, 20000) AS i ON CONFLICT DO NOTHING`,
        [PARENT],
      );
      await single.query('ANALYZE access_control_entries');
      for (let i = 0; i < 8; i++) {
        const tx = await permission.begin({ readonly: true });
        await tx.preload?.(`user${i}`, ['/buckets/b', PARENT, `${PARENT}/records/r${i}`]);
        await tx.commit();
      }
      const prepared = await single.withConnection((client) =>
        client.query<{ statement: string; generic_plans: number }>('SELECT statement, generic_plans FROM pg_prepared_statements'),
      );
      const preload = prepared.rows.find((row) => row.statement.includes('user_principals'));
      expect(preload?.generic_plans).toBeGreaterThan(0);
    } finally {
      await single.close();
    }
  });

  it('prepares the object and the preload in one statement with a plan PostgreSQL reuses', async () => {
    const single = new PgDriver({ url: database.url, poolSize: 1, maxOverflow: 0 });
    try {
      const [storage, permission] = [new SqlStorage(single), new SqlPermission(single)];
      for (let i = 0; i < 8; i++) {
        const reads = await storage.begin({ readonly: true });
        const view = permission.beginAlongside(reads)!;
        const refs = [
          { resource: 'record', parentId: PARENT, id: `r0000${i}5` },
          { resource: 'collection', parentId: '/buckets/b', id: 'c' },
        ];
        const objectIds = ['/buckets/b', PARENT, `${PARENT}/records/r${i}`];
        const answer = await reads.readAhead!({ refs, permission: view, userId: `user${i}`, objectIds });
        expect(answer?.objects[0]).toMatchObject({ id: `r0000${i}5` });
      }
      const prepared = await single.withConnection((client) =>
        client.query<{ statement: string; generic_plans: number }>('SELECT statement, generic_plans FROM pg_prepared_statements'),
      );
      const union = prepared.rows.find((row) => row.statement.includes('user_principals') && row.statement.includes('objects'));
      expect(union?.generic_plans).toBeGreaterThan(0);
    } finally {
      await single.close();
    }
  });
});

describe('field names from a query string', () => {
  const hostile = [`x'); DROP TABLE objects; --`, 'a"b', 'n\\', '$$; SELECT 1; $$', 'data #> ARRAY', '😀'];

  it('travel as parameters, never in the SQL text, in every kind of filter and in sorts', async () => {
    for (const name of hostile) {
      const field: FieldPath = [name, 'inner'];
      const sort: SortField[] = [{ field, direction: -1 }];
      const nodes: FilterNode[] = [
        Filter.compare('eq', field, 1),
        Filter.compare('gt', field, 'x'),
        Filter.in(field, [1, 'a']),
        Filter.like(field, '*a*'),
        Filter.has(field, true),
        Filter.contains(field, [1], true),
        Filter.after(sort, [5]),
      ];
      for (const node of nodes) {
        sent.length = 0;
        expect(await storage.list('record', PARENT, { filters: [node], sort, limit: 5 })).toBeInstanceOf(Array);
        const { text, params } = sent.at(-1)!;
        expect(text).not.toContain(name);
        expect(params.some((p) => JSON.stringify(p).includes(JSON.stringify(name).slice(1, -1)))).toBe(true);
      }
    }
    const [{ exists }] = (await pg.query<{ exists: boolean }>(`SELECT to_regclass('objects') IS NOT NULL AS exists`)).rows;
    expect(exists).toBe(true);
  });
});
