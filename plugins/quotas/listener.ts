/**
 * Kinto's quotas listener: inside the request's transaction, every change below a bucket
 * updates the bucket's and the collection's counters, and a change that takes them over
 * a limit refuses the whole request with Kinto's 507 (errno 121), rolling it back.
 * Unlike Kinto, a deletion is never refused: it only ever lowers the usage.
 */
import { KintoError } from '../../core/errors.ts';
import type { ResourceEvent, TransactionScope } from '../../core/events.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import type { Settings } from '../../core/settings/load.ts';
import {
  objectSize,
  lockBucketInfo,
  readInfos,
  recountBucket,
  saveBucketInfo,
  saveCollectionInfo,
  type BucketInfo,
  type CollectionInfo,
} from './counters.ts';

export const QUOTA_RESOURCES = ['bucket', 'group', 'collection', 'record'];

type LimitName = 'max_bytes' | 'max_items' | 'max_bytes_per_item';

/** `quotas.bucket_{bid}_…`, else `quotas.bucket_…` (patterned names are validated at start-up). */
function bucketLimit(settings: Settings, bid: string, name: LimitName): number | null {
  return settings.optionalInt(`quotas.bucket_${bid}_${name}`) ?? settings.optionalInt(`quotas.bucket_${name}`);
}

/** `quotas.collection_{bid}_{cid}_…`, else `quotas.collection_{bid}_…`, else `quotas.collection_…`. */
function collectionLimit(settings: Settings, bid: string, cid: string | null, name: LimitName): number | null {
  const specific = cid === null ? null : settings.optionalInt(`quotas.collection_${bid}_${cid}_${name}`);
  return specific ?? settings.optionalInt(`quotas.collection_${bid}_${name}`) ?? settings.optionalInt(`quotas.collection_${name}`);
}

function refuse(message: string): never {
  throw new KintoError('INSUFFICIENT_STORAGE', { message });
}

/** The counters one group of impacted objects (same bucket, same collection) changes. */
interface Scope {
  bid: string;
  cid: string | null;
  changes: { old?: JsonObject; new?: JsonObject }[];
}

/** Impacted objects grouped by the bucket and collection they count in. */
function scopesOf(event: ResourceEvent): Scope[] {
  const { resource_name: resource } = event.payload;
  const scopes = new Map<string, Scope>();
  for (const change of event.impacted) {
    const object = (change.new ?? change.old) as JsonObject & { id: string };
    const bid = resource === 'bucket' ? object.id : String(event.payload.bucket_id);
    let cid: string | null = null;
    if (resource === 'collection') cid = object.id;
    if (resource === 'record') cid = String(event.payload.collection_id);
    const key = `${bid}\u0000${cid ?? ''}`;
    const scope = scopes.get(key) ?? { bid, cid, changes: [] };
    scope.changes.push(change);
    scopes.set(key, scope);
  }
  return [...scopes.values()];
}

function applyChange(
  resource: string,
  action: string,
  change: { old?: JsonObject; new?: JsonObject },
  bucket: BucketInfo,
  collection: CollectionInfo,
): void {
  // A deletion's `new` is its tombstone, which counts for nothing.
  const delta = (action === 'delete' ? 0 : objectSize(change.new)) - objectSize(change.old);
  const inCollection = resource === 'collection' || resource === 'record';
  bucket.storage_size += delta;
  if (inCollection) collection.storage_size += delta;
  const count = action === 'create' ? 1 : action === 'delete' ? -1 : 0;
  if (resource === 'collection') bucket.collection_count += count;
  if (resource === 'record') {
    bucket.record_count += count;
    collection.record_count += count;
  }
}

function checkLimits(settings: Settings, scope: Scope, bucket: BucketInfo, collection: CollectionInfo): void {
  const { bid, cid } = scope;
  const bucketBytes = bucketLimit(settings, bid, 'max_bytes');
  if (bucketBytes !== null && bucket.storage_size > bucketBytes) {
    refuse(`Bucket maximum total size exceeded (${bucket.storage_size} > ${bucketBytes} Bytes). `);
  }
  const bucketItems = bucketLimit(settings, bid, 'max_items');
  if (bucketItems !== null && bucket.record_count > bucketItems) {
    refuse(`Bucket maximum number of objects exceeded (${bucket.record_count} > ${bucketItems} objects).`);
  }
  const collectionBytes = collectionLimit(settings, bid, cid, 'max_bytes');
  if (collectionBytes !== null && collection.storage_size > collectionBytes) {
    refuse(`Collection maximum size exceeded (${collection.storage_size} > ${collectionBytes} Bytes).`);
  }
  const collectionItems = collectionLimit(settings, bid, cid, 'max_items');
  if (collectionItems !== null && collection.record_count > collectionItems) {
    refuse(`Collection maximum number of objects exceeded (${collection.record_count} > ${collectionItems} objects).`);
  }
}

function checkObjectSizes(settings: Settings, scope: Scope): void {
  const limit = collectionLimit(settings, scope.bid, scope.cid, 'max_bytes_per_item') ?? bucketLimit(settings, scope.bid, 'max_bytes_per_item');
  if (limit === null) return;
  for (const change of scope.changes) {
    const size = objectSize(change.new);
    // Kinto's message, stray quotes included (an f-string that swallowed a concatenation).
    if (size > limit) refuse(`Maximum bytes per object exceeded " "(${size} > ${limit} Bytes.`);
  }
}

async function applyScope(event: ResourceEvent, scope: Scope, storage: TransactionScope['storage'], settings: Settings): Promise<void> {
  const { action, resource_name: resource } = event.payload;
  await lockBucketInfo(storage, scope.bid);
  if (resource === 'collection' && action === 'delete') {
    // The collection's records and its counters are gone already: recount the bucket.
    const recounted = await recountBucket(storage, scope.bid);
    if (recounted) await saveBucketInfo(storage, scope.bid, recounted);
    return;
  }
  if (action !== 'delete') checkObjectSizes(settings, scope);
  // The bucket's and the collection's counters in one read, under the bucket's lock.
  const infos = await readInfos(storage, scope.bid, scope.cid === null ? [] : [scope.cid]);
  const { bucket } = infos;
  const collection = infos.collections[0] ?? { record_count: 0, storage_size: 0 };
  for (const change of scope.changes) applyChange(resource, action, change, bucket, collection);
  if (action !== 'delete') checkLimits(settings, scope, bucket, collection);
  await saveBucketInfo(storage, scope.bid, bucket);
  if (scope.cid !== null) await saveCollectionInfo(storage, scope.bid, scope.cid, collection);
}

export async function updateQuotas(events: ResourceEvent[], scope: TransactionScope, settings: Settings): Promise<void> {
  for (const event of events) {
    const { action, resource_name: resource } = event.payload;
    // A deleted bucket takes everything below it, its counters included.
    if (action === 'read' || (resource === 'bucket' && action === 'delete')) continue;
    for (const group of scopesOf(event)) await applyScope(event, group, scope.storage, settings);
  }
}
