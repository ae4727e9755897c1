/**
 * Copies a source collection to its preview or destination and signs the result (the
 * reference's `LocalUpdater`). Every write goes through the request's transaction and
 * queues the resource event a real request would, by `plugin:remote-settings`.
 */
import { EVERYONE } from '../../core/auth/authorization.ts';
import type { Action, ResourceEvent } from '../../core/events.ts';
import type { JsonObject, JsonValue } from '../../core/filters/ast.ts';
import type { Permission } from '../../core/permission/types.ts';
import { ObjectNotFoundError, UnicityError, type Storage, type StoredObject } from '../../core/storage/types.ts';
import type { SignerBackend } from './backends/types.ts';
import { canonicalJson, signedPayload } from './canonical-json.ts';

export const PLUGIN_USERID = 'plugin:remote-settings';
export const STATUS = {
  WORK_IN_PROGRESS: 'work-in-progress',
  TO_REVIEW: 'to-review',
  TO_SIGN: 'to-sign',
  TO_REFRESH: 'to-resign',
  TO_ROLLBACK: 'to-rollback',
  SIGNED: 'signed',
} as const;

/** Source fields that the review workflow maintains: read-only for users. */
export const TRACKING_FIELDS = {
  LAST_EDIT_BY: 'last_edit_by',
  LAST_EDIT_DATE: 'last_edit_date',
  LAST_REVIEW_REQUEST_BY: 'last_review_request_by',
  LAST_REVIEW_REQUEST_DATE: 'last_review_request_date',
  LAST_REVIEW_BY: 'last_review_by',
  LAST_REVIEW_DATE: 'last_review_date',
  LAST_SIGNATURE_BY: 'last_signature_by',
  LAST_SIGNATURE_DATE: 'last_signature_date',
} as const;

/** Source collection fields published with the signature (Admin UI, bundles). */
const PUBLISHED_COLLECTION_FIELDS = ['flags', 'attachment', 'schema', 'sort', 'displayFields'];
const IGNORED_IN_DIFF = new Set(['last_modified', 'schema']);

export interface Collection {
  bucket: string;
  collection: string;
}

/** What the updater works with: the request's transaction, user and signer. */
export interface UpdaterContext {
  storage: Storage;
  permission: Permission;
  /** The unit of work's event queue (the plugin's writes are events too). */
  events: ResourceEvent[];
  /** The requesting user, recorded in the tracking fields. */
  userId: string | null;
  signer: SignerBackend;
  /** The request sent `last_editor_comment` itself (kept on review requests). */
  editorCommentSent: boolean;
}

/** Python's `datetime.now(timezone.utc).isoformat()`. */
export function isoNow(): string {
  return new Date().toISOString().replace(/Z$/, '000+00:00');
}

const bucketUri = (bid: string) => `/buckets/${bid}`;
const collectionUri = (c: Collection) => `/buckets/${c.bucket}/collections/${c.collection}`;

function withoutIgnored(record: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !IGNORED_IN_DIFF.has(key)));
}

export function recordsEqual(a: JsonObject, b: JsonObject): boolean {
  return canonicalJson(withoutIgnored(a)) === canonicalJson(withoutIgnored(b));
}

/** What makes `right` equal to `left`: changed or new records of left, tombstones for the rest. */
export function recordsDiff(left: readonly StoredObject[], right: readonly StoredObject[]): StoredObject[] {
  const leftById = new Map(left.map((r) => [r.id, r]));
  const result: StoredObject[] = [];
  for (const record of right) {
    const leftRecord = leftById.get(record.id);
    leftById.delete(record.id);
    if (leftRecord === undefined) result.push({ ...record, deleted: true });
    else if (!recordsEqual(leftRecord, record)) result.push(leftRecord);
  }
  result.push(...leftById.values());
  return result;
}

