/**
 * The read-ahead of a GET in one statement (core/sql/union.ts): on PostgreSQL and PGlite,
 * `readAhead` reads the same objects as `getMany`, the list timestamp `resourceTimestamp` has,
 * and leaves the permission view knowing what `preload` would have told it, in a single statement; storage and permission
 * on different databases fall back (undefined, nothing read).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Permission } from '../../core/permission/types.ts';
import { SqlPermission } from '../../core/permission/sql.ts';
import type { QueryOptions, SqlClient, SqlDriver, SqlResult } from '../../core/sql/driver.ts';
import { MemoryPermission } from '../../core/permission/memory.ts';
import { SqlStorage } from '../../core/storage/sql/storage.ts';
import { UnicityError, type ObjectRef, type ReadAhead } from '../../core/storage/types.ts';
import { forgetComposedUnions } from '../../core/sql/union.ts';
import { keepOpen, openPGliteTestDriver, openPostgresTestDriver } from '../helpers/databases.ts';

const BUCKET = '/buckets/b';
const PARENT = `${BUCKET}/collections/c`;
const record = (id: string) => `${PARENT}/records/${id}`;

/** Counts the statements sent through a driver (and still runs them). */
function counting(driver: SqlDriver): { driver: SqlDriver; texts: string[] } {
  const texts: string[] = [];
  const query = <Row,>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>> => {
    texts.push(text);
    return driver.query<Row>(text, params, options);
  };
  const wrapped: SqlDriver = {
    name: driver.name,
    supportsMultipleConnections: driver.supportsMultipleConnections,
    query,
    withConnection: (work: (client: SqlClient) => Promise<unknown>) =>
      driver.withConnection((client) =>
        work({
          query: <Row,>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
            // BEGIN and COMMIT are not the statements under test.
            if (params?.length) texts.push(text);
            return client.query<Row>(text, params, options);
          },
        }),
      ),
    exec: (script) => driver.exec(script),
    close: async () => {},
  } as SqlDriver;
  return { driver: wrapped, texts };
}

async function seed(storage: SqlStorage, permission: SqlPermission): Promise<void> {
  await storage.flush();
  await permission.flush();
  await storage.create('bucket', '', { id: 'b' });
  await storage.create('collection', BUCKET, { id: 'c', title: 'C' });
  await storage.create('record', PARENT, { id: 'r1', n: 1, nested: { a: [1, 'x'] } });
  await storage.create('record', PARENT, { id: 'gone', n: 2 });
  await storage.delete('record', PARENT, 'gone');
  await permission.addUserPrincipal('alice', 'group:editors');
  await permission.addUserPrincipal('system.Authenticated', 'group:everyone');
  await permission.replaceObjectPermissions(BUCKET, { write: ['admin'], read: ['group:editors'] });
  await permission.replaceObjectPermissions(PARENT, { read: ['system.Everyone', 'bob'] });
  await permission.replaceObjectPermissions(record('r1'), { write: ['alice', 'group:editors'] });
}

const REFS: ObjectRef[] = [
  { resource: 'record', parentId: PARENT, id: 'r1' },
  { resource: 'collection', parentId: BUCKET, id: 'c' },
  { resource: 'record', parentId: PARENT, id: 'gone' },
  { resource: 'record', parentId: PARENT, id: 'missing' },
];
const OBJECT_IDS = [BUCKET, PARENT, record('r1'), record('missing')];
const LIST = { resource: 'record', parentId: PARENT };

async function knowledge(view: Permission, userId: string) {
  return {
    principals: (await view.getUserPrincipals(userId)).sort(),
    acls: await view.getObjectsPermissions(OBJECT_IDS),
  };
}

