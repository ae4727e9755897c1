import { Mutex, UndoJournal } from '../util/journal.ts';
import type { TransactionControl } from '../storage/types.ts';
import { patternToRegExp, type Acl, type BoundPermission, type Permission, type PermissionBackend } from './types.ts';

const AUTHENTICATED = 'system.Authenticated';

class PermissionState {
  readonly aces = new Map<string, Map<string, Set<string>>>();
  readonly userPrincipals = new Map<string, Set<string>>();

  /** Replaces a whole entry of one of the maps, recording how to restore it. */
  replace<V>(journal: UndoJournal | null, map: Map<string, V>, key: string, value: V | undefined): void {
    const previous = map.get(key);
    journal?.push(() => (previous === undefined ? map.delete(key) : map.set(key, previous)));
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }
}

function cloneAcl(acl: Map<string, Set<string>> | undefined): Map<string, Set<string>> {
  return new Map([...(acl ?? new Map<string, Set<string>>())].map(([perm, set]) => [perm, new Set(set)]));
}

class MemoryPermissionView implements Permission {
  protected readonly state: PermissionState;
  protected readonly journal: UndoJournal | null;

  constructor(state: PermissionState, journal: UndoJournal | null) {
    this.state = state;
    this.journal = journal;
  }

  async addUserPrincipal(userId: string, principal: string): Promise<void> {
    const set = new Set(this.state.userPrincipals.get(userId) ?? []);
    set.add(principal);
    this.state.replace(this.journal, this.state.userPrincipals, userId, set);
  }

  async removeUserPrincipal(userId: string, principal: string): Promise<void> {
    const set = new Set(this.state.userPrincipals.get(userId) ?? []);
    set.delete(principal);
    this.state.replace(this.journal, this.state.userPrincipals, userId, set.size ? set : undefined);
  }

  async removePrincipal(principal: string): Promise<void> {
    for (const [userId, set] of [...this.state.userPrincipals]) {
      if (set.has(principal)) await this.removeUserPrincipal(userId, principal);
    }
    for (const [objectId, acl] of [...this.state.aces]) {
      for (const [perm, set] of acl) if (set.has(principal)) await this.removePrincipalFromAce(objectId, perm, principal);
    }
  }

  async getUserPrincipals(userId: string): Promise<string[]> {
    const own = this.state.userPrincipals.get(userId) ?? new Set();
    const shared = this.state.userPrincipals.get(AUTHENTICATED) ?? new Set();
    return [...new Set([...own, ...shared])];
  }

  async addPrincipalToAce(objectId: string, permission: string, principal: string): Promise<void> {
    const acl = cloneAcl(this.state.aces.get(objectId));
    acl.set(permission, new Set([...(acl.get(permission) ?? []), principal]));
    this.state.replace(this.journal, this.state.aces, objectId, acl);
  }

  async removePrincipalFromAce(objectId: string, permission: string, principal: string): Promise<void> {
    const acl = cloneAcl(this.state.aces.get(objectId));
    const set = acl.get(permission);
    if (!set?.has(principal)) return;
    set.delete(principal);
    if (set.size === 0) acl.delete(permission);
    this.state.replace(this.journal, this.state.aces, objectId, acl.size ? acl : undefined);
  }

  async getObjectPermissionPrincipals(objectId: string, permission: string): Promise<string[]> {
    return [...(this.state.aces.get(objectId)?.get(permission) ?? [])];
  }

  async getObjectsPermissions(objectIds: readonly string[], permissions?: readonly string[]): Promise<Acl[]> {
    return objectIds.map((objectId) => {
      const result: Acl = {};
      for (const [perm, set] of this.state.aces.get(objectId) ?? []) {
        if (permissions && !permissions.includes(perm)) continue;
        if (set.size) result[perm] = [...set].sort();
      }
      return result;
    });
  }

  async replaceObjectPermissions(objectId: string, acl: Acl, options: { whole?: boolean } = {}): Promise<void> {
    const next = options.whole ? new Map<string, Set<string>>() : cloneAcl(this.state.aces.get(objectId));
    for (const [perm, principals] of Object.entries(acl)) {
      if (principals.length === 0) next.delete(perm);
      else next.set(perm, new Set(principals));
    }
    this.state.replace(this.journal, this.state.aces, objectId, next.size ? next : undefined);
  }

  async deleteObjectPermissions(...patterns: string[]): Promise<void> {
    const regexps = patterns.map((p) => patternToRegExp(p, 'subtree'));
    for (const objectId of [...this.state.aces.keys()]) {
      if (regexps.some((re) => re.test(objectId))) this.state.replace(this.journal, this.state.aces, objectId, undefined);
    }
  }

  async getAccessibleObjects(
    principals: readonly string[],
    bound?: readonly BoundPermission[],
  ): Promise<Map<string, Set<string>>> {
    const wanted = new Set(principals);
    const compiled = bound?.map(([pattern, perm]) => [patternToRegExp(pattern, 'segment'), perm] as const);
    const result = new Map<string, Set<string>>();
    for (const [objectId, acl] of this.state.aces) {
      for (const [perm, set] of acl) {
        if (![...set].some((p) => wanted.has(p))) continue;
        if (compiled && !compiled.some(([re, p]) => p === perm && re.test(objectId))) continue;
        if (!result.has(objectId)) result.set(objectId, new Set());
        result.get(objectId)!.add(perm);
      }
    }
    return result;
  }

  async hasAccessibleObjects(principals: readonly string[], bound: readonly BoundPermission[]): Promise<boolean> {
    return bound.length > 0 && (await this.getAccessibleObjects(principals, bound)).size > 0;
  }

  async getAuthorizedPrincipals(bound: readonly BoundPermission[]): Promise<Set<string>> {
    const result = new Set<string>();
    for (const [objectId, perm] of bound) {
      for (const principal of this.state.aces.get(objectId)?.get(perm) ?? []) result.add(principal);
    }
    return result;
  }
}

class MemoryPermissionTransaction extends MemoryPermissionView implements TransactionControl {
  private readonly undo: UndoJournal;
  private readonly release: () => void;

  constructor(state: PermissionState, journal: UndoJournal, release: () => void) {
    super(state, journal);
    this.undo = journal;
    this.release = release;
  }

  async commit(): Promise<void> {
    this.undo.clear();
    this.release();
  }

  async rollback(): Promise<void> {
    this.undo.rollback();
    this.release();
  }
}

export class MemoryPermission extends MemoryPermissionView implements PermissionBackend {
  readonly name = 'memory';
  private readonly mutex = new Mutex();

  constructor() {
    super(new PermissionState(), null);
  }

  async begin(options: { readonly?: boolean } = {}): Promise<Permission & TransactionControl> {
    const release = options.readonly ? () => {} : await this.mutex.acquire();
    return new MemoryPermissionTransaction(this.state, new UndoJournal(), release);
  }

  async heartbeat(): Promise<boolean> {
    return true;
  }

  async flush(): Promise<void> {
    this.state.aces.clear();
    this.state.userPrincipals.clear();
  }

  async close(): Promise<void> {}
}
