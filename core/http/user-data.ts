import type { FastifyInstance } from 'fastify';
import { uriLevels } from '../auth/inheritance.ts';
import type { KintoCore } from '../context.ts';
import type { HookContext, PathParams } from '../resource/definition.ts';
import { inUnitOfWork, type UnitOfWork } from '../unit-of-work.ts';
import { denied, identify } from './identity.ts';
import { invalidParameters } from '../errors.ts';

/** Keeps only the URIs with no ancestor in the set: deleting a parent cascades to them. */
function withoutDescendants(uris: string[]): string[] {
  const sorted = [...uris].sort();
  const kept: string[] = [];
  for (const uri of sorted) if (!kept.some((parent) => uri.startsWith(`${parent}/`))) kept.push(uri);
  return kept;
}

/** Params of an object URI, as its resource's routes would have them. */
function paramsOf(uri: string): { resource: string; params: PathParams } | null {
  const { levels, plural } = uriLevels(uri);
  const target = levels.at(-1);
  if (plural || !target) return null;
  const params: PathParams = {};
  for (const level of levels.slice(0, -1)) params[`${level.resource}_id`] = level.uri.slice(level.uri.lastIndexOf('/') + 1);
  params.id = target.uri.slice(target.uri.lastIndexOf('/') + 1);
  return { resource: target.resource, params };
}

async function deleteOwned(core: KintoCore, uow: UnitOfWork, uri: string): Promise<void> {
  const parsed = paramsOf(uri);
  const definition = parsed && core.resources.get(parsed.resource);
  if (!parsed || !definition) return;
  const parentId = definition.parentId(parsed.params);
  const existing = await uow.storage.get(definition.name, parentId, parsed.params.id);
  if (!existing) return;
  await uow.storage.delete(definition.name, parentId, existing.id);
  await uow.permission.deleteObjectPermissions(uri);
  const ctx: HookContext = {
    uow, settings: core.settings, params: parsed.params, parentId, userId: null, principals: [], parents: {},
  };
  await definition.afterDelete?.(ctx, [existing]);
}

/**
 * `DELETE /__user_data__/{principal}` (GDPR): deletes what only that principal can write,
 * and removes it from every other ACE and group. Allowed by `user-data_delete_principals`.
 */
export function registerUserData(app: FastifyInstance, core: KintoCore): void {
  app.delete('/v1/__user_data__/:principal', async (request) => {
    const { principal } = request.params as { principal: string };
    if (principal.includes('\u0000')) throw invalidParameters('path', 'principal', 'Invalid character 0x00');
    const identity = await identify(core, request, core.permission);
    const allowed = core.settings.list('user-data_delete_principals');
    if (!identity.principals.some((p) => allowed.includes(p))) throw denied(core, identity);
    await inUnitOfWork(core, { readonly: false }, async (uow) => {
      const accessible = await uow.permission.getAccessibleObjects([principal]);
      const uris = [...accessible.keys()];
      const writers = await uow.permission.getObjectsPermissions(uris, ['write']);
      const owned = uris.filter((_, i) => {
        const write = writers[i].write ?? [];
        return write.length === 1 && write[0] === principal;
      });
      for (const uri of withoutDescendants(owned)) await deleteOwned(core, uow, uri);
      await uow.permission.removePrincipal(principal);
      // And the principal leaves every group it was a member of.
      for (const group of await uow.permission.getUserPrincipals(principal)) {
        await uow.permission.removeUserPrincipal(principal, group);
      }
    });
    return { data: { principal } };
  });
}