function contract(name: string, open: () => Promise<{ driver: SqlDriver; close: () => Promise<void> }>) {
  describe(`the read-ahead union on ${name}`, () => {
    let opened: Awaited<ReturnType<typeof open>>;
    let storage: SqlStorage;
    let permission: SqlPermission;
    let texts: string[];

    beforeAll(async () => {
      opened = await open();
      const counted = counting(opened.driver);
      texts = counted.texts;
      storage = new SqlStorage(counted.driver);
      permission = new SqlPermission(counted.driver);
      await seed(storage, permission);
    });
    afterAll(async () => opened?.close());

    it('reads the objects of getMany and what preload tells, in one statement', async () => {
      for (const userId of ['alice', null]) {
        const reads = await storage.begin({ readonly: true });
        const view = permission.beginAlongside(reads)!;
        texts.length = 0;
        const answer = await reads.readAhead!({ refs: REFS, timestampOf: LIST, permission: view, userId, objectIds: OBJECT_IDS });
        expect(texts).toHaveLength(1);
        const objects = answer?.objects;
        expect(objects).toEqual(await storage.getMany(REFS));
        expect(answer?.timestamp).toBe(await storage.resourceTimestamp('record', PARENT, { create: false }));
        const { version } = (await storage.resourceVersion('record', PARENT))!;
        expect(answer?.version).toBe(version);
        expect(objects?.[0]).toMatchObject({ id: 'r1', n: 1, nested: { a: [1, 'x'] } });
        expect(objects?.slice(2)).toEqual([null, null]);

        // What the view now answers without asking again is what a fresh preload knows.
        texts.length = 0;
        const known = await knowledge(view, userId ?? 'system.Everyone');
        if (userId !== null) expect(texts).toHaveLength(0);
        const fresh = permission.beginAlongside(await storage.begin({ readonly: true }))!;
        await fresh.preload!(userId, OBJECT_IDS);
        expect(known).toEqual(await knowledge(fresh, userId ?? 'system.Everyone'));
      }
      const alice = permission.beginAlongside(await storage.begin({ readonly: true }))!;
      await storage.readAhead({ refs: REFS, permission: alice, userId: 'alice', objectIds: OBJECT_IDS });
      expect((await alice.getUserPrincipals('alice')).sort()).toEqual(['group:editors', 'group:everyone']);
      expect((await alice.getObjectsPermissions([record('r1')]))[0].write?.sort()).toEqual(['alice', 'group:editors']);
    });

    it('sends, for every shape of ask, the text it would compose anew, and answers as separate reads', async () => {
      const extraIds = Array.from({ length: 20 }, (_, i) => record(`extra${i}`));
      const sent = async (ask: Omit<ReadAhead, 'permission'>) => {
        const reads = await storage.begin({ readonly: true });
        const view = permission.beginAlongside(reads)!;
        texts.length = 0;
        const answer = await reads.readAhead!({ ...ask, permission: view });
        expect(answer?.objects).toEqual(await storage.getMany(ask.refs));
        expect(answer?.version).toBe(ask.timestampOf ? (await storage.resourceVersion('record', PARENT))?.version : undefined);
        const fresh = permission.beginAlongside(await storage.begin({ readonly: true }))!;
        await fresh.preload!(ask.userId, ask.objectIds);
        expect(await view.getObjectsPermissions(ask.objectIds)).toEqual(await fresh.getObjectsPermissions(ask.objectIds));
        return texts[0];
      };
      const asks = [0, 1, 2, 4].flatMap((refCount) =>
        [0, 3, 4, 5, 9, 17].flatMap((idCount) =>
          [LIST, undefined].map((timestampOf) => {
            const refs = REFS.slice(0, refCount);
            const first = { refs, timestampOf, userId: 'alice', objectIds: [...OBJECT_IDS, ...extraIds].slice(0, idCount) };
            const second = { refs: [...refs].reverse(), timestampOf, userId: 'bob', objectIds: extraIds.slice(0, idCount) };
            return [first, second] as const;
          }),
        ),
      );
      // Every shape through one memo, the second ask of each with other values than the first…
      forgetComposedUnions();
      const fromMemo = [];
      for (const [first, second] of asks) {
        await sent(first);
        fromMemo.push(await sent(second));
      }
      // …sent what it composes alone.
      for (const [index, [, second]] of asks.entries()) {
        forgetComposedUnions();
        expect(fromMemo[index]).toBe(await sent(second));
      }
    });

    it('reads only the objects when the view already knows everything asked', async () => {
      const reads = await storage.begin({ readonly: true });
      const view = permission.beginAlongside(reads)!;
      await view.preload!('alice', OBJECT_IDS);
      texts.length = 0;
      const ask = { refs: REFS.slice(0, 1), permission: view, userId: 'alice', objectIds: OBJECT_IDS };
      expect((await reads.readAhead!(ask))?.objects).toEqual(await storage.getMany(REFS.slice(0, 1)));
      expect(texts[0]).not.toContain('access_control_entries');
    });

    it('peeks at a list timestamp without initialising it, with or without objects', async () => {
      const reads = await storage.begin({ readonly: true });
      const view = permission.beginAlongside(reads)!;
      const unknown = { resource: 'record', parentId: `${BUCKET}/collections/none` };
      const answer = await reads.readAhead!({ refs: [], timestampOf: unknown, permission: view, userId: 'bob', objectIds: [] });
      expect(answer).toEqual({ objects: [], timestamp: undefined, version: undefined });
      expect(await storage.resourceTimestamps('record', unknown.parentId)).toEqual([]);
      expect(await view.getUserPrincipals('bob')).toEqual(['group:everyone']);
    });

    it('creates an object with its ACL in one statement, and leaves an existing object and its ACL alone', async () => {
      const tx = await storage.begin();
      try {
        const view = permission.beginAlongside(tx)!;
        texts.length = 0;
        const acl = { write: ['alice'], read: ['group:x'] };
        const created = await tx.createWithAcl!('record', PARENT, { id: 'joined', n: 7 }, { permission: view, objectId: record('joined'), acl });
        expect(texts).toHaveLength(1);
        expect(created).toMatchObject({ id: 'joined', n: 7 });
        expect(created?.last_modified).toBe(await tx.resourceTimestamp('record', PARENT));
        // The view knows the ACL it wrote: no statement to read it back.
        texts.length = 0;
        expect(await view.getObjectsPermissions([record('joined')])).toEqual([{ read: ['group:x'], write: ['alice'] }]);
        expect(texts).toHaveLength(0);
        const other = { permission: view, objectId: record('r1'), acl: { write: ['mallory'] } };
        await expect(tx.createWithAcl!('record', PARENT, { id: 'r1', n: 0 }, other)).rejects.toBeInstanceOf(UnicityError);
      } finally {
        await tx.commit();
      }
      expect(await storage.get('record', PARENT, 'joined')).toMatchObject({ id: 'joined', n: 7 });
      expect(await permission.getObjectsPermissions([record('joined'), record('r1')])).toEqual([
        { read: ['group:x'], write: ['alice'] },
        { write: ['alice', 'group:editors'] },
      ]);
      await storage.delete('record', PARENT, 'joined');
      await permission.deleteObjectPermissions(record('joined'));
    });

    it('falls back, reading nothing, for a permission backend on another client', async () => {
      const reads = await storage.begin({ readonly: true });
      const elsewhere = new SqlPermission(opened.driver);
      const view = await elsewhere.begin({ readonly: true });
      const memory = await new MemoryPermission().begin({ readonly: true });
      texts.length = 0;
      const ask = { refs: REFS, timestampOf: LIST, userId: 'alice', objectIds: OBJECT_IDS };
      expect(await reads.readAhead!({ ...ask, permission: view })).toBeUndefined();
      expect(await reads.readAhead!({ ...ask, permission: memory })).toBeUndefined();
      const write = { permission: view, objectId: record('x'), acl: { write: ['alice'] } };
      expect(await reads.createWithAcl!('record', PARENT, { id: 'x' }, write)).toBeUndefined();
      expect(texts).toHaveLength(0);
    });
  });
}

contract('PGlite', openPGliteTestDriver);
contract('PostgreSQL', openPostgresTestDriver);
