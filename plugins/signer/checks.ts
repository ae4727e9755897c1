/**
 * What users may do to signed collections, with the reference's errors: status
 * transitions by group, read-only tracking fields, no floats in records, preview and
 * destination collections written by the signer only and not deleted while in use.
 */
import { KintoError } from '../../core/errors.ts';
import type { JsonObject, JsonValue } from '../../core/filters/ast.ts';
import type { Storage } from '../../core/storage/types.ts';
import type { ResolvedResource } from './config.ts';
import type { SignedResources } from './resources.ts';
import { STATUS, TRACKING_FIELDS } from './updater.ts';

export const EDITORS_GROUP = '{collection_id}-editors';
export const REVIEWERS_GROUP = '{collection_id}-reviewers';

export function invalid(message: string): KintoError {
  return new KintoError('INVALID_POSTED_DATA', { message });
}

export function forbidden(message: string): KintoError {
  return new KintoError('FORBIDDEN', { message });
}

export const groupName = (pattern: string, cid: string) => pattern.replace('{collection_id}', cid);
export const groupUri = (bid: string, gid: string) => `/buckets/${bid}/groups/${gid}`;

/** Who changes the status, and from which value to which (a user's edit of a source collection). */
export interface StatusChange {
  resource: ResolvedResource;
  bucketId: string;
  userId: string | null;
  principals: readonly string[];
  old: JsonObject;
  new: JsonObject;
}

const KNOWN_STATUSES: readonly JsonValue[] = Object.values(STATUS);

/** The reference's `check_collection_status`: 400 errno 109 or 403 errno 121. */
export function checkStatusChange(change: StatusChange): void {
  const oldStatus = change.old.status;
  const newStatus = change.new.status;
  if (oldStatus === newStatus) return;
  const source = change.resource.source.collection;
  const editors = groupName(EDITORS_GROUP, source);
  const reviewers = groupName(REVIEWERS_GROUP, source);
  const reviewEnabled = change.resource.toReviewEnabled;
  if (newStatus === undefined || newStatus === null) throw invalid('Cannot remove status');
  if (!KNOWN_STATUSES.includes(newStatus)) throw invalid(`Invalid status '${String(newStatus)}'`);
  if (newStatus === STATUS.TO_REVIEW) {
    if (reviewEnabled && !change.principals.includes(groupUri(change.bucketId, editors))) throw forbidden(`Not in ${editors} group`);
  } else if (newStatus === STATUS.TO_SIGN) {
    if (oldStatus === STATUS.SIGNED) throw invalid('Collection already signed');
    if (!reviewEnabled) return;
    if (!change.principals.includes(groupUri(change.bucketId, reviewers))) throw forbidden(`Not in ${reviewers} group`);
    if (oldStatus !== STATUS.TO_REVIEW) throw invalid('Collection not under review');
    if (change.old[TRACKING_FIELDS.LAST_REVIEW_REQUEST_BY] === change.userId) throw forbidden('Last editor cannot review');
  } else if (newStatus === STATUS.SIGNED) {
    throw invalid(`Cannot set status to '${newStatus}'`);
  } else if (newStatus === STATUS.TO_ROLLBACK && oldStatus === STATUS.SIGNED) {
    throw invalid('Collection has no work-in-progress');
  }
}

/** Tracking fields are maintained by the signer only ("Cannot change <TRACKING_FIELDS.…>", as Python prints it). */
export function checkTrackingFields(old: JsonObject, next: JsonObject): void {
  for (const [name, field] of Object.entries(TRACKING_FIELDS)) {
    if (JSON.stringify(old[field] ?? null) !== JSON.stringify(next[field] ?? null)) {
      throw invalid(`Cannot change <TRACKING_FIELDS.${name}: '${field}'>`);
    }
  }
}

/**
 * The path of the first float, built as the reference builds it (sibling keys accumulate
 * in the path: `{"a": 1, "b": 1.5}` reports `a.b`).
 */
export function floatPath(node: JsonObject | JsonValue[], start = ''): string | null {
  let path = start;
  const entries: [string, JsonValue][] = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
  for (const [key, value] of entries) {
    path = path ? `${path}.${key}` : key;
    if (typeof value === 'number' && !Number.isInteger(value)) return path;
    if (value !== null && typeof value === 'object') {
      const found = floatPath(value, path);
      if (found !== null) return found;
    }
  }
  return null;
}

export function checkNoFloat(record: JsonObject): void {
  const path = floatPath(record);
  if (path !== null) throw invalid(`field contains float value (tip: use integer or string), '${path}'`);
}

/** Records and metadata of preview/destination collections are the signer's only. */
export function checkNotManaged(resources: SignedResources, bid: string, cid: string): void {
  if (resources.impacting(bid, cid)) {
    throw forbidden('This collection is published by the signer: change its source collection instead.');
  }
}

/** A preview or destination collection cannot be deleted while its source exists. */
export async function checkDeletable(resources: SignedResources, storage: Storage, bid: string, cid: string): Promise<void> {
  const inUse = resources.impacting(bid, cid);
  if (!inUse) return;
  const source = await storage.get('collection', `/buckets/${inUse.source.bucket}`, inUse.source.collection);
  if (source) throw forbidden('Collection is in use.');
}
