/**
 * The driver's statements (core/sql/pg-statement.ts) build their results' rows their own way:
 * they must come out as `pg` makes them (keys, order, types, nulls), named or not, through
 * the pool and through a checked-out connection.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { createTestDatabase } from '../helpers/databases.ts';

const SELECT = `SELECT $1::text AS kind, NULL::text AS principal, 9007199254740991::bigint AS last_modified,
  TRUE AS deleted, '{"a": [1, {"b": null}]}'::jsonb AS data, 3::int AS n, NULL::boolean AS missing, 'x'::text AS "__proto__"`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let driver: PgDriver;
let plain: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  driver = new PgDriver({ url: database.url, poolSize: 1, maxOverflow: 0 });
  plain = new pg.Client({ connectionString: database.url });
  await plain.connect();
});

afterAll(async () => {
  await plain.end();
  await driver.close();
  await database.drop();
});

describe('the driver statements', () => {
  it("give pg's own rows, prepared or not, from the pool and from a connection", async () => {
    const expected = (await plain.query(SELECT, ['ace'])).rows;
    expect(Object.keys(expected[0])).toEqual(['kind', 'principal', 'last_modified', 'deleted', 'data', 'n', 'missing', '__proto__']);
    // The third use of a text is prepared (named): both ways are compared.
    for (let i = 0; i < 4; i++) {
      const pooled = await driver.query(SELECT, ['ace']);
      expect(pooled.rows).toEqual(expected);
      expect(Object.keys(pooled.rows[0] as object)).toEqual(Object.keys(expected[0]));
      const checkedOut = await driver.withConnection((client) => client.query(SELECT, ['ace']));
      expect(checkedOut.rows).toEqual(expected);
    }
    const row = (await driver.query<Record<string, unknown>>(SELECT.replace('AS "__proto__"', 'AS other'), ['ace'])).rows[0];
    expect(row).toEqual({ kind: 'ace', principal: null, last_modified: 9007199254740991, deleted: true, data: { a: [1, { b: null }] }, n: 3, missing: null, other: 'x' });
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  });

  it('count rows and give none for a statement without rows; a failing one rejects', async () => {
    await driver.query('CREATE TABLE t (id int)');
    const inserted = await driver.query('INSERT INTO t SELECT generate_series(1, $1::int)', [3]);
    expect(inserted).toEqual({ rows: [], rowCount: 3 });
    await expect(driver.query('SELECT * FROM missing_table WHERE id = $1', [1])).rejects.toMatchObject({ code: '42P01' });
    expect((await driver.query('SELECT count(*)::int AS c FROM t WHERE id > $1', [1])).rows).toEqual([{ c: 2 }]);
  });
});
