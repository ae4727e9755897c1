import type { KintoCore } from '../context.ts';
import type { ReadableBy } from '../storage/types.ts';
import { isPlainObject } from './call.ts';
import type { PathParams, RequestInfo, ResourceDefinition } from './definition.ts';

export interface Access {
  allowed: boolean;
  /** On a plural read the caller cannot fully see: the ids it may see (else null). */
  sharedIds: string[] | null;
  /** The same, left to the listing's SQL when storage joins the permission backend (a GET). */
  readableBy?: ReadableBy;
}

interface Requirement {
  objectUri: string;
  permission: string;
  /** The target object is known to be absent (write on a missing object). */
  missing: boolean;
}

/** The plural endpoint's URI: an object URI without its last segment. */
function pluralUri(definition: ResourceDefinition, params: PathParams): string {
  const probe = definition.objectUri(params, '');
  return probe.slice(0, -1);
}

/** Which permission on which URI the request needs (Kinto's `_find_required_permission`). */
async function requirement(definition: ResourceDefinition, params: PathParams, request: RequestInfo): Promise<Requirement> {
  const uow = request.uow;
  const plural = pluralUri(definition, params);
  const parentId = definition.parentId(params);
  const method = request.method;
  const create = `${definition.name}:create`;
  if (params.id === undefined) {
    if (method === 'POST') {
      const body = request.body;
      const id = isPlainObject(body) && isPlainObject(body.data) ? body.data.id : undefined;
      if (typeof id === 'string' && (await uow.storage.get(definition.name, parentId, id))) {
        return { objectUri: definition.objectUri(params, id), permission: 'read', missing: false };
      }
      return { objectUri: plural, permission: create, missing: false };
    }
    return { objectUri: plural, permission: method === 'DELETE' ? 'write' : 'read', missing: false };
  }
  const objectUri = definition.objectUri(params, params.id);
  if (method === 'GET' || method === 'HEAD') return { objectUri, permission: 'read', missing: false };
  const exists = (await uow.storage.get(definition.name, parentId, params.id)) !== null;
  if (method === 'PUT') {
    const safeCreate = request.headers['if-none-match'] === '*';
    if (!exists || safeCreate) return { objectUri: plural, permission: create, missing: false };
    return { objectUri, permission: 'write', missing: false };
  }
  return { objectUri, permission: 'write', missing: !exists };
}

/** Kinto's `AuthorizationPolicy.permits`, including shared listings and writes on missing objects. */
export async function authorizeResource(
  core: KintoCore,
  definition: ResourceDefinition,
  params: PathParams,
  request: RequestInfo,
): Promise<Access> {
  const { uow } = request;
  const identity = { userId: request.userId, principals: request.principals };
  const need = await requirement(definition, params, request);
  const check = (uri: string, perm: string) =>
    core.authorizer.allowed(uow.permission, identity.principals, definition.name, core.authorizer.bound(uri, perm), perm);

  const plural = pluralUri(definition, params);
  if (need.missing) {
    // A write on a missing object is let through when the parent is readable: it will 404.
    return { allowed: await check(plural, 'read'), sharedIds: null };
  }
  if (await check(need.objectUri, need.permission)) return { allowed: true, sharedIds: null };
  const isListing = params.id === undefined && request.method !== 'POST';
  if (!isListing) return { allowed: false, sharedIds: null };

  const childBound = core.authorizer.bound(`${plural}/*`, need.permission).filter(([uri]) => uri.endsWith('/*'));
  const joined = request.method === 'GET' && childBound.every(([uri]) => uri === `${plural}/*`);
  if (joined && uow.storage.joinsPermissions?.(uow.permission)) {
    if (await uow.permission.hasAccessibleObjects(identity.principals, childBound)) {
      const permissions = [...new Set(childBound.map(([, perm]) => perm))];
      return { allowed: true, sharedIds: null, readableBy: { pluralUri: plural, permissions, principals: identity.principals } };
    }
  } else {
    const accessible = await uow.permission.getAccessibleObjects(identity.principals, childBound);
    const sharedIds = [...accessible.keys()].map((uri) => uri.slice(uri.lastIndexOf('/') + 1));
    if (sharedIds.length) return { allowed: true, sharedIds };
  }
  const canCreate = await check(plural, `${definition.name}:create`);
  return { allowed: canCreate, sharedIds: canCreate ? [] : null };
}
