import { hmacDigest } from '../../core/auth/policies.ts';
import type { Identity } from '../../core/auth/authorization.ts';
import type { KintoCore } from '../../core/context.ts';
import { invalidParameters } from '../../core/errors.ts';
import type { PathParams } from '../../core/resource/definition.ts';
import { ResourceModel } from '../../core/resource/model.ts';
import type { Settings } from '../../core/settings/load.ts';
import { UnicityError } from '../../core/storage/types.ts';
import type { UnitOfWork } from '../../core/unit-of-work.ts';

/**
 * The user's personal bucket id: `UUID(hmac(default_bucket_hmac_secret, user id)[:32])`.
 * Like Kinto, the `userid_hmac_secret` fallback only applies when the setting is absent
 * (its default is the empty string).
 */
export function defaultBucketId(settings: Settings, userId: string): string {
  const secret = settings.str('default_bucket_hmac_secret', settings.str('userid_hmac_secret', ''));
  const hex = hmacDigest(secret, userId).slice(0, 32);
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

/**
 * Creates a bucket or collection unless it exists (Kinto's `resource_create_object`): no
 * permission check, the caller becomes its writer, and a `create` event is sent. Done once
 * per unit of work, so the subrequests of a batch check it only once.
 */
async function createImplicitly(
  core: KintoCore,
  uow: UnitOfWork,
  identity: Identity,
  resource: 'bucket' | 'collection',
  params: PathParams,
): Promise<void> {
  const definition = core.resources.get(resource);
  if (!definition) throw new Error(`The ${resource} resource is not registered`);
  const uri = definition.objectUri(params, params.id);
  const memo = `default_bucket:created:${uri}`;
  if (uow.bound.has(memo)) return;
  if (!definition.idGenerator.pattern.test(params.id)) {
    throw invalidParameters('path', null, `Invalid ${resource} id`);
  }
  const model = new ResourceModel({
    uow,
    definition,
    params,
    userId: identity.userId,
    principals: identity.principals,
    explicitPermissions: core.settings.bool('explicit_permissions', true),
    requestUri: uri,
  });
  if (!(await model.get(params.id))) {
    try {
      const { object } = await model.create({ id: params.id }, {});
      model.notify('create', object.last_modified, [{ new: object }]);
    } catch (error) {
      if (!(error instanceof UnicityError)) throw error;
    }
  }
  uow.bound.set(memo, true);
}

/** The collection a sub path is about (`collections/<id>/…`), or null. */
export function collectionOf(subpath: string): string | null {
  const trimmed = subpath.replace(/\/+$/, '');
  return trimmed.startsWith('collections/') ? trimmed.split('/')[1] : null;
}

/**
 * Makes sure the bucket, and the collection in the path, exist before the request is
 * served, except when the request itself creates them with a PUT.
 */
export async function ensureParents(
  core: KintoCore,
  uow: UnitOfWork,
  identity: Identity,
  request: { method: string; bucketId: string; subpath: string },
): Promise<void> {
  const { method, bucketId, subpath } = request;
  const isPut = method === 'PUT';
  if (!(isPut && subpath === '')) {
    await createImplicitly(core, uow, identity, 'bucket', { id: bucketId });
  }
  const collectionId = collectionOf(subpath);
  if (collectionId === null) return;
  if (isPut && subpath.replace(/\/+$/, '') === `collections/${collectionId}`) return;
  await createImplicitly(core, uow, identity, 'collection', { bucket_id: bucketId, id: collectionId });
}
