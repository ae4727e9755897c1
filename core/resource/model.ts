import type { FilterNode, JsonObject, SortField } from '../filters/ast.ts';
import type { Acl } from '../permission/types.ts';
import type { ReadableBy, StoredObject } from '../storage/types.ts';
import type { UnitOfWork } from '../unit-of-work.ts';
import type { Action } from '../events.ts';
import type { PathParams, ResourceDefinition } from './definition.ts';
import { listingKey, type ListingCache } from './listing-cache.ts';
import { takeReadAhead, takeReadAheadTimestamp, takeReadAheadVersion } from './read-ahead.ts';

export interface ModelOptions {
  readonly uow: UnitOfWork;
  readonly definition: ResourceDefinition;
  readonly params: PathParams;
  /** Prefixed user id, or null when anonymous. */
  readonly userId: string | null;
  readonly principals: readonly string[];
  readonly explicitPermissions: boolean;
  /** Readonly mode: list timestamps are never initialised (Kinto answers 503 instead). */
  readonly readonlyMode?: boolean;
  /** URI of the request (without /v1), carried by events. */
  readonly requestUri: string;
  readonly listings?: ListingCache;
}

export interface WithPermissions {
  object: StoredObject;
  /** The object's ACL as shown to the caller: empty unless the caller is a direct writer. */
  permissions: Acl;
}

export interface ListQuery {
  filters: readonly FilterNode[];
  sort: readonly SortField[];
  limit?: number;
  includeDeleted?: boolean;
  readableBy?: ReadableBy;
}

/**
 * One resource type under one parent, over the request's transaction. Knows storage,
 * permissions and events; knows nothing of HTTP.
 */
export class ResourceModel {
  readonly parentId: string;
  private readonly options: ModelOptions;

  constructor(options: ModelOptions) {
    this.options = options;
    this.parentId = options.definition.parentId(options.params);
  }

  get name(): string {
    return this.options.definition.name;
  }

  objectUri(id: string): string {
    return this.options.definition.objectUri(this.options.params, id);
  }

  /** In a write unit of work, the read locks the parent until commit (see Storage.resourceTimestamp). */
  timestamp(): Promise<number> {
    const { uow, readonlyMode } = this.options;
    const readAhead = uow.readonly ? takeReadAheadTimestamp(uow, this.name, this.parentId) : undefined;
    if (readAhead !== undefined) return Promise.resolve(readAhead);
    return uow.storage.resourceTimestamp(this.name, this.parentId, { create: !readonlyMode, forUpdate: !uow.readonly });
  }

  list(query: ListQuery): Promise<StoredObject[]> {
    return this.options.uow.storage.list(this.name, this.parentId, query);
  }

  /**
   * Served from the listing cache when the list's version was read ahead and has not changed
   * since. Not a listing that reads the ACEs (`readableBy`): an ACL may change without its object.
   */
  listJson(query: ListQuery): Promise<readonly string[]> {
    const { uow, listings } = this.options;
    const read = () => uow.storage.listJson(this.name, this.parentId, query);
    const cacheable = uow.readonly && listings?.enabled && !query.readableBy;
    const version = cacheable ? takeReadAheadVersion(uow, this.name, this.parentId) : undefined;
    const key = version === undefined ? null : listingKey(this.name, this.parentId, query);
    return key === null ? read() : listings!.read(key, version!, read);
  }

  count(filters: readonly FilterNode[]): Promise<number> {
    return this.options.uow.storage.count(this.name, this.parentId, filters);
  }

  /** In a write unit of work, the read also locks the object's parent until commit (see Storage.get). */
  async get(id: string): Promise<StoredObject | null> {
    const { uow } = this.options;
    if (uow.readonly) {
      const readAhead = takeReadAhead(uow, { resource: this.name, parentId: this.parentId, id });
      if (readAhead !== undefined) return readAhead;
    }
    return uow.storage.get(this.name, this.parentId, id, { forUpdate: !uow.readonly });
  }

  async visiblePermissions(id: string): Promise<Acl> {
    const [acl] = await this.options.uow.permission.getObjectsPermissions([this.objectUri(id)]);
    const writers = new Set(acl.write ?? []);
    const isWriter = this.ownPrincipals().some((p) => writers.has(p));
    return isWriter ? acl : {};
  }

  /** A created object's ACL is exactly `acl` (and its creator as writer): written whole, never read. */
  async create(object: JsonObject & { id: string }, acl: Acl): Promise<WithPermissions> {
    const { storage, permission } = this.options.uow;
    const next: Acl = { ...acl };
    if (this.options.explicitPermissions) next.write = [...new Set([...(acl.write ?? []), this.currentPrincipal()])];
    const objectId = this.objectUri(object.id);
    // One statement when both backends share a connection (the parent's lock is held less).
    let stored = await storage.createWithAcl?.(this.name, this.parentId, object, { permission, objectId, acl: next });
    if (!stored) {
      stored = await storage.create(this.name, this.parentId, object);
      await permission.replaceObjectPermissions(objectId, next, { whole: true });
    }
    return { object: stored, permissions: await this.visiblePermissions(stored.id) };
  }

  async update(id: string, object: JsonObject, acl: Acl): Promise<WithPermissions> {
    const stored = await this.options.uow.storage.update(this.name, this.parentId, id, object);
    await this.savePermissions(id, acl);
    return { object: stored, permissions: await this.visiblePermissions(id) };
  }

  async delete(id: string, lastModified?: number): Promise<StoredObject> {
    const tombstone = await this.options.uow.storage.delete(this.name, this.parentId, id, { lastModified });
    await this.options.uow.permission.deleteObjectPermissions(this.objectUri(id));
    return tombstone;
  }

  async deleteMany(query: ListQuery): Promise<StoredObject[]> {
    const deleted = await this.options.uow.storage.deleteAll(this.name, this.parentId, query);
    if (deleted.length) {
      await this.options.uow.permission.deleteObjectPermissions(...deleted.map((o) => this.objectUri(o.id)));
    }
    return deleted;
  }

  /** Queues a resource event on the unit of work (dispatched before and after commit). */
  notify(action: Action, timestamp: number, impacted: { new?: JsonObject; old?: JsonObject }[]): void {
    const ids: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.options.params)) {
      if (key.startsWith('__')) continue;
      ids[key === 'id' ? `${this.name}_id` : key] = value;
    }
    this.options.uow.events.push({
      payload: {
        timestamp,
        action,
        uri: this.options.requestUri,
        user_id: this.options.userId,
        resource_name: this.name,
        ...ids,
      },
      parentId: this.parentId,
      impacted,
    });
  }

  /** The creator or editor always keeps `write`, unless explicit permissions are off. */
  private async savePermissions(id: string, acl: Acl): Promise<void> {
    const uri = this.objectUri(id);
    const next: Acl = { ...acl };
    if (this.options.explicitPermissions) {
      const current = next.write ?? (await this.options.uow.permission.getObjectPermissionPrincipals(uri, 'write'));
      next.write = [...new Set([...current, this.currentPrincipal()])];
    }
    if (Object.keys(next).length) await this.options.uow.permission.replaceObjectPermissions(uri, next);
  }

  private currentPrincipal(): string {
    const owner = this.options.definition.ownerPrincipal?.(this.options.params);
    return owner ?? this.options.userId ?? 'system.Everyone';
  }

  private ownPrincipals(): string[] {
    return [...this.options.principals, this.currentPrincipal()];
  }
}
