/**
 * Writing history entries: one per changed object, in the transaction of the change (a
 * failed request or batch leaves none), readable by whoever may read the changed object.
 */
import { randomUUID } from 'node:crypto';
import type { ResourceEvent, TransactionScope } from '../../core/events.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import type { Acl } from '../../core/permission/types.ts';
import type { HistorySettings } from './settings.ts';

/** The resources whose changes are tracked (not accounts, nor history itself). */
export const TRACKED_RESOURCES = ['bucket', 'group', 'collection', 'record'] as const;

/** One changed object and the URIs its entry depends on. */
export interface Target {
  readonly resource: string;
  readonly object: JsonObject & { id: string };
  readonly uri: string;
  readonly bucketId: string;
  readonly bucketUri: string;
  /** The collection of a record, or the collection itself; null for buckets and groups. */
  readonly collectionUri: string | null;
}

/** `date`: ISO 8601 in UTC with microseconds, as Python's `datetime.now(timezone.utc).isoformat()`. */
export function isoDateWithMicroseconds(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, -1)}${String(micros % 1000).padStart(3, '0')}+00:00`;
}

function objectUri(resource: string, bucketId: string, collectionId: unknown, id: string): string {
  const bucket = `/buckets/${bucketId}`;
  if (resource === 'bucket') return bucket;
  if (resource === 'record') return `${bucket}/collections/${String(collectionId)}/records/${id}`;
  return `${bucket}/${resource}s/${id}`;
}

/**
 * The objects of an event, with their URIs built from the ids (never from the request
 * path, which plugins may route through sub-paths). Bucket deletions are skipped: the
 * bucket's history goes with it.
 */
export function targetsOf(event: ResourceEvent): Target[] {
  const { resource_name: resource, action } = event.payload;
  if (resource === 'bucket' && action === 'delete') return [];
  const targets: Target[] = [];
  for (const impacted of event.impacted) {
    const object = impacted.new as (JsonObject & { id: string }) | undefined;
    if (!object) continue;
    const bucketId = resource === 'bucket' ? object.id : String(event.payload.bucket_id);
    const bucketUri = `/buckets/${bucketId}`;
    const uri = objectUri(resource, bucketId, event.payload.collection_id, object.id);
    let collectionUri: string | null = null;
    if (resource === 'collection') collectionUri = uri;
    if (resource === 'record') collectionUri = `${bucketUri}/collections/${String(event.payload.collection_id)}`;
    targets.push({ resource, object, uri, bucketId, bucketUri, collectionUri });
  }
  return targets;
}

export function isExcluded(target: Target, settings: HistorySettings): boolean {
  const excluded = settings.excludedResources;
  if (excluded.size === 0) return false;
  return excluded.has(target.bucketUri) || (target.collectionUri !== null && excluded.has(target.collectionUri)) || excluded.has(target.uri);
}

/** The entry's attributes: the event payload (minus `timestamp`), the object's id, its URI and state. */
function entryFor(event: ResourceEvent, target: Target, permissions: Acl): JsonObject & { id: string } {
  const { timestamp: _timestamp, bucket_id: _bucketId, ...payload } = event.payload;
  return {
    ...(payload as JsonObject),
    id: randomUUID(),
    [`${target.resource}_id`]: target.object.id,
    uri: target.uri,
    date: isoDateWithMicroseconds(),
    target: { data: target.object, permissions },
  };
}

/** Kinto's entry ACE: readers and writers of the bucket, of the collection and of the object. */
function readersOf(target: Target, acls: Map<string, Acl>): string[] {
  const readers = new Set<string>();
  for (const uri of [target.bucketUri, target.collectionUri, target.uri]) {
    if (uri === null) continue;
    const acl = acls.get(uri) ?? {};
    for (const principal of [...(acl.read ?? []), ...(acl.write ?? [])]) readers.add(principal);
  }
  return [...readers];
}

async function aclsOf(scope: TransactionScope, targets: readonly Target[]): Promise<Map<string, Acl>> {
  const uris = new Set<string>();
  for (const target of targets) {
    uris.add(target.uri);
    uris.add(target.bucketUri);
    if (target.collectionUri) uris.add(target.collectionUri);
  }
  const ids = [...uris];
  const acls = await scope.permission.getObjectsPermissions(ids);
  return new Map(ids.map((uri, index) => [uri, acls[index]]));
}

/** Writes the history entries of one (merged) event; returns the objects it wrote an entry for. */
export async function recordEvent(event: ResourceEvent, scope: TransactionScope, settings: HistorySettings): Promise<Target[]> {
  const userId = event.payload.user_id;
  if (userId !== null && settings.excludedUserIds.has(userId)) return [];
  const targets = targetsOf(event).filter((target) => !isExcluded(target, settings));
  if (targets.length === 0) return [];
  const acls = await aclsOf(scope, targets);
  for (const target of targets) {
    const entry = entryFor(event, target, acls.get(target.uri) ?? {});
    await scope.storage.create('history', target.bucketUri, entry);
    // Without explicit permissions, entries are readable through the bucket only (Kinto #893).
    if (settings.explicitPermissions) {
      await scope.permission.replaceObjectPermissions(`${target.bucketUri}/history/${entry.id}`, { read: readersOf(target, acls) });
    }
  }
  return targets;
}
