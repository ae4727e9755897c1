import { randomUUID } from 'node:crypto';
import { Filter } from '../../core/filters/ast.ts';
import type { Storage } from '../../core/storage/types.ts';

/**
 * Which stored file belongs to which record, kept as kinto-attachment does (objects of
 * resource `attachments` under the parent `__attachments__`), so that deleting a record,
 * a collection or a bucket finds the files to remove.
 */
export const LINKS_RESOURCE = 'attachments';
export const LINKS_PARENT = '__attachments__';

export interface FileLink {
  readonly location: string;
  readonly bucket_uri: string;
  readonly collection_uri: string;
  readonly record_uri: string;
}

export type LinkField = 'bucket_uri' | 'collection_uri' | 'record_uri';

const matching = (field: LinkField, uri: string) => [Filter.compare('eq', [field], uri)];

export async function linksOf(storage: Storage, field: LinkField, uri: string): Promise<FileLink[]> {
  const found = await storage.list(LINKS_RESOURCE, LINKS_PARENT, { filters: matching(field, uri) });
  return found as unknown as FileLink[];
}

export async function removeLinks(storage: Storage, field: LinkField, uri: string): Promise<void> {
  await storage.deleteAll(LINKS_RESOURCE, LINKS_PARENT, { filters: matching(field, uri), withTombstones: false });
}

export async function addLink(storage: Storage, link: FileLink): Promise<void> {
  await storage.create(LINKS_RESOURCE, LINKS_PARENT, { id: randomUUID(), ...link });
}

export function recordUris(bucketId: string, collectionId: string, recordId: string): Omit<FileLink, 'location'> {
  const bucketUri = `/buckets/${bucketId}`;
  const collectionUri = `${bucketUri}/collections/${collectionId}`;
  return { bucket_uri: bucketUri, collection_uri: collectionUri, record_uri: `${collectionUri}/records/${recordId}` };
}

/** `/buckets/b/collections/c` → [b, c] (the options of a link's collection). */
export function collectionIds(collectionUri: string): [string, string] {
  const [, , bucketId = '', , collectionId = ''] = collectionUri.split('/');
  return [bucketId, collectionId];
}
