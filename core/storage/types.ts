import type { FilterNode, JsonObject, SortField } from '../filters/ast.ts';
import type { Acl, Permission } from '../permission/types.ts';

/** An object as stored: the client's fields plus `id` and `last_modified`; tombstones carry `deleted`. */
export interface StoredObject extends JsonObject {
  id: string;
  last_modified: number;
}

/** Where one object lives: its resource type, parent and id. */
export interface ObjectRef {
  readonly resource: string;
  readonly parentId: string;
  readonly id: string;
}

export interface ParentTimestamp {
  parentId: string;
  timestamp: number;
}

/** What the read-ahead of a GET asks for at once (core/resource/read-ahead.ts). */
export interface ReadAhead {
  readonly refs: readonly ObjectRef[];
  /** A list timestamp to read if it exists (never initialised here). */
  readonly timestampOf?: { readonly resource: string; readonly parentId: string };
  /** The permission view to preload, for `userId`'s principals and `objectIds`' ACEs. */
  readonly permission: Permission;
  readonly userId: string | null;
  readonly objectIds: readonly string[];
}

export interface ReadAheadAnswer {
  /** As `getMany(refs)`. */
  readonly objects: (StoredObject | null)[];
  /** The list timestamp asked for; undefined when not asked or not initialised. */
  readonly timestamp?: number;
  /** Its version (see `Storage.resourceVersion`), when the timestamp was read. */
  readonly version?: string;
}

/** A list timestamp and its version, read together. */
export interface ResourceVersion {
  readonly timestamp: number;
  /**
   * Changes whenever an object or tombstone of the (resource, parent) changes, and is never
   * given again to a different content: unlike the timestamp, which a write with a past
   * `last_modified` or a tombstone purge leaves as it is, and a purged parent starts afresh.
   */
  readonly version: string;
}

/**
 * A shared listing resolved in storage: only the children of `pluralUri` (`…/records`) on
 * which one of `principals` holds one of `permissions`, read from the permission backend's
 * ACEs in the listing's own statement (see `Storage.joinsPermissions`).
 */
export interface ReadableBy {
  readonly pluralUri: string;
  readonly permissions: readonly string[];
  readonly principals: readonly string[];
}

export interface ListOptions {
  readonly filters?: readonly FilterNode[];
  /** Only with a storage that `joinsPermissions` of the unit of work's permission view. */
  readonly readableBy?: ReadableBy;
  readonly sort?: readonly SortField[];
  readonly limit?: number;
  /** Include tombstones (`deleted: true`) in the result. */
  readonly includeDeleted?: boolean;
}

export interface DeleteAllOptions extends ListOptions {
  /** Keep a tombstone for each deleted object (sync clients need them); false purges. */
  readonly withTombstones?: boolean;
  /** Only objects with a modification time strictly older than this (used by purges). */
  readonly before?: number;
}

/**
 * Parent ids are URIs (`/buckets/b/collections/c`); a trailing `*` makes a prefix pattern
 * (`/buckets/b*` matches the bucket's whole subtree) for cascading deletes and listings.
 * `resource` may be `null` in deletes to match every resource type.
 */
