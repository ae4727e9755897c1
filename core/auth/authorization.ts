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
  private readonly grantedBySettings = new Map<string, readonly string[]>();

  constructor(settings: Settings, tree: InheritanceTree) {
    this.settings = settings;
    this.tree = tree;
  }

  bound(objectUri: string, permission: string): BoundPermission[] {
    return inheritedPermissions(this.tree, objectUri, permission);
  }

  /** Principals granted by a `<resource>_<perm>_principals` setting for the bound permissions. */
  settingPrincipals(resourceName: string, bound: readonly BoundPermission[], fallback: string): readonly string[] {
    let key = resourceName;
    if (bound.length) for (let i = 0; i < bound.length; i++) key += `\u0000${bound[i][1]}`;
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
