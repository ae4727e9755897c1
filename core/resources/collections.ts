import { invalidParameters } from '../errors.ts';
import type { IdGenerator, ResourceDefinition } from '../resource/definition.ts';
import { assertSchemaFields, bucketUri, collectionUri, forgetParent, parentOr404, validateFromBucketSchema } from './shared.ts';

export function collectionResource(idGenerator: IdGenerator): ResourceDefinition {
  return {
    name: 'collection',
    pluralPath: '/buckets/:bucket_id/collections',
    objectPath: '/buckets/:bucket_id/collections/:id',
    parentId: (params) => bucketUri(params.bucket_id),
    objectUri: (params, id) => collectionUri(params.bucket_id, id),
    idGenerator,
    permissions: ['read', 'write', 'record:create'],
    async processObject(ctx, object) {
      await parentOr404(ctx.uow, 'bucket', '', ctx.params.bucket_id);
      assertSchemaFields(object, ['schema']);
      if (object.cache_expires !== undefined && !Number.isSafeInteger(object.cache_expires)) {
        throw invalidParameters('body', 'data.cache_expires', `"${String(object.cache_expires)}" is not a number`);
      }
      await validateFromBucketSchema(ctx, 'collection', object, ['last_modified']);
      forgetParent(ctx.uow, 'collection', ctx.parentId, String(object.id));
      return object;
    },
    /** Deleting a collection purges its records (no tombstones) and their permissions. */
    async afterDelete(ctx, deleted) {
      for (const collection of deleted) {
        const uri = collectionUri(ctx.params.bucket_id, collection.id);
        forgetParent(ctx.uow, 'collection', ctx.parentId, collection.id);
        await ctx.uow.storage.deleteAll(null, uri, { withTombstones: false });
        await ctx.uow.storage.purgeDeleted(null, uri);
        await ctx.uow.permission.deleteObjectPermissions(`${uri}/*`);
      }
    },
  };
}