function attachmentOf(record: JsonObject): JsonObject | null | undefined {
  const value = record.attachment;
  if (value === undefined || value === null) return value as null | undefined;
  return typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/** Net size of the attachment files `left` adds compared to `right`. */
export function attachmentsSizeDiff(left: readonly StoredObject[], right: readonly StoredObject[]): number {
  const rightById = new Map(right.map((r) => [r.id, r]));
  const rightLocations = new Set(right.map((r) => attachmentOf(r)?.location).filter((l) => l !== undefined));
  let changed = 0;
  for (const record of left) {
    if (!('attachment' in record)) continue;
    const attachment = attachmentOf(record);
    if (attachment === null) changed -= Number(attachmentOf(rightById.get(record.id) ?? {})?.size ?? 0);
    else if (attachment && !rightLocations.has(attachment.location)) changed += Number(attachment.size ?? 0);
  }
  return changed;
}

export class Updater {
  readonly source: Collection;
  readonly destination: Collection;
  private readonly ctx: UpdaterContext;

  constructor(ctx: UpdaterContext, source: Collection, destination: Collection) {
    this.ctx = ctx;
    this.source = source;
    this.destination = destination;
  }

  /** Creates the destination, pushes the source's changes, signs; returns (changes, bytes). */
  async signAndUpdateDestination(options: {
    sourceAttributes: JsonObject;
    nextStatus?: string | null;
    previousStatus?: JsonValue;
    pushRecords?: boolean;
  }): Promise<[number, number]> {
    await this.createDestination();
    const pushed = options.pushRecords === false ? ([0, 0] as [number, number]) : await this.pushRecordsToDestination();
    await this.signDestination(options.sourceAttributes);
    const next = options.nextStatus === undefined ? STATUS.SIGNED : options.nextStatus;
    if (next !== null) await this.updateSourceStatus(next, options.previousStatus);
    return pushed;
  }

  /** Signs the destination again without moving records (a new certificate, a refresh). */
  async refreshSignature(nextStatus: JsonValue | undefined): Promise<void> {
    const sourceAttributes = (await this.ctx.storage.get('collection', bucketUri(this.source.bucket), this.source.collection)) ?? {};
    await this.signDestination(sourceAttributes);
    if (nextStatus === undefined || nextStatus === null) return;
    await this.updateSourceAttributes({
      status: nextStatus,
      [TRACKING_FIELDS.LAST_SIGNATURE_BY]: this.ctx.userId,
      [TRACKING_FIELDS.LAST_SIGNATURE_DATE]: isoNow(),
    });
  }

  /** Resets the source to the destination's content; returns how many records changed. */
  async rollbackChanges(refreshLastEdit = true): Promise<number> {
    const destination = await this.records(this.destination);
    const destinationById = new Map(destination.map((r) => [r.id, r]));
    const changes = recordsDiff(await this.records(this.source), destination);
    const parent = collectionUri(this.source);
    for (const record of changes) {
      const restored = destinationById.get(record.id);
      if (restored === undefined) {
        const tombstone = await this.ctx.storage.delete('record', parent, record.id);
        this.notifyRecord(this.source, 'delete', tombstone, record);
      } else {
        const { last_modified: _old, ...data } = restored;
        const action: Action = record.deleted ? 'create' : 'update';
        const saved = record.deleted
          ? await this.ctx.storage.create('record', parent, { ...data, id: restored.id })
          : await this.ctx.storage.update('record', parent, record.id, data);
        this.notifyRecord(this.source, action, saved, record.deleted ? undefined : record);
      }
    }
    if (refreshLastEdit) {
      await this.updateSourceAttributes({
        status: STATUS.SIGNED,
        last_editor_comment: '',
        last_reviewer_comment: '',
        [TRACKING_FIELDS.LAST_EDIT_BY]: this.ctx.userId,
        [TRACKING_FIELDS.LAST_EDIT_DATE]: isoNow(),
      });
    }
    return changes.length;
  }

  /** Only the review request fields (no preview collection to update). */
  async updateSourceReviewRequestBy(): Promise<void> {
    await this.updateSourceAttributes({
      [TRACKING_FIELDS.LAST_REVIEW_REQUEST_BY]: this.ctx.userId,
      [TRACKING_FIELDS.LAST_REVIEW_REQUEST_DATE]: isoNow(),
    });
  }

  async updateSourceStatus(status: string, oldStatus?: JsonValue): Promise<void> {
    const now = isoNow();
    const attrs: JsonObject = { status };
    if (status === STATUS.WORK_IN_PROGRESS) {
      attrs[TRACKING_FIELDS.LAST_EDIT_BY] = this.ctx.userId;
      attrs[TRACKING_FIELDS.LAST_EDIT_DATE] = now;
    }
    if (status === STATUS.TO_REVIEW) {
      attrs[TRACKING_FIELDS.LAST_REVIEW_REQUEST_BY] = this.ctx.userId;
      attrs[TRACKING_FIELDS.LAST_REVIEW_REQUEST_DATE] = now;
      if (!this.ctx.editorCommentSent) attrs.last_editor_comment = '';
    }
    if (status === STATUS.SIGNED) {
      // A refresh of an already signed collection is no review.
      if (oldStatus !== STATUS.SIGNED) {
        attrs[TRACKING_FIELDS.LAST_REVIEW_BY] = this.ctx.userId;
        attrs[TRACKING_FIELDS.LAST_REVIEW_DATE] = now;
      }
      attrs[TRACKING_FIELDS.LAST_SIGNATURE_BY] = this.ctx.userId;
      attrs[TRACKING_FIELDS.LAST_SIGNATURE_DATE] = now;
    }
    await this.updateSourceAttributes(attrs);
  }

  /** The destination bucket (writable by the user) and collection (readable by everyone). */
  async createDestination(): Promise<void> {
    const { bucket, collection } = this.destination;
    const writers = this.ctx.userId === null ? [] : [this.ctx.userId];
    await this.ensureExists('bucket', '', bucket, { write: writers }, { bucket_id: bucket });
    const ids = { bucket_id: bucket, collection_id: collection };
    await this.ensureExists('collection', bucketUri(bucket), collection, { read: [EVERYONE] }, ids);
  }

  /** Creates an object unless it exists (a concurrent creation is no error). */
  private async ensureExists(
    resource: string,
    parentId: string,
    id: string,
    acl: Record<string, string[]>,
    ids: Record<string, string>,
  ): Promise<void> {
    let created: StoredObject;
    try {
      created = await this.ctx.storage.create(resource, parentId, { id });
    } catch (error) {
      if (error instanceof UnicityError) return;
      throw error;
    }
    const uri = `${parentId}/${resource === 'bucket' ? 'buckets' : `${resource}s`}/${id}`;
    await this.ctx.permission.replaceObjectPermissions(uri, acl);
    this.notify(resource, parentId, uri, ids, 'create', [{ new: created }]);
  }

  private async records(location: Collection): Promise<StoredObject[]> {
    return this.ctx.storage.list('record', collectionUri(location));
  }

  private async signDestination(sourceAttributes: JsonObject): Promise<void> {
    const uri = collectionUri(this.destination);
    const records = await this.records(this.destination);
    const timestamp = await this.ctx.storage.resourceTimestamp('record', uri);
    const signatures = await this.ctx.signer.sign(signedPayload(records, timestamp));
    await this.setDestinationSignatures(signatures, sourceAttributes);
  }

  private async pushRecordsToDestination(): Promise<[number, number]> {
    const destination = await this.records(this.destination);
    const source = await this.records(this.source);
    const changes = recordsDiff(source, destination);
    if (changes.length === 0) return [0, 0];
    const size = signedPayload(changes, 0).length + attachmentsSizeDiff(source, destination);
    const parent = collectionUri(this.destination);
    const destinationById = new Map(destination.map((r) => [r.id, r]));
    for (const record of changes) {
      const before = destinationById.get(record.id) ?? null;
      const { last_modified: _bumped, ...data } = record;
      if (record.deleted) {
        if (before === null) continue;
        const tombstone = await this.ctx.storage.delete('record', parent, record.id);
        this.notifyRecord(this.destination, 'delete', tombstone, before);
      } else if (before === null) {
        this.notifyRecord(this.destination, 'create', await this.ctx.storage.create('record', parent, { ...data, id: record.id }));
      } else {
        this.notifyRecord(this.destination, 'update', await this.ctx.storage.update('record', parent, record.id, data), before);
      }
    }
    return [changes.length, size];
  }

  private async setDestinationSignatures(signatures: JsonObject[], sourceAttributes: JsonObject): Promise<void> {
    const parent = bucketUri(this.destination.bucket);
    const current = await this.ctx.storage.get('collection', parent, this.destination.collection);
    if (!current) throw new ObjectNotFoundError(this.destination.collection);
    const { last_modified: _bumped, ...next } = current;
    const updated: JsonObject = { ...next, signatures, signature: signatures[0] };
    for (const field of PUBLISHED_COLLECTION_FIELDS) if (field in sourceAttributes) updated[field] = sourceAttributes[field];
    const saved = await this.ctx.storage.update('collection', parent, this.destination.collection, updated);
    this.notifyCollection(this.destination, saved, current);
  }

  private async updateSourceAttributes(attrs: JsonObject): Promise<void> {
    const parent = bucketUri(this.source.bucket);
    const current = await this.ctx.storage.get('collection', parent, this.source.collection);
    if (!current) throw new ObjectNotFoundError(this.source.collection);
    const { last_modified: _bumped, ...next } = current;
    const saved = await this.ctx.storage.update('collection', parent, this.source.collection, { ...next, ...attrs });
    this.notifyCollection(this.source, saved, current);
  }

  private notifyRecord(location: Collection, action: Action, saved: StoredObject, old?: StoredObject): void {
    const parent = collectionUri(location);
    const ids = { bucket_id: location.bucket, collection_id: location.collection, record_id: saved.id };
    this.notify('record', parent, `${parent}/records/${saved.id}`, ids, action, [old ? { new: saved, old } : { new: saved }]);
  }

  private notifyCollection(location: Collection, saved: StoredObject, old: StoredObject): void {
    const ids = { bucket_id: location.bucket, collection_id: location.collection };
    this.notify('collection', bucketUri(location.bucket), collectionUri(location), ids, 'update', [{ new: saved, old }]);
  }

  private notify(resource: string, parentId: string, uri: string, ids: Record<string, string>, action: Action, impacted: ResourceEvent['impacted']): void {
    const timestamp = Math.max(...impacted.map((i) => Number(i.new?.last_modified ?? 0)));
    this.ctx.events.push({
      payload: { timestamp, action, uri, user_id: PLUGIN_USERID, resource_name: resource, ...ids },
      parentId,
      impacted,
    });
  }
}
