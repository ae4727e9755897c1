import { Filter, type FilterNode, type JsonValue } from '../../core/filters/ast.ts';
import type { ResourceDefinition } from '../../core/resource/definition.ts';
import { uuid4Generator } from '../../core/resource/id-generators.ts';

/** The entry fields one may filter, sort and select on (Kinto's HistorySchema, strict). */
const KNOWN_FIELDS = new Set([
  'user_id',
  'uri',
  'action',
  'date',
  'resource_name',
  'bucket_id',
  'collection_id',
  'group_id',
  'record_id',
  'target',
]);

/** Ids are stored as text: `?collection_id=1` must find the collection `"1"` (Kinto's `_extract_filters`). */
const TEXT_ID_FIELDS = new Set(['bucket_id', 'collection_id', 'group_id', 'record_id']);

function asText(value: JsonValue): JsonValue {
  return typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
}

function idsAsText(filters: readonly FilterNode[]): FilterNode[] {
  return filters.map((filter) => {
    if (!('field' in filter) || filter.field.length !== 1 || !TEXT_ID_FIELDS.has(filter.field[0])) return filter;
    if (filter.kind === 'compare') return Filter.compare(filter.op, filter.field, asText(filter.value));
    if (filter.kind === 'in') return Filter.in(filter.field, filter.values.map(asText), filter.negate);
    return filter;
  });
}

export const historyUri = (bucketId: string) => `/buckets/${bucketId}/history`;

/**
 * `GET`/`DELETE /buckets/{bid}/history`: the entries of a bucket, listed like records
 * (filters, sorting, pagination), with no object endpoint nor any other write.
 */
export function historyResource(): ResourceDefinition {
  return {
    name: 'history',
    pluralPath: '/buckets/:bucket_id/history',
    pluralMethods: ['GET', 'DELETE'],
    parentId: (params) => `/buckets/${params.bucket_id}`,
    objectUri: (params, id) => `${historyUri(params.bucket_id)}/${id}`,
    idGenerator: uuid4Generator,
    permissions: ['read'],
    knownFields: KNOWN_FIELDS,
    normalizeFilters: idsAsText,
  };
}
