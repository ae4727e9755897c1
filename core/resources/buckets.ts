import type { ResourceDefinition } from '../resource/definition.ts';
import type { IdGenerator } from '../resource/definition.ts';
import { assertSchemaFields, bucketUri, forgetParent } from './shared.ts';

export function bucketResource(idGenerator: IdGenerator): ResourceDefinition {
  return {
    name: 'bucket',
    pluralPath: '/buckets',
    objectPath: '/buckets/:id',
    parentId: () => '',
    objectUri: (_params, id) => bucketUri(id),
    idGenerator,
    permissions: ['read', 'write', 'collection:create', 'group:create'],
    async processObject(ctx, object) {
      assertSchemaFields(object, ['collection:schema', 'group:schema', 'record:schema']);
      if (ctx.params.id) forgetParent(ctx.uow, 'bucket', '', ctx.params.id);
      return object;
    },
    /** Deleting a bucket purges everything below it, tombstones and permissions included. */
    async afterDelete(ctx, deleted) {
      for (const bucket of deleted) {
        const uri = bucketUri(bucket.id);
        forgetParent(ctx.uow, 'bucket', '', bucket.id);
        for (const pattern of [uri, `${uri}/*`]) {
          await ctx.uow.storage.deleteAll(null, pattern, { withTombstones: false });
          await ctx.uow.storage.purgeDeleted(null, pattern);
        }
        await ctx.uow.permission.deleteObjectPermissions(`${uri}/*`);
      }
    },
  };
}
