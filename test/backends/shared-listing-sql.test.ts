/**
 * A shared listing resolved in SQL (`ListOptions.readableBy`): on PGlite and PostgreSQL, with
 * storage and permissions on one connection, a listing restricted to what the principals may
 * read lists exactly what a listing filtered on the ids of `getAccessibleObjects` lists, in
 * the same order and pages, with or without tombstones, as objects or as JSON texts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filter } from '../../core/filters/ast.ts';
import { buildAfterFilter } from '../../core/filters/parse.ts';
import { MemoryPermission } from '../../core/permission/memory.ts';
import { SqlPermission } from '../../core/permission/sql.ts';
import type { SqlDriver } from '../../core/sql/driver.ts';
import { MemoryStorage } from '../../core/storage/memory.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import type { ListOptions, StoredObject } from '../../core/storage/types.ts';
import { keepOpen, openPGliteTestDriver, openPostgresTestDriver } from '../helpers/databases.ts';

const PARENT = '/buckets/b/collections/c';
const PLURAL = `${PARENT}/records`;
const BOUND: [string, string][] = [
  [`${PLURAL}/*`, 'read'],
  [`${PLURAL}/*`, 'write'],
];

async function seed(storage: SqlStorage, permission: SqlPermission): Promise<void> {
  await storage.flush();
  await permission.flush();
  for (let i = 0; i < 40; i++) await storage.create('record', PARENT, { id: `r${String(i).padStart(2, '0')}`, n: i % 7 });
  for (const i of [3, 4, 5]) await storage.delete('record', PARENT, `r${String(i).padStart(2, '0')}`);
  for (let i = 0; i < 40; i += 2) await permission.replaceObjectPermissions(`${PLURAL}/r${String(i).padStart(2, '0')}`, { read: [`g${i % 3}`] });
  await permission.replaceObjectPermissions(`${PLURAL}/r01`, { write: ['alice'] });
  // Not children of the plural: an ACE deeper down, one in another collection, one on the collection.
  await permission.replaceObjectPermissions(`${PLURAL}/r03/attachments/a`, { read: ['alice'] });
  await permission.replaceObjectPermissions('/buckets/b/collections/other/records/r07', { read: ['alice'] });
  await permission.replaceObjectPermissions(PARENT, { read: ['g1'] });
}

function contract(name: string, open: () => Promise<{ driver: SqlDriver; close: () => Promise<void> }>) {
  describe(`a shared listing in SQL on ${name}`, () => {
    let opened: Awaited<ReturnType<typeof open>>;
    let storage: SqlStorage;
    let permission: SqlPermission;

    beforeAll(async () => {
      opened = await open();
      storage = new SqlStorage(opened.driver);
      permission = new SqlPermission(opened.driver);
      await seed(storage, permission);
    });
    afterAll(async () => opened?.close());

    async function byIds(principals: string[], options: ListOptions): Promise<StoredObject[]> {
      const accessible = await permission.getAccessibleObjects(principals, BOUND);
      const ids = [...accessible.keys()].map((uri) => uri.slice(uri.lastIndexOf('/') + 1));
      return storage.list('record', PARENT, { ...options, filters: [...(options.filters ?? []), Filter.in(['id'], ids)] });
    }

    it('lists what the ids of the accessible objects list, in every order, page and with tombstones', async () => {
      const reads = await storage.begin({ readonly: true });
      const view = permission.beginAlongside(reads)!;
      expect(reads.joinsPermissions?.(view)).toBe(true);
      for (const principals of [['alice', 'g0'], ['g1'], ['g2', 'nobody'], ['nobody']]) {
        const readableBy = { pluralUri: PLURAL, permissions: ['read', 'write'], principals };
        const sorts = [[{ field: ['last_modified'], direction: -1 as const }], [{ field: ['n'], direction: 1 as const }, { field: ['id'], direction: -1 as const }]];
        for (const sort of sorts) {
          for (const includeDeleted of [false, true]) {
            const options: ListOptions = { sort, limit: 6, includeDeleted };
            const expected = await byIds(principals, options);
            expect(await reads.list('record', PARENT, { ...options, readableBy }), principals.join()).toEqual(expected);
            const texts = await reads.listJson('record', PARENT, { ...options, readableBy });
            expect(texts.map((text) => JSON.parse(text) as unknown)).toEqual(expected);
            if (expected.length) {
              const after = [buildAfterFilter(sort, expected.at(-1)!)];
              const next = await reads.list('record', PARENT, { ...options, filters: after, readableBy });
              expect(next).toEqual(await byIds(principals, { ...options, filters: after }));
            }
          }
        }
      }
      const alice = await reads.list('record', PARENT, { readableBy: { pluralUri: PLURAL, permissions: ['read', 'write'], principals: ['alice'] } });
      expect(alice.map((o) => o.id)).toEqual(['r01']);
    });

    it('is only offered for a permission view on the same connection', async () => {
      const reads = await storage.begin({ readonly: true });
      expect(reads.joinsPermissions?.(await new SqlPermission(keepOpen(opened.driver)).begin({ readonly: true }))).toBe(false);
      expect(reads.joinsPermissions?.(await new MemoryPermission().begin({ readonly: true }))).toBe(false);
    });
  });
}

describe('a shared listing on the memory storage', () => {
  it('is refused, never ignored (that would list what the caller may not read)', async () => {
    const storage = new MemoryStorage();
    await storage.create('record', PARENT, { id: 'r1' });
    const readableBy = { pluralUri: PLURAL, permissions: ['read'], principals: ['alice'] };
    await expect(storage.list('record', PARENT, { readableBy })).rejects.toThrow(/readableBy/);
    await expect(storage.listJson('record', PARENT, { readableBy })).rejects.toThrow(/readableBy/);
  });
});

contract('PGlite', openPGliteTestDriver);
contract('PostgreSQL', openPostgresTestDriver);
