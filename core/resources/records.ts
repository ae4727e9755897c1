import type { JsonObject } from '../filters/ast.ts';
import type { HookContext, IdGenerator, ResourceDefinition } from '../resource/definition.ts';
import { validateAgainstSchema } from '../resource/json-schema.ts';
import { bucketUri, collectionUri, parentOr404, schemaValidationEnabled, validateFromBucketSchema } from './shared.ts';

const IGNORED_FIELDS = ['last_modified', 'schema'];

/** Record lifetime settings, most specific first (Kinto's `Record._add_cache_header`). */
function recordCacheSetting(ctx: HookContext): number | null {
  const { bucket_id: bid, collection_id: cid } = ctx.params;
  const keys = [
    `${bid}.${cid}.record_cache_expires_seconds`,
    `${bid}.record_cache_expires_seconds`,
    'record_cache_expires_seconds',
    `${bid}_${cid}_record_cache_expires_seconds`,
    `${bid}_record_cache_expires_seconds`,
  ];
  for (const key of keys) {
    const value = ctx.settings.get(key);
    if (value !== undefined && value !== null && value !== '') return Number(value);
  }
  return null;
}

export function recordResource(idGenerator: IdGenerator): ResourceDefinition {
  return {
    name: 'record',
    pluralPath: '/buckets/:bucket_id/collections/:collection_id/records',
    objectPath: '/buckets/:bucket_id/collections/:collection_id/records/:id',
    parentId: (params) => collectionUri(params.bucket_id, params.collection_id),
    objectUri: (params, id) => `${collectionUri(params.bucket_id, params.collection_id)}/records/${id}`,
    idGenerator,
    permissions: ['read', 'write'],
    parentObject: (params) => ({ resource: 'collection', parentId: bucketUri(params.bucket_id), id: params.collection_id }),
    async loadParents(ctx) {
      const { bucket_id: bid, collection_id: cid } = ctx.params;
      return { collection: await parentOr404(ctx.uow, 'collection', bucketUri(bid), cid) };
    },
    async processObject(ctx, object) {
      if (!schemaValidationEnabled(ctx)) return object;
      const collection = ctx.parents.collection;
      let result: JsonObject = object;
      const schema = collection.schema;
      if (schema && typeof schema === 'object' && !Array.isArray(schema)) {
        validateAgainstSchema(schema as JsonObject, object, { ignoredFields: IGNORED_FIELDS, idField: 'id' });
        result = { ...object, schema: collection.last_modified };
      }
      await validateFromBucketSchema(ctx, 'record', result, IGNORED_FIELDS);
      return result;
    },
    cacheExpires(ctx) {
      if (ctx.userId !== null) return null;
      const setting = recordCacheSetting(ctx);
      const metadata = ctx.parents.collection?.cache_expires;
      if (typeof metadata === 'number') return Math.max(setting ?? -1, metadata);
      return setting;
    },
  };
}