export interface Storage {
  /**
   * The list timestamp of (resource, parent): max of objects and tombstones, initialised on
   * first read. With `create: false` (readonly mode) an uninitialised one is a ReadonlyError.
   * `forUpdate` (in a transaction) serialises with the parent's other writers until commit,
   * as `get` does, so a list precondition cannot be invalidated before the write.
   */
  resourceTimestamp(resource: string, parentId: string, options?: { create?: boolean; forUpdate?: boolean }): Promise<number>;
  /**
   * Every known list timestamp of `resource` under parents matching `parentPattern`, in
   * one read and without initialising any (Kinto's `all_resources_timestamps`): the
   * changes feed lists every watched collection with it.
   */
  resourceTimestamps(resource: string, parentPattern: string): Promise<ParentTimestamp[]>;
  /** The list timestamp of (resource, parent) and its version, undefined when not initialised (never initialises it). */
  resourceVersion(resource: string, parentId: string): Promise<ResourceVersion | undefined>;
  /** Insert a new object. Throws `UnicityError` when a live object with that id exists. */
  create(resource: string, parentId: string, object: JsonObject & { id: string }): Promise<StoredObject>;
  /**
   * Reads one live object. `forUpdate` (in a transaction) serialises this request with the
   * other writers of the same parent until commit, so that a precondition checked on the
   * result cannot be invalidated before the write (no lost updates).
   */
  get(resource: string, parentId: string, id: string, options?: { forUpdate?: boolean }): Promise<StoredObject | null>;
  /** Reads several live objects in one go (one statement on SQL), in the order given; null for absent ones. */
  getMany(refs: readonly ObjectRef[]): Promise<(StoredObject | null)[]>;
  /**
   * `getMany(ask.refs)`, a peek at a list timestamp and `ask.permission.preload(…)` in one
   * statement, when this storage can join the permission backend's (same database and
   * connection); undefined when it cannot, and nothing was read.
   */
  readAhead?(ask: ReadAhead): Promise<ReadAheadAnswer | undefined>;
  /**
   * `create`, and `write.permission.replaceObjectPermissions(write.objectId, write.acl, { whole:
   * true })` in the same statement (only if the object was inserted), when this storage can join
   * the permission backend's; undefined when it cannot, and nothing was written.
   */
  createWithAcl?(
    resource: string,
    parentId: string,
    object: JsonObject & { id: string },
    write: { readonly permission: Permission; readonly objectId: string; readonly acl: Acl },
  ): Promise<StoredObject | undefined>;
  /** Whether `list`/`listJson` can take `readableBy` for this permission view (same database and connection). */
  joinsPermissions?(permission: Permission): boolean;
  /** Create or replace. A client `last_modified` greater than the current one is honoured. */
  update(resource: string, parentId: string, id: string, object: JsonObject): Promise<StoredObject>;
  /** Replace by a tombstone (or purge). Throws `ObjectNotFoundError` when absent. */
  delete(resource: string, parentId: string, id: string, options?: { lastModified?: number; withTombstone?: boolean }): Promise<StoredObject>;
  deleteAll(resource: string | null, parentId: string, options?: DeleteAllOptions): Promise<StoredObject[]>;
  /**
   * Remove tombstones; returns how many were removed. Purging every resource of a parent
   * (`resource` null, no `before`/`maxRetained`) also forgets its list timestamps, as Kinto.
   */
  purgeDeleted(resource: string | null, parentId: string, options?: { before?: number; maxRetained?: number }): Promise<number>;
  list(resource: string, parentId: string, options?: ListOptions): Promise<StoredObject[]>;
  /**
   * `list`, each object as its JSON text: a response splices them instead of parsing and
   * serialising every object again (bench/README.md, finding 19). Same objects, same order.
   */
  listJson(resource: string, parentId: string, options?: ListOptions): Promise<string[]>;
  /** Live objects matching the filters; tombstones too with `includeDeleted` (e.g. `__counters__`). */
  count(resource: string, parentId: string, filters?: readonly FilterNode[], options?: { includeDeleted?: boolean }): Promise<number>;
}

export interface Transactional<T> {
  /** Start a unit of work; the returned view sees its own writes. */
  begin(options?: { readonly?: boolean }): Promise<T & TransactionControl>;
}

export interface TransactionControl {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface BackendLifecycle {
  readonly name: string;
  heartbeat(): Promise<boolean>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface StorageBackend extends Storage, Transactional<Storage>, BackendLifecycle {}

export class UnicityError extends Error {
  readonly existing: StoredObject;
  constructor(existing: StoredObject) {
    super(`Object ${existing.id} already exists`);
    this.existing = existing;
  }
}

export class ObjectNotFoundError extends Error {
  constructor(id: string) {
    super(`Object ${id} not found`);
  }
}

/** Raised by a backend that cannot be reached: rendered as 503 with Retry-After. */
export class BackendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Raised when a write is attempted on a read-only backend (e.g. timestamp init in readonly mode). */
export class ReadonlyError extends BackendError {}

export const TIMESTAMP_NOT_WRITABLE =
  'Resource timestamp cannot be written. Plural endpoint must be hit at least once from a writable instance.';
