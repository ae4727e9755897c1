import type { BackendLifecycle, TransactionControl, Transactional } from '../storage/types.ts';

/** `{read: [principals], write: [...], 'record:create': [...]}` for one object. */
export type Acl = Record<string, string[]>;

/** (object id or pattern, permission). In patterns, `*` stands for one path segment. */
export type BoundPermission = readonly [objectId: string, permission: string];

/**
 * Who may do what on which object (ACEs keyed by object URI), and which principals each
 * user holds through groups. Mirrors Kinto's permission backend.
 */
export interface Permission {
  addUserPrincipal(userId: string, principal: string): Promise<void>;
  removeUserPrincipal(userId: string, principal: string): Promise<void>;
  /** Removes a principal from every user (a deleted group) and from every ACE. */
  removePrincipal(principal: string): Promise<void>;
  /** The principals a user gets from groups, including those granted to `system.Authenticated`. */
  getUserPrincipals(userId: string): Promise<string[]>;

  addPrincipalToAce(objectId: string, permission: string, principal: string): Promise<void>;
  removePrincipalFromAce(objectId: string, permission: string, principal: string): Promise<void>;
  getObjectPermissionPrincipals(objectId: string, permission: string): Promise<string[]>;
  /** ACLs of several objects at once, in the order given (missing objects give `{}`). */
  getObjectsPermissions(objectIds: readonly string[], permissions?: readonly string[]): Promise<Acl[]>;
  /**
   * Replaces the ACEs named in `acl`; an empty list removes that ACE. Others are kept, unless
   * `whole`: then `acl` becomes the object's entire ACL (a created object's).
   */
  replaceObjectPermissions(objectId: string, acl: Acl, options?: { whole?: boolean }): Promise<void>;
  /** Deletes the ACLs of objects matching any of the patterns (`*` = one segment, trailing `*` = subtree). */
  deleteObjectPermissions(...patterns: string[]): Promise<void>;
  /** Objects (matching the bound patterns, or all) on which any of the principals holds a permission. */
  getAccessibleObjects(principals: readonly string[], bound?: readonly BoundPermission[]): Promise<Map<string, Set<string>>>;
  /** Union of the principals holding any of the bound permissions. */
  getAuthorizedPrincipals(bound: readonly BoundPermission[]): Promise<Set<string>>;
  /** Whether `getAccessibleObjects(principals, bound)` would find any, without reading them all. */
  hasAccessibleObjects(principals: readonly string[], bound: readonly BoundPermission[]): Promise<boolean>;
  /**
   * Optional hint of a request's view: the user's principals and these objects' ACLs will be
   * asked next; a backend that remembers them for the unit of work reads both at once.
   */
  preload?(userId: string | null, objectIds: readonly string[]): Promise<void>;
}

export interface PermissionBackend extends Permission, Transactional<Permission>, BackendLifecycle {
  /**
   * Joins the storage transaction when both live in the same database (one commit for
   * both); returns undefined when they do not, and `begin` is used instead.
   */
  beginAlongside?(storageTransaction: unknown): (Permission & TransactionControl) | undefined;
}

/**
 * Compiles an object-id pattern. In `segment` mode (listing what a user may access) `*`
 * matches one path segment; in `subtree` mode (cascading deletes) it matches anything.
 */
export function patternToRegExp(pattern: string, mode: 'segment' | 'subtree'): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const wildcard = mode === 'segment' ? '[^/]+' : '.*';
  return new RegExp(`^${escaped.replaceAll('*', wildcard)}$`);
}
