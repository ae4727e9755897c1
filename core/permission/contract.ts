/** The permission backend contract, run against every implementation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PermissionBackend } from './types.ts';

const B = '/buckets/b';
const C = '/buckets/b/collections/c';

export function runPermissionContract(name: string, create: () => Promise<PermissionBackend>): void {
  describe(`permission contract: ${name}`, () => {
    let backend: PermissionBackend;
    beforeEach(async () => {
      backend = await create();
    });
    afterEach(async () => {
      await backend.flush();
      await backend.close();
    });

    it('adds and removes principals of an ACE', async () => {
      await backend.addPrincipalToAce(B, 'write', 'alice');
      await backend.addPrincipalToAce(B, 'write', 'bob');
      await backend.removePrincipalFromAce(B, 'write', 'alice');
      expect(await backend.getObjectPermissionPrincipals(B, 'write')).toEqual(['bob']);
    });

    it('replaces only the ACEs given; an empty list deletes one', async () => {
      await backend.replaceObjectPermissions(B, { read: ['a'], write: ['w'] });
      await backend.replaceObjectPermissions(B, { read: [], 'collection:create': ['c'] });
      const [acl] = await backend.getObjectsPermissions([B]);
      expect(acl).toEqual({ write: ['w'], 'collection:create': ['c'] });
    });

    it('replaces a whole ACL, keeps principals that stay, and reads back its writes in a transaction', async () => {
      await backend.replaceObjectPermissions(B, { read: ['a', 'b'], write: ['w'], 'group:create': ['g'] });
      const tx = await backend.begin();
      // The authorization check loads the ACL; writes after it must be seen by the reads.
      await tx.getAuthorizedPrincipals([[B, 'write']]);
      await tx.replaceObjectPermissions(B, { read: ['b', 'c', 'b'], 'group:create': [] });
      expect(await tx.getObjectPermissionPrincipals(B, 'read')).toEqual(['b', 'c']);
      expect(await tx.getObjectsPermissions([B])).toEqual([{ read: ['b', 'c'], write: ['w'] }]);
      await tx.replaceObjectPermissions(C, { write: ['😀', 'z', 'é', 'A'], read: [] }, { whole: true });
      await tx.replaceObjectPermissions(`${C}/records/r`, {}, { whole: true });
      const inside = await tx.getObjectsPermissions([B, C, `${C}/records/r`]);
      await tx.commit();
      expect(await backend.getObjectsPermissions([B, C, `${C}/records/r`])).toEqual(inside);
      expect(inside[1]).toEqual({ write: ['A', 'z', 'é', '😀'] });
      await backend.replaceObjectPermissions(C, { read: ['r'] }, { whole: true });
      expect(await backend.getObjectsPermissions([C])).toEqual([{ read: ['r'] }]);
    });

    it('returns ACLs of several objects in order, filtered by permission', async () => {
      await backend.replaceObjectPermissions(B, { read: ['a'], write: ['w'] });
      await backend.replaceObjectPermissions(C, { read: ['r'] });
      expect(await backend.getObjectsPermissions([C, '/nope', B], ['read'])).toEqual([{ read: ['r'] }, {}, { read: ['a'] }]);
    });

    it('manages user principals and shares those of system.Authenticated', async () => {
      await backend.addUserPrincipal('alice', '/buckets/b/groups/g');
      await backend.addUserPrincipal('system.Authenticated', '/buckets/b/groups/all');
      expect((await backend.getUserPrincipals('alice')).sort()).toEqual(['/buckets/b/groups/all', '/buckets/b/groups/g']);
      await backend.removeUserPrincipal('alice', '/buckets/b/groups/g');
      expect(await backend.getUserPrincipals('alice')).toEqual(['/buckets/b/groups/all']);
    });

    it('removes a principal everywhere', async () => {
      const group = '/buckets/b/groups/g';
      await backend.addUserPrincipal('alice', group);
      await backend.addPrincipalToAce(C, 'read', group);
      await backend.removePrincipal(group);
      expect(await backend.getUserPrincipals('alice')).toEqual([]);
      expect(await backend.getObjectPermissionPrincipals(C, 'read')).toEqual([]);
    });

    it('deletes ACLs by subtree pattern', async () => {
      await backend.replaceObjectPermissions(B, { write: ['w'] });
      await backend.replaceObjectPermissions(C, { write: ['w'] });
      await backend.replaceObjectPermissions(`${C}/records/r`, { write: ['w'] });
      await backend.replaceObjectPermissions('/buckets/bb', { write: ['w'] });
      await backend.deleteObjectPermissions(`${B}/*`);
      expect(await backend.getObjectsPermissions([B, C, `${C}/records/r`, '/buckets/bb'])).toEqual([
        { write: ['w'] }, {}, {}, { write: ['w'] },
      ]);
    });

    it('lists accessible objects, with one-segment patterns', async () => {
      await backend.replaceObjectPermissions(`${C}/records/r1`, { read: ['alice'] });
      await backend.replaceObjectPermissions(`${C}/records/r2`, { write: ['group'] });
      await backend.replaceObjectPermissions(`${C}/records/r3`, { read: ['bob'] });
      await backend.replaceObjectPermissions(C, { read: ['alice'] });
      const found = await backend.getAccessibleObjects(['alice', 'group'], [[`${C}/records/*`, 'read'], [`${C}/records/*`, 'write']]);
      expect([...found.keys()].sort()).toEqual([`${C}/records/r1`, `${C}/records/r2`]);
      const all = await backend.getAccessibleObjects(['alice']);
      expect([...all.keys()].sort()).toEqual([C, `${C}/records/r1`]);
    });

    it('tells whether any object is accessible, as the listing of them would', async () => {
      await backend.replaceObjectPermissions(`${C}/records/r1`, { write: ['group'] });
      await backend.replaceObjectPermissions(`${C}/records/r1/attachments/a`, { read: ['bob'] });
      await backend.replaceObjectPermissions(C, { read: ['carol'] });
      const records: [string, string][] = [[`${C}/records/*`, 'read'], [`${C}/records/*`, 'write']];
      for (const principals of [['group'], ['alice', 'group'], ['bob'], ['carol'], ['alice'], []]) {
        const listed = await backend.getAccessibleObjects(principals, records);
        expect(await backend.hasAccessibleObjects(principals, records), principals.join()).toBe(listed.size > 0);
      }
      expect(await backend.hasAccessibleObjects(['group'], [[`${C}/records/*`, 'read']])).toBe(false);
      expect(await backend.hasAccessibleObjects(['group'], [])).toBe(false);
    });

    it('lists an object once when several of the principals hold the same permission on it', async () => {
      await backend.replaceObjectPermissions(`${C}/records/r1`, { read: ['alice', 'group'], write: ['group'] });
      const found = await backend.getAccessibleObjects(['alice', 'group'], [[`${C}/records/*`, 'read'], [`${C}/records/*`, 'write']]);
      expect([...found.entries()].map(([id, perms]) => [id, [...perms].sort()])).toEqual([[`${C}/records/r1`, ['read', 'write']]]);
    });

    it('gives the principals authorized by bound permissions', async () => {
      await backend.replaceObjectPermissions(B, { write: ['w'], read: ['r'] });
      await backend.replaceObjectPermissions(C, { read: ['c'] });
      const principals = await backend.getAuthorizedPrincipals([[B, 'write'], [C, 'read']]);
      expect([...principals].sort()).toEqual(['c', 'w']);
    });

    it('answers the same after a preload of many objects (beyond 16)', async () => {
      await backend.replaceObjectPermissions(C, { read: ['r'] });
      const many = [B, C, ...Array.from({ length: 20 }, (_, i) => `${C}/records/r${i}`)];
      const expected = await backend.getObjectsPermissions(many);
      const tx = await backend.begin({ readonly: true });
      await tx.preload?.(null, many);
      expect(await tx.getObjectsPermissions(many)).toEqual(expected);
      expect((await tx.getObjectsPermissions([C]))[0]).toEqual({ read: ['r'] });
      await tx.commit();
    });

    it('answers the same after a preload hint, and sees its own writes after it', async () => {
      await backend.addUserPrincipal('alice', '/buckets/b/groups/g');
      await backend.addUserPrincipal('system.Authenticated', '/buckets/b/groups/all');
      await backend.replaceObjectPermissions(B, { write: ['w2', 'w1'], read: ['r'] });
      await backend.replaceObjectPermissions(C, { read: ['/buckets/b/groups/g'] });
      // Read before the transactions: the embedded engine has one connection, held by a transaction.
      const expected = await backend.getObjectsPermissions([B, C, '/nope']);
      for (const readonly of [true, false]) {
        const tx = await backend.begin({ readonly });
        await tx.preload?.('alice', [C, B, '/nope', C]);
        await tx.preload?.(null, [B]);
        expect((await tx.getUserPrincipals('alice')).sort()).toEqual(['/buckets/b/groups/all', '/buckets/b/groups/g']);
        expect(await tx.getObjectsPermissions([B, C, '/nope'])).toEqual(expected);
        expect([...(await tx.getAuthorizedPrincipals([[C, 'read'], [B, 'write']]))].sort()).toEqual([
          '/buckets/b/groups/g', 'w1', 'w2',
        ]);
        if (!readonly) {
          await tx.addPrincipalToAce(C, 'write', 'alice');
          await tx.addUserPrincipal('alice', '/buckets/b/groups/h');
          expect(await tx.getObjectsPermissions([C])).toEqual([{ read: ['/buckets/b/groups/g'], write: ['alice'] }]);
          expect(await tx.getUserPrincipals('alice')).toContain('/buckets/b/groups/h');
          await tx.rollback();
        } else {
          await tx.commit();
        }
      }
    });

    it('rolls back a transaction', async () => {
      const tx = await backend.begin();
      await tx.addPrincipalToAce(B, 'write', 'ghost');
      await tx.addUserPrincipal('ghost', '/g');
      await tx.rollback();
      expect(await backend.getObjectPermissionPrincipals(B, 'write')).toEqual([]);
      expect(await backend.getUserPrincipals('ghost')).toEqual([]);
    });
  });
}
