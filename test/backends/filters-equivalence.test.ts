/**
 * The filter tree has two readers: the memory evaluator and the SQL compiler. This
 * property test feeds both the same random objects, filters and sorts, and requires
 * the same answer, in the same order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filter, type FilterNode, type JsonObject, type JsonValue, type SortField } from '../../core/filters/ast.ts';
import { PgDriver } from '../../core/sql/pg-driver.ts';
import { MemoryStorage } from '../../core/storage/memory.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import type { Storage } from '../../core/storage/types.ts';
import { createTestDatabase, keepOpen, migrateAll, sharedPGlite } from '../helpers/databases.ts';

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

// Lowercase strings only: byte order and the database collation agree on them.
const STRINGS = ['', 'a', 'ab', 'b', 'ba', 'abc', 'z', 'foo', 'fo*o', 'O10', 'é', '😀'];

function value(rand: () => number, depth = 0): JsonValue | undefined {
  const pick = Math.floor(rand() * (depth ? 6 : 9));
  switch (pick) {
    case 0: return null;
    case 1: return STRINGS[Math.floor(rand() * STRINGS.length)];
    case 2: return Math.floor(rand() * 7) - 2;
    case 3: return rand() < 0.5;
    case 4: return [Math.floor(rand() * 3), STRINGS[Math.floor(rand() * 3)]].slice(0, Math.floor(rand() * 3));
    case 5: return Math.floor(rand() * 3) + 0.5;
    case 6: return { x: value(rand, depth + 1) ?? null };
    default: return undefined;
  }
}

function object(rand: () => number, index: number): JsonObject & { id: string } {
  // Ids of mixed case and scripts: the id column ("C" collation) must order as memory does.
  const prefix = ['o', 'O', 'é', 'z', '_', '😀', 'a'][index % 7];
  const result: JsonObject & { id: string } = { id: `${prefix}${String(index).padStart(2, '0')}` };
  for (const field of ['a', 'b', 'nested']) {
    const v = field === 'nested' ? { x: value(rand, 1) ?? null } : value(rand);
    if (v !== undefined) result[field] = v;
  }
  return result;
}

const FIELDS = [['a'], ['b'], ['nested', 'x'], ['id'], ['missing']];

function filter(rand: () => number): FilterNode {
  const field = FIELDS[Math.floor(rand() * FIELDS.length)];
  const scalar = (value(rand, 1) ?? 'a') as JsonValue;
  switch (Math.floor(rand() * 6)) {
    case 0: return Filter.compare((['eq', 'not', 'lt', 'gt', 'min', 'max'] as const)[Math.floor(rand() * 6)], field, scalar);
    case 1: return Filter.in(field, [scalar, (value(rand, 1) ?? 1) as JsonValue], rand() < 0.5);
    case 2: return Filter.like(field, STRINGS[Math.floor(rand() * STRINGS.length)] || 'a');
    case 3: return Filter.has(field, rand() < 0.5);
    case 4: return Filter.contains(field, [Math.floor(rand() * 3)], rand() < 0.5);
    default: return Filter.compare('eq', field, scalar);
  }
}

function sort(rand: () => number): SortField[] {
  const first: SortField = { field: FIELDS[Math.floor(rand() * 4)], direction: rand() < 0.5 ? 1 : -1 };
  return [first, { field: ['last_modified'], direction: -1 }];
}

async function fill(storage: Storage, objects: (JsonObject & { id: string })[]) {
  for (const o of objects) await storage.create('record', '/p', o);
}

function runEquivalence(name: string, open: () => Promise<{ sql: Storage; close: () => Promise<void> }>) {
  describe(`memory and ${name} agree on filters and sorts`, () => {
    let memory: MemoryStorage;
    let sql: Storage;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ sql, close } = await open());
      memory = new MemoryStorage();
      const rand = random(42);
      const objects = Array.from({ length: 40 }, (_, i) => object(rand, i));
      // Same timestamps on both sides, so the last_modified tie-break agrees.
      const withTimes = objects.map((o, i) => ({ ...o, last_modified: 1_000_000 + i }));
      await fill(memory, withTimes);
      await fill(sql, withTimes);
    });
    afterAll(() => close());

    it('on 300 random queries', async () => {
      const rand = random(7);
      for (let i = 0; i < 300; i += 1) {
        const filters = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => filter(rand));
        const order = sort(rand);
        const expected = (await memory.list('record', '/p', { filters, sort: order })).map((o) => o.id);
        const actual = (await sql.list('record', '/p', { filters, sort: order })).map((o) => o.id);
        expect(actual, JSON.stringify({ filters, order })).toEqual(expected);
        expect(await sql.count('record', '/p', filters)).toBe(expected.length);
      }
    });

    it('on keyset pagination over every sort', async () => {
      const rand = random(11);
      for (let i = 0; i < 30; i += 1) {
        const order = sort(rand);
        const all = await memory.list('record', '/p', { sort: order });
        const pivot = all[Math.floor(rand() * all.length)];
        const values = order.map((s) => (s.field.length === 1 ? pivot[s.field[0]] : (pivot.nested as JsonObject)?.x));
        const after = [Filter.after(order, values)];
        const expected = (await memory.list('record', '/p', { filters: after, sort: order })).map((o) => o.id);
        const actual = (await sql.list('record', '/p', { filters: after, sort: order })).map((o) => o.id);
        expect(actual, JSON.stringify({ order, values })).toEqual(expected);
      }
    });
  });
}

runEquivalence('PGlite', async () => {
  const driver = keepOpen(await sharedPGlite());
  return { sql: new SqlStorage(driver), close: async () => {} };
});

runEquivalence('PostgreSQL', async () => {
  const database = await createTestDatabase();
  const driver = new PgDriver({ url: database.url });
  await migrateAll(driver);
  const storage = new SqlStorage(driver);
  return { sql: storage, close: async () => { await storage.close(); await database.drop(); } };
});
