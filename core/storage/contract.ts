/**
 * The storage contract: every backend (memory, PostgreSQL, PGlite, third parties) runs
 * this suite. Bind it from a test file with `runStorageContract('memory', factory)`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Filter } from '../filters/ast.ts';
import { ObjectNotFoundError, ReadonlyError, UnicityError, type StorageBackend } from './types.ts';

const R = 'record';
const P = '/buckets/b/collections/c';

export function runStorageContract(name: string, create: () => Promise<StorageBackend>): void {
  describe(`storage contract: ${name}`, () => {
    let storage: StorageBackend;
    beforeEach(async () => {
      storage = await create();
    });
    afterEach(async () => {
      await storage.flush();
      await storage.close();
    });

    it('creates and reads an object with an increasing timestamp', async () => {
      const a = await storage.create(R, P, { id: 'a', title: 'A' });
      const b = await storage.create(R, P, { id: 'b', title: 'B' });
      expect(b.last_modified).toBeGreaterThan(a.last_modified);
      expect(await storage.get(R, P, 'a')).toEqual({ id: 'a', title: 'A', last_modified: a.last_modified });
      expect(await storage.resourceTimestamp(R, P)).toBe(b.last_modified);
    });

    it('refuses to create an existing id', async () => {
      await storage.create(R, P, { id: 'a' });
      await expect(storage.create(R, P, { id: 'a' })).rejects.toBeInstanceOf(UnicityError);
    });

    it('keeps timestamps strictly increasing within the same millisecond', async () => {
      const stamps = [];
      for (let i = 0; i < 50; i += 1) stamps.push((await storage.create(R, P, { id: `r${i}` })).last_modified);
      for (let i = 1; i < stamps.length; i += 1) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]);
    });

    it('initialises an empty list timestamp once and keeps it', async () => {
      const first = await storage.resourceTimestamp(R, '/buckets/b/collections/empty');
      const second = await storage.resourceTimestamp(R, '/buckets/b/collections/empty');
      expect(second).toBe(first);
    });

    it('refuses to initialise a list timestamp when creation is off (readonly mode)', async () => {
      await expect(storage.resourceTimestamp(R, '/buckets/b/collections/never', { create: false })).rejects.toBeInstanceOf(ReadonlyError);
      const created = await storage.create(R, P, { id: 'x' });
      expect(await storage.resourceTimestamp(R, P, { create: false })).toBe(created.last_modified);
    });

    it('honours a client timestamp in the future and keeps past ones without bumping the list', async () => {
      const future = Date.now() + 1_000_000;
      const created = await storage.create(R, P, { id: 'f', last_modified: future });
      expect(created.last_modified).toBe(future);
      expect(await storage.resourceTimestamp(R, P)).toBe(future);
      const past = await storage.create(R, P, { id: 'p', last_modified: 1000 });
      expect(past.last_modified).toBe(1000);
      expect(await storage.resourceTimestamp(R, P)).toBe(future);
    });

    it('updates (upsert) and bumps the timestamp', async () => {
      const a = await storage.create(R, P, { id: 'a', v: 1 });
      const updated = await storage.update(R, P, 'a', { v: 2 });
      expect(updated.v).toBe(2);
      expect(updated.last_modified).toBeGreaterThan(a.last_modified);
      const created = await storage.update(R, P, 'new', { v: 3 });
      expect(created.id).toBe('new');
    });

    it('deletes into a tombstone listed only on request', async () => {
      await storage.create(R, P, { id: 'a', secret: 'x' });
      const tombstone = await storage.delete(R, P, 'a');
      expect(tombstone).toEqual({ id: 'a', last_modified: tombstone.last_modified, deleted: true });
      expect(await storage.get(R, P, 'a')).toBeNull();
      expect(await storage.list(R, P)).toEqual([]);
      expect(await storage.list(R, P, { includeDeleted: true })).toEqual([tombstone]);
      expect(await storage.resourceTimestamp(R, P)).toBe(tombstone.last_modified);
      await expect(storage.delete(R, P, 'a')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('re-creating a deleted id replaces its tombstone', async () => {
      await storage.create(R, P, { id: 'a' });
      await storage.delete(R, P, 'a');
      await storage.create(R, P, { id: 'a', back: true });
      const all = await storage.list(R, P, { includeDeleted: true });
      expect(all).toHaveLength(1);
      expect(all[0].back).toBe(true);
    });

    it('filters, sorts and limits', async () => {
      for (const [id, age] of [['a', 30], ['b', 10], ['c', 20]] as const) await storage.create(R, P, { id, age });
      const sorted = await storage.list(R, P, { sort: [{ field: ['age'], direction: 1 }] });
      expect(sorted.map((o) => o.id)).toEqual(['b', 'c', 'a']);
      const filtered = await storage.list(R, P, { filters: [Filter.compare('min', ['age'], 20)], sort: [{ field: ['age'], direction: -1 }], limit: 1 });
      expect(filtered.map((o) => o.id)).toEqual(['a']);
      expect(await storage.count(R, P, [Filter.compare('lt', ['age'], 25)])).toBe(2);
    });

    it('lists as JSON texts the same objects as list, in the same order', async () => {
      await storage.create(R, P, { id: 'empty' });
      await storage.create(R, P, { id: 'x"y\\z', title: 'é ☃ "q" \\ \n', n: 1.5, big: 12345678, nested: { a: [1, null, true] } });
      await storage.create(R, P, { id: 'gone', rank: 2 });
      await storage.delete(R, P, 'gone');
      await storage.create(R, P, { id: 'other', rank: 3 }).then(() => storage.create(R, `${P}2`, { id: 'elsewhere' }));
      const cases = [
        {},
        { includeDeleted: true },
        { filters: [Filter.compare('gt', ['rank'], 1)], sort: [{ field: ['rank'], direction: 1 as const }] },
        { includeDeleted: true, sort: [{ field: ['id'], direction: 1 as const }], limit: 3 },
      ];
      for (const options of cases) {
        const texts = await storage.listJson(R, P, options);
        expect(texts.map((text) => JSON.parse(text))).toEqual(await storage.list(R, P, options));
      }
      expect((await storage.listJson(R, P, { includeDeleted: true })).length).toBe(4);
    });

    it('sorts by default on -last_modified', async () => {
      for (const id of ['x', 'y', 'z']) await storage.create(R, P, { id });
      expect((await storage.list(R, P)).map((o) => o.id)).toEqual(['z', 'y', 'x']);
    });

    it('reads several objects at once, in order, null for absent and deleted ones', async () => {
      const collection = await storage.create('collection', '/buckets/b', { id: 'c', title: 'C' });
      const a = await storage.create(R, P, { id: 'a', n: 1 });
      await storage.create(R, P, { id: 'gone' });
      await storage.delete(R, P, 'gone');
      const refs = [
        { resource: R, parentId: P, id: 'a' },
        { resource: R, parentId: P, id: 'gone' },
        { resource: 'collection', parentId: '/buckets/b', id: 'c' },
        { resource: R, parentId: '/buckets/b/collections/other', id: 'a' },
        { resource: R, parentId: P, id: 'a' },
      ];
      expect(await storage.getMany(refs)).toEqual([a, null, collection, null, a]);
      expect(await storage.getMany([])).toEqual([]);
      // More references than one statement's parameters allow, in order.
      const many = Array.from({ length: 2500 }, (_, i) => ({ resource: R, parentId: P, id: i === 2400 ? 'a' : `x${i}` }));
      const found = await storage.getMany(many);
      expect(found).toHaveLength(2500);
      expect(found.filter((o) => o !== null)).toEqual([a]);
      expect(found[2400]).toEqual(a);
      const tx = await storage.begin({ readonly: true });
      expect(await tx.getMany(refs.slice(0, 1))).toEqual([a]);
      // A few references (a GET's object and parent) take another path in SQL storage.
      expect(await tx.getMany(refs.slice(1, 5))).toEqual([null, collection, null, a]);
      await tx.commit();
    });

    it('isolates parents and resources', async () => {
      await storage.create(R, P, { id: 'a' });
      await storage.create(R, '/buckets/b/collections/other', { id: 'a' });
      await storage.create('collection', '/buckets/b', { id: 'c' });
      expect(await storage.count(R, P)).toBe(1);
      expect(await storage.list('collection', '/buckets/b')).toHaveLength(1);
    });

    it('deletes many with or without tombstones, by parent pattern', async () => {
      await storage.create(R, P, { id: 'a' });
      await storage.create(R, '/buckets/b/collections/d', { id: 'b' });
      await storage.create('collection', '/buckets/b', { id: 'c' });
      await storage.create(R, '/buckets/bb/collections/c', { id: 'keep' });
      const deleted = await storage.deleteAll(null, '/buckets/b/*', { withTombstones: false });
      expect(deleted.map((d) => d.id).sort()).toEqual(['a', 'b']);
      expect(await storage.list(R, P, { includeDeleted: true })).toEqual([]);
      expect(await storage.count('collection', '/buckets/b')).toBe(1);
      expect(await storage.count(R, '/buckets/bb/collections/c')).toBe(1);
    });

    it('deleteAll with filters keeps tombstones by default', async () => {
      await storage.create(R, P, { id: 'a', kind: 'x' });
      await storage.create(R, P, { id: 'b', kind: 'y' });
      const deleted = await storage.deleteAll(R, P, { filters: [Filter.compare('eq', ['kind'], 'x')] });
      expect(deleted.map((d) => d.id)).toEqual(['a']);
      expect((await storage.list(R, P, { includeDeleted: true })).map((o) => o.id).sort()).toEqual(['a', 'b']);
    });

    it('counts across parents with a pattern, tombstones on request', async () => {
      await storage.create(R, P, { id: 'a' });
      await storage.create(R, P, { id: 'b' });
      await storage.create(R, '/buckets/other/collections/c', { id: 'c' });
      await storage.create('collection', '/buckets/b', { id: 'c' });
      await storage.delete(R, P, 'b');
      expect(await storage.count(R, '*')).toBe(2);
      expect(await storage.count(R, '*', [], { includeDeleted: true })).toBe(3);
      expect(await storage.count(R, P, [], { includeDeleted: true })).toBe(2);
      expect(await storage.count('collection', '*', [], { includeDeleted: true })).toBe(1);
    });

    it('purges tombstones', async () => {
      await storage.create(R, P, { id: 'a' });
      await storage.create(R, P, { id: 'b' });
      await storage.delete(R, P, 'a');
      await storage.delete(R, P, 'b');
      expect(await storage.purgeDeleted(R, P, { maxRetained: 1 })).toBe(1);
      expect(await storage.list(R, P, { includeDeleted: true })).toHaveLength(1);
      expect(await storage.purgeDeleted(R, P)).toBe(1);
    });

    it('purges the tombstones meeting every criterion: older than `before` and beyond the newest kept', async () => {
      const stamps: number[] = [];
      for (const id of ['t1', 't2', 't3', 't4']) {
        await storage.create(R, P, { id });
        stamps.push((await storage.delete(R, P, id)).last_modified);
      }
      // t1 and t2 are older than the cut-off; t3 and t4 the two newest.
      expect(await storage.purgeDeleted(R, P, { before: stamps[2], maxRetained: 3 })).toBe(1);
      const left = await storage.list(R, P, { includeDeleted: true, sort: [{ field: ['id'], direction: 1 }] });
      expect(left.map((o) => o.id)).toEqual(['t2', 't3', 't4']);
      expect(await storage.purgeDeleted(R, P, { before: stamps[2], maxRetained: 1 })).toBe(1);
      expect(await storage.purgeDeleted(R, P, { before: stamps[0], maxRetained: 0 })).toBe(0);
    });

    it('lists every list timestamp of a resource under a parent pattern, initialising none', async () => {
      const a = await storage.create(R, '/buckets/b/collections/a', { id: 'x' });
      const empty = await storage.resourceTimestamp(R, '/buckets/b/collections/empty');
      await storage.create(R, '/buckets/other/collections/c', { id: 'y' });
      await storage.create('collection', '/buckets/b', { id: 'a' });
      const found = await storage.resourceTimestamps(R, '/buckets/b/*');
      const byParent = Object.fromEntries(found.map((t) => [t.parentId, t.timestamp]));
      expect(byParent).toEqual({ '/buckets/b/collections/a': a.last_modified, '/buckets/b/collections/empty': empty });
      expect(await storage.resourceTimestamps(R, '/buckets/none/*')).toEqual([]);
      expect(await storage.resourceTimestamps(R, '/buckets/none/*')).toEqual([]);
    });

    it('forgets the list timestamps of a parent purged of every resource', async () => {
      await storage.create(R, P, { id: 'a' });
      await storage.delete(R, P, 'a');
      await storage.create(R, '/buckets/b/collections/kept', { id: 'k' });
      await storage.purgeDeleted(R, P);
      const parents = async () => (await storage.resourceTimestamps(R, '/buckets/*')).map((t) => t.parentId).sort();
      expect(await parents()).toEqual([P, '/buckets/b/collections/kept']);
      await storage.purgeDeleted(null, P);
      expect(await parents()).toEqual(['/buckets/b/collections/kept']);
    });

    it('gives a list a version that every change of its objects or tombstones moves, and nothing else', async () => {
      expect(await storage.resourceVersion(R, P)).toBeUndefined();
      const seen: string[] = [];
      const changed = async (change: () => Promise<unknown>) => {
        await change();
        const read = await storage.resourceVersion(R, P);
        expect(read?.timestamp).toBe(await storage.resourceTimestamp(R, P));
        expect(await storage.resourceVersion(R, P)).toEqual(read);
        expect(seen).not.toContain(read!.version);
        seen.push(read!.version);
      };
      await changed(() => storage.create(R, P, { id: 'a' }));
      await changed(() => storage.create(R, P, { id: 'future', last_modified: Date.now() + 1_000_000 }));
      // A past client timestamp leaves the list timestamp as it is: the version still moves.
      await changed(() => storage.create(R, P, { id: 'past', last_modified: 1000 }));
      await changed(() => storage.update(R, P, 'a', { n: 1 }));
      await changed(() => storage.delete(R, P, 'a'));
      await changed(() => storage.purgeDeleted(R, P));
      await changed(() => storage.deleteAll(R, P, { filters: [Filter.compare('eq', ['id'], 'past')], withTombstones: false }));
      await changed(() => storage.deleteAll(R, P));
      // A parent purged of every resource starts afresh: same timestamp or not, a new version.
      await storage.purgeDeleted(null, P);
      expect(await storage.resourceVersion(R, P)).toBeUndefined();
      await changed(() => storage.resourceTimestamp(R, P));
    });

    it('rolls back a transaction and commits another', async () => {
      const tx = await storage.begin();
      await tx.create(R, P, { id: 'gone' });
      expect(await tx.get(R, P, 'gone')).not.toBeNull();
      await tx.rollback();
      expect(await storage.get(R, P, 'gone')).toBeNull();
      const tx2 = await storage.begin();
      await tx2.create(R, P, { id: 'kept' });
      await tx2.commit();
      expect(await storage.get(R, P, 'kept')).not.toBeNull();
    });

    it('paginates with a keyset filter', async () => {
      for (let i = 0; i < 5; i += 1) await storage.create(R, P, { id: `r${i}`, n: i % 2 });
      const sort = [{ field: ['n'], direction: 1 }, { field: ['last_modified'], direction: -1 }] as const;
      const first = await storage.list(R, P, { sort, limit: 2 });
      const after = Filter.after(sort, [first[1].n, first[1].last_modified]);
      const rest = await storage.list(R, P, { sort, filters: [after] });
      expect([...first, ...rest].map((o) => o.id)).toEqual(['r4', 'r2', 'r0', 'r3', 'r1']);
    });

    it('reports a healthy heartbeat', async () => {
      expect(await storage.heartbeat()).toBe(true);
    });
  });
}
