import type { Permission } from '../permission/types.ts';
import type { BoundPermission } from '../permission/types.ts';
import type { Settings } from '../settings/load.ts';
import { inheritedPermissions, type InheritanceTree } from './inheritance.ts';

export const EVERYONE = 'system.Everyone';
export const AUTHENTICATED = 'system.Authenticated';

export interface Identity {
  /** Prefixed user id (`basicauth:…`, `account:bob`) or null when anonymous. */
  readonly userId: string | null;
  readonly principals: readonly string[];
}

/** How many `bound` answers are kept (about the requests in flight). */
const RECENT_BOUND = 256;

/**
 * Decides whether principals hold a permission, from the `*_principals` settings first
 * and then the permission backend, through the inheritance tree (Kinto's `check_permission`).
 */
export class Authorizer {
  private readonly settings: Settings;
  private readonly tree: InheritanceTree;
  private readonly grantedBySettings = new Map<string, readonly string[]>();
  private readonly recentBound = new Map<string, readonly BoundPermission[]>();

  constructor(settings: Settings, tree: InheritanceTree) {
    this.settings = settings;
    this.tree = tree;
  }

  /**
   * The (object, permission) pairs granting `permission` on `objectUri`. A request asks twice
   * (its read-ahead, its authorization) and concurrent requests interleave: the last few
   * answers are kept (frozen: shared), once the tree is (core/app.ts freezes it when ready).
   */
  bound(objectUri: string, permission: string): readonly BoundPermission[] {
    // Until the app is ready, plugins may still extend the tree: nothing kept.
    if (!Object.isFrozen(this.tree)) return inheritedPermissions(this.tree, objectUri, permission);
    const key = `${permission}\u0000${objectUri}`;
    let bound = this.recentBound.get(key);
    if (bound === undefined) {
      bound = Object.freeze(inheritedPermissions(this.tree, objectUri, permission));
      if (this.recentBound.size >= RECENT_BOUND) this.recentBound.clear();
      this.recentBound.set(key, bound);
    }
    return bound;
  }

  /** Principals granted by a `<resource>_<perm>_principals` setting for the bound permissions. */
  settingPrincipals(resourceName: string, bound: readonly BoundPermission[], fallback: string): readonly string[] {
    let key = resourceName;
    if (bound.length) for (const [, perm] of bound) key += `\u0000${perm}`;
    else key += `\u0000${fallback}`;
    // Settings are frozen: each combination of permissions (a few per resource) is read once.
    let granted = this.grantedBySettings.get(key);
    if (granted === undefined) {
      granted = Object.freeze(this.readSettingPrincipals(resourceName, bound.length ? bound.map(([, perm]) => perm) : [fallback]));
      if (this.grantedBySettings.size < 1024) this.grantedBySettings.set(key, granted);
    }
    return granted;
  }

  private readSettingPrincipals(resourceName: string, perms: readonly string[]): string[] {
    const granted: string[] = [];
    for (const perm of perms) {
      const setting = perm.startsWith(`${resourceName}:`)
        ? `${perm.replace(':', '_')}_principals`
        : `${resourceName}_${perm}_principals`;
      granted.push(...this.settings.list(setting));
    }
    return granted;
  }

  async allowed(
    permission: Permission,
    principals: readonly string[],
    resourceName: string,
    bound: readonly BoundPermission[],
    fallbackPermission: string,
  ): Promise<boolean> {
    const granted = this.settingPrincipals(resourceName, bound, fallbackPermission);
    if (granted.length && granted.some((p) => principals.includes(p))) return true;
    if (!bound.length) return false;
    const authorized = await permission.getAuthorizedPrincipals(bound);
    return principals.some((p) => authorized.has(p));
  }
}
