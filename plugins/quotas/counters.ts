/**
 * The usage counters of Kinto's quotas plugin, kept as objects of the internal resource
 * `quota`: `bucket_info` under a bucket's URI, `collection_info` under a collection's.
 * Sizes are those of plugins/quotas/size.ts; a bucket counts itself, its groups, its
 * collections and their records; a collection counts itself and its records.
 */
import type { JsonObject } from '../../core/filters/ast.ts';
import type { Storage, StoredObject } from '../../core/storage/types.ts';
import { jsonSize } from './size.ts';

export const QUOTA_RESOURCE = 'quota';
export const BUCKET_INFO = 'bucket_info';
export const COLLECTION_INFO = 'collection_info';

export interface BucketInfo {
  collection_count: number;
  record_count: number;
  storage_size: number;
}

export interface CollectionInfo {
  record_count: number;
  storage_size: number;
}

export const bucketUri = (bid: string) => `/buckets/${bid}`;
export const collectionUri = (bid: string, cid: string) => `/buckets/${bid}/collections/${cid}`;

export function objectSize(object: JsonObject | StoredObject | undefined): number {
  return object ? jsonSize(object as JsonObject) : 0;
}

function toBucketInfo(found: StoredObject | null | undefined): BucketInfo {
  return {
    collection_count: Number(found?.collection_count ?? 0),
    record_count: Number(found?.record_count ?? 0),
    storage_size: Number(found?.storage_size ?? 0),
  };
}

function toCollectionInfo(found: StoredObject | null | undefined): CollectionInfo {
  return { record_count: Number(found?.record_count ?? 0), storage_size: Number(found?.storage_size ?? 0) };
}

const collectionInfoRef = (bid: string, cid: string) => ({ resource: QUOTA_RESOURCE, parentId: collectionUri(bid, cid), id: COLLECTION_INFO });

/** A bucket's counters and those of some of its collections, in one read. */
export async function readInfos(
  storage: Storage,
  bid: string,
  cids: readonly string[],
): Promise<{ bucket: BucketInfo; collections: CollectionInfo[] }> {
  const refs = [{ resource: QUOTA_RESOURCE, parentId: bucketUri(bid), id: BUCKET_INFO }, ...cids.map((cid) => collectionInfoRef(bid, cid))];
  const [bucket, ...collections] = await storage.getMany(refs);
  return { bucket: toBucketInfo(bucket), collections: collections.map(toCollectionInfo) };
}

export async function readBucketInfo(storage: Storage, bid: string): Promise<BucketInfo> {
  return (await readInfos(storage, bid, [])).bucket;
}

/**
 * Takes the bucket's counters lock (held until commit) before its counters are read: two
 * requests writing in one bucket would otherwise both read, then one overwrite the other.
 */
export async function lockBucketInfo(storage: Storage, bid: string): Promise<void> {
  await storage.get(QUOTA_RESOURCE, bucketUri(bid), BUCKET_INFO, { forUpdate: true });
}

export async function readCollectionInfo(storage: Storage, bid: string, cid: string): Promise<CollectionInfo> {
  return (await readInfos(storage, bid, [cid])).collections[0];
}

export async function saveBucketInfo(storage: Storage, bid: string, info: BucketInfo): Promise<void> {
  await storage.update(QUOTA_RESOURCE, bucketUri(bid), BUCKET_INFO, { ...info });
}

export async function saveCollectionInfo(storage: Storage, bid: string, cid: string, info: CollectionInfo): Promise<void> {
  await storage.update(QUOTA_RESOURCE, collectionUri(bid, cid), COLLECTION_INFO, { ...info });
}

/** A collection's counters from its stored records (the rebuild, and nothing else, reads them all). */
export async function countCollection(storage: Storage, bid: string, collection: StoredObject): Promise<CollectionInfo> {
  const records = await storage.list('record', collectionUri(bid, collection.id));
  const recordsSize = records.reduce((total, record) => total + objectSize(record), 0);
  return { record_count: records.length, storage_size: objectSize(collection) + recordsSize };
}

/**
 * A bucket's counters from its stored objects, taking each collection's counters as given
 * (`collections` maps every live collection id to them).
 */
export async function sumBucket(
  storage: Storage,
  bucket: StoredObject,
  collections: ReadonlyMap<string, CollectionInfo>,
): Promise<BucketInfo> {
  const groups = await storage.list('group', bucketUri(bucket.id));
  let size = objectSize(bucket) + groups.reduce((total, group) => total + objectSize(group), 0);
  let records = 0;
  for (const info of collections.values()) {
    size += info.storage_size;
    records += info.record_count;
  }
  return { collection_count: collections.size, record_count: records, storage_size: size };
}

/** Recounts a bucket from its collections' counters (a deleted collection took its own with it). */
export async function recountBucket(storage: Storage, bid: string): Promise<BucketInfo | null> {
  const bucket = await storage.get('bucket', '', bid);
  if (!bucket) return null;
  const ids = (await storage.list('collection', bucketUri(bid))).map((collection) => collection.id);
  const { collections } = await readInfos(storage, bid, ids);
  return sumBucket(storage, bucket, new Map(ids.map((id, i) => [id, collections[i]])));
}
