import type { BoundPermission } from '../permission/types.ts';

/**
 * For each resource and permission, which permissions on which levels of the tree grant it
 * (Kinto's PERMISSIONS_INHERITANCE_TREE). `read:attributes` is what reading one object
 * (rather than listing its children) requires. Plugins extend the tree on their app.
 */
export type InheritanceTree = Record<string, Record<string, Record<string, readonly string[]>>>;

export function defaultInheritanceTree(): InheritanceTree {
  return {
    bucket: {
      write: { bucket: ['write'] },
      read: { bucket: ['write', 'read'] },
      'read:attributes': { bucket: ['write', 'read', 'collection:create', 'group:create'] },
      'group:create': { bucket: ['write', 'group:create'] },
      'collection:create': { bucket: ['write', 'collection:create'] },
    },
    group: {
      write: { bucket: ['write'], group: ['write'] },
      read: { bucket: ['write', 'read'], group: ['write', 'read'] },
    },
    collection: {
      write: { bucket: ['write'], collection: ['write'] },
      read: { bucket: ['write', 'read'], collection: ['write', 'read'] },
      'read:attributes': { bucket: ['write', 'read'], collection: ['write', 'read', 'record:create'] },
      'record:create': { bucket: ['write'], collection: ['write', 'record:create'] },
    },
    record: {
      write: { bucket: ['write'], collection: ['write'], record: ['write'] },
      read: { bucket: ['write', 'read'], collection: ['write', 'read'], record: ['write', 'read'] },
    },
  };
}

export interface UriLevel {
  resource: string;
  uri: string;
}

/**
 * Splits an object URI into its levels: `/buckets/b/collections/c` gives
 * bucket `/buckets/b` then collection `/buckets/b/collections/c`. A plural URI
 * (`/buckets/b/collections`) stands for its parent object, as in Kinto.
 */
export function uriLevels(uri: string): { levels: UriLevel[]; plural: boolean } {
  // Every request's authorization walks its URI: one split, prefixes grown level by level.
  const parts = uri.split('/');
  const plural = parts.length % 2 === 0;
  const levels: UriLevel[] = [];
  let prefix = '';
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const name = parts[i];
    prefix += `/${name}/${parts[i + 1]}`;
    levels.push({ resource: name.endsWith('s') ? name.slice(0, -1) : name, uri: prefix });
  }
  return { levels, plural };
}

/** Every (object, permission) pair that grants `permission` on `uri`, nearest levels first. */
export function inheritedPermissions(tree: InheritanceTree, uri: string, permission: string): BoundPermission[] {
  const { levels, plural } = uriLevels(uri);
  const target = levels.at(-1);
  if (!target) return [];
  const perms = tree[target.resource];
  if (!perms) return [];
  const grants = (!plural && perms[`${permission}:attributes`]) || perms[permission];
  if (!grants) return [];
  const bound: BoundPermission[] = [];
  for (let i = levels.length - 1; i >= 0; i--) {
    const level = levels[i];
    for (const granting of grants[level.resource] ?? []) bound.push([level.uri, granting]);
  }
  return bound;
}
