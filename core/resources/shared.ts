import { invalidParameters, notFound } from '../errors.ts';
import type { JsonObject } from '../filters/ast.ts';
import type { HookContext } from '../resource/definition.ts';
import { forgetRememberedParent, rememberParent, rememberedParent } from '../resource/read-ahead.ts';
import { checkSchemaDefinition, validateAgainstSchema } from '../resource/json-schema.ts';
import type { StoredObject } from '../storage/types.ts';
import type { UnitOfWork } from '../unit-of-work.ts';

export const bucketUri = (bucketId: string) => `/buckets/${bucketId}`;
export const collectionUri = (bucketId: string, collectionId: string) => `/buckets/${bucketId}/collections/${collectionId}`;

/** Fetches a parent object once per request (a batch shares it), or answers 404 errno 111. */
export async function parentOr404(uow: UnitOfWork, resource: string, parentId: string, id: string): Promise<StoredObject> {
  const ref = { resource, parentId, id };
  const cached = rememberedParent(uow, ref);
  if (cached) return cached;
  const found = await uow.storage.get(resource, parentId, id);
  if (!found) throw notFound({ id, resource_name: resource }, 'MISSING_RESOURCE');
  rememberParent(uow, ref, found);
  return found;
}

/** Forgets memoised parents after they change within the same unit of work. */
export function forgetParent(uow: UnitOfWork, resource: string, parentId: string, id: string): void {
  forgetRememberedParent(uow, { resource, parentId, id });
}

export function schemaValidationEnabled(ctx: HookContext): boolean {
  return ctx.settings.bool('experimental_collection_schema_validation', false);
}

/** Fields holding JSON schemas must be valid schemas (Kinto's JSONSchemaMapping). */
export function assertSchemaFields(object: JsonObject, fields: readonly string[]): void {
  for (const field of fields) {
    if (object[field] === undefined) continue;
    const problem = checkSchemaDefinition(object[field]);
    if (problem) throw invalidParameters('body', `data.${field}`, problem);
  }
}

/** Kinto's `validate_from_bucket_schema_or_400`: the bucket's `<resource>:schema`, if any. */
export async function validateFromBucketSchema(ctx: HookContext, resource: string, object: JsonObject, ignored: string[]) {
  if (!schemaValidationEnabled(ctx)) return;
  const bucket = await parentOr404(ctx.uow, 'bucket', '', ctx.params.bucket_id);
  const schema = bucket[`${resource}:schema`];
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return;
  validateAgainstSchema(schema as JsonObject, object, { ignoredFields: ignored, idField: 'id' });
}
