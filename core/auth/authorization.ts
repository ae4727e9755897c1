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

/**
 * Decides whether principals hold a permission, from the `*_principals` settings first
 * and then the permission backend, through the inheritance tree (Kinto's `check_permission`).
 */
export class Authorizer {
  private readonly settings: Settings;
  private readonly tree: InheritanceTree;

  constructor(settings: Settings, tree: InheritanceTree) {
    this.settings = settings;
    this.tree = tree;
  }

  bound(objectUri: string, permission: string): BoundPermission[] {
    return inheritedPermissions(this.tree, objectUri, permission);
  }

  /** Principals granted by a `<resource>_<perm>_principals` setting for the bound permissions. */
  settingPrincipals(resourceName: string, bound: readonly BoundPermission[], fallback: string): string[] {
    const perms = bound.length ? bound.map(([, perm]) => perm) : [fallback];
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
    const mine = new Set(principals);
    if (this.settingPrincipals(resourceName, bound, fallbackPermission).some((p) => mine.has(p))) return true;
    if (!bound.length) return false;
    const authorized = await permission.getAuthorizedPrincipals(bound);
    return principals.some((p) => authorized.has(p));
  }
}
