import type { FilterNode, JsonObject } from '../filters/ast.ts';
import { matchesAll, sortObjects } from '../filters/evaluate.ts';
import { Mutex, UndoJournal } from '../util/journal.ts';
import { nextTimestamp } from './timestamps.ts';
import {
  ObjectNotFoundError,
  ReadonlyError,
  TIMESTAMP_NOT_WRITABLE,
  UnicityError,
  type DeleteAllOptions,
  type ListOptions,
  type ObjectRef,
  type ParentTimestamp,
  type ResourceVersion,
  type Storage,
  type StorageBackend,
  type StoredObject,
  type TransactionControl,
} from './types.ts';

type Bucket = Map<string, StoredObject>;

/** Matches a parent id against a parent pattern (`/buckets/b*` is a prefix pattern, `*` matches all). */
export function parentMatches(pattern: string, parentId: string): boolean {
  if (pattern.endsWith('*')) return parentId.startsWith(pattern.slice(0, -1));
  return pattern === parentId;
}

const SEP = '\u0000';
const keyOf = (resource: string, parentId: string) => `${resource}${SEP}${parentId}`;
const splitKey = (key: string) => key.split(SEP) as [string, string];

function tombstoneOf(id: string, lastModified: number): StoredObject {
  return { id, last_modified: lastModified, deleted: true };
}

/**
 * State shared by every view of the memory backend. Writes go through `put*` so that a
 * transaction can record how to undo them.
 */
class MemoryState {
  readonly objects = new Map<string, Bucket>();
  readonly timestamps = new Map<string, number>();
  /** Moves with every change and every undo: the version of every list (one store, one counter). */
  generation = 0;

  putObject(journal: UndoJournal | null, key: string, id: string, value: StoredObject | undefined): void {
    let bucket = this.objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(key, bucket);
    }
    const previous = bucket.get(id);
    const target = bucket;
    this.changed(journal, () => (previous === undefined ? target.delete(id) : target.set(id, previous)));
    if (value === undefined) bucket.delete(id);
    else bucket.set(id, value);
  }

  setTimestamp(journal: UndoJournal | null, key: string, value: number): void {
    const previous = this.timestamps.get(key);
    this.changed(journal, () => (previous === undefined ? this.timestamps.delete(key) : this.timestamps.set(key, previous)));
    this.timestamps.set(key, value);
  }

  removeTimestamp(journal: UndoJournal | null, key: string): void {
    const previous = this.timestamps.get(key);
    if (previous === undefined) return;
    this.changed(journal, () => this.timestamps.set(key, previous));
    this.timestamps.delete(key);
  }

  clear(): void {
    this.objects.clear();
    this.timestamps.clear();
    this.generation += 1;
  }

  private changed(journal: UndoJournal | null, undo: () => void): void {
    this.generation += 1;
    journal?.push(() => {
      undo();
      this.generation += 1;
    });
  }

  *matchingKeys(resource: string | null, parentPattern: string): Iterable<string> {
    for (const key of this.objects.keys()) {
      const [res, parent] = splitKey(key);
      if ((resource === null || resource === res) && parentMatches(parentPattern, parent)) yield key;
    }
  }
}

/** Storage operations bound to a journal (null = autocommit). */
class MemoryStorageView implements Storage {
  protected readonly state: MemoryState;
  protected readonly journal: UndoJournal | null;

  constructor(state: MemoryState, journal: UndoJournal | null) {
    this.state = state;
    this.journal = journal;
  }

  async resourceTimestamp(resource: string, parentId: string, options: { create?: boolean } = {}): Promise<number> {
    const key = keyOf(resource, parentId);
    const stored = this.state.timestamps.get(key);
    if (stored !== undefined) return stored;
    if (options.create === false) throw new ReadonlyError(TIMESTAMP_NOT_WRITABLE);
    const now = Date.now();
    this.state.setTimestamp(null, key, now);
    return now;
  }

  async resourceVersion(resource: string, parentId: string): Promise<ResourceVersion | undefined> {
    const timestamp = this.state.timestamps.get(keyOf(resource, parentId));
    return timestamp === undefined ? undefined : { timestamp, version: `${timestamp}:${this.state.generation}` };
  }

  async resourceTimestamps(resource: string, parentPattern: string): Promise<ParentTimestamp[]> {
    const found: ParentTimestamp[] = [];
    for (const [key, timestamp] of this.state.timestamps) {
      const [res, parentId] = splitKey(key);
      if (res === resource && parentMatches(parentPattern, parentId)) found.push({ parentId, timestamp });
    }
    return found;
  }

  async create(resource: string, parentId: string, object: JsonObject & { id: string }): Promise<StoredObject> {
    const key = keyOf(resource, parentId);
    const existing = this.state.objects.get(key)?.get(object.id);
    if (existing && !existing.deleted) throw new UnicityError(structuredClone(existing));
    return this.write(key, object.id, object, undefined);
  }

  async get(resource: string, parentId: string, id: string): Promise<StoredObject | null> {
    const found = this.state.objects.get(keyOf(resource, parentId))?.get(id);
    return found && !found.deleted ? structuredClone(found) : null;
  }

  async getMany(refs: readonly ObjectRef[]): Promise<(StoredObject | null)[]> {
    return Promise.all(refs.map((ref) => this.get(ref.resource, ref.parentId, ref.id)));
  }

  async update(resource: string, parentId: string, id: string, object: JsonObject): Promise<StoredObject> {
    const key = keyOf(resource, parentId);
    const existing = this.state.objects.get(key)?.get(id);
    const previous = existing && !existing.deleted ? existing.last_modified : undefined;
    return this.write(key, id, { ...object, id }, previous);
  }

  async delete(
    resource: string,
    parentId: string,
    id: string,
    options: { lastModified?: number; withTombstone?: boolean } = {},
  ): Promise<StoredObject> {
    const key = keyOf(resource, parentId);
    const existing = this.state.objects.get(key)?.get(id);
    if (!existing || existing.deleted) throw new ObjectNotFoundError(id);
    return this.remove(key, existing, options.withTombstone ?? true, options.lastModified);
  }

  async deleteAll(resource: string | null, parentId: string, options: DeleteAllOptions = {}): Promise<StoredObject[]> {
    const deleted: StoredObject[] = [];
    for (const [key, object] of this.select(resource, parentId, { ...options, includeDeleted: false })) {
      if (options.before !== undefined && object.last_modified >= options.before) continue;
      deleted.push(this.remove(key, object, options.withTombstones ?? true, undefined));
    }
    return deleted;
  }

  async purgeDeleted(
    resource: string | null,
    parentId: string,
    options: { before?: number; maxRetained?: number } = {},
  ): Promise<number> {
    let purged = 0;
    for (const key of [...this.state.matchingKeys(resource, parentId)]) {
      const tombstones = [...(this.state.objects.get(key)?.values() ?? [])]
        .filter((o) => o.deleted)
        .sort((a, b) => b.last_modified - a.last_modified);
      tombstones.forEach((tombstone, index) => {
        // Every criterion given must hold (see SqlStorage.purgeDeleted).
        const tooOld = options.before === undefined || tombstone.last_modified < options.before;
        const beyondMax = options.maxRetained === undefined || index >= options.maxRetained;
        if (tooOld && beyondMax) {
          this.state.putObject(this.journal, key, tombstone.id, undefined);
          purged += 1;
        }
      });
    }
    if (resource === null && options.before === undefined && options.maxRetained === undefined) {
      this.forgetTimestamps(parentId);
    }
    return purged;
  }

  async list(resource: string, parentId: string, options: ListOptions = {}): Promise<StoredObject[]> {
    return this.select(resource, parentId, options).map(([, object]) => structuredClone(object));
  }

  async listJson(resource: string, parentId: string, options: ListOptions = {}): Promise<string[]> {
    return this.select(resource, parentId, options).map(([, object]) => JSON.stringify(object));
  }

  async count(
    resource: string,
    parentId: string,
    filters: readonly FilterNode[] = [],
    options: { includeDeleted?: boolean } = {},
  ): Promise<number> {
    return this.select(resource, parentId, { filters, includeDeleted: options.includeDeleted }).length;
  }

  /** A purged parent starts afresh, as in Kinto: its list timestamps go with its objects. */
  private forgetTimestamps(parentPattern: string): void {
    for (const key of [...this.state.timestamps.keys()]) {
      if (parentMatches(parentPattern, splitKey(key)[1])) this.state.removeTimestamp(this.journal, key);
    }
  }

  private select(resource: string | null, parentId: string, options: ListOptions): [string, StoredObject][] {
    // Never ignored: listing everything instead would show what the caller may not read.
    if (options.readableBy) throw new Error('readableBy needs a storage that joins the permission backend');
    const rows: [string, StoredObject][] = [];
    for (const key of this.state.matchingKeys(resource, parentId)) {
      for (const object of this.state.objects.get(key)!.values()) {
        if (object.deleted && !options.includeDeleted) continue;
        if (options.filters && !matchesAll(object, options.filters)) continue;
        rows.push([key, object]);
      }
    }
    const byObject = new Map(rows.map(([key, object]) => [object, key]));
    const sorted = sortObjects(
      rows.map(([, object]) => object),
      options.sort ?? [{ field: ['last_modified'], direction: -1 }],
    ) as StoredObject[];
    const limited = options.limit === undefined ? sorted : sorted.slice(0, options.limit);
    return limited.map((object) => [byObject.get(object)!, object]);
  }

  private write(key: string, id: string, object: JsonObject, previous: number | undefined): StoredObject {
    const current = this.state.timestamps.get(key) ?? 0;
    const requested = typeof object.last_modified === 'number' ? object.last_modified : undefined;
    const honoured = requested !== undefined && (previous === undefined || requested > previous) ? requested : undefined;
    const { objectTimestamp, resourceTimestamp } = nextTimestamp(current, Date.now(), honoured);
    const stored: StoredObject = { ...structuredClone(object), id, last_modified: objectTimestamp };
    delete stored.deleted;
    this.state.putObject(this.journal, key, id, stored);
    if (resourceTimestamp !== current) this.state.setTimestamp(this.journal, key, resourceTimestamp);
    return structuredClone(stored);
  }

  private remove(key: string, existing: StoredObject, withTombstone: boolean, lastModified: number | undefined): StoredObject {
    const current = this.state.timestamps.get(key) ?? 0;
    const honoured = lastModified !== undefined && lastModified > existing.last_modified ? lastModified : undefined;
    const { objectTimestamp, resourceTimestamp } = nextTimestamp(current, Date.now(), honoured);
    const tombstone = tombstoneOf(existing.id, objectTimestamp);
    this.state.putObject(this.journal, key, existing.id, withTombstone ? tombstone : undefined);
    if (resourceTimestamp !== current) this.state.setTimestamp(this.journal, key, resourceTimestamp);
    return { ...tombstone };
  }
}

class MemoryStorageTransaction extends MemoryStorageView implements TransactionControl {
  private readonly release: () => void;
  private readonly undo: UndoJournal;

  constructor(state: MemoryState, journal: UndoJournal, release: () => void) {
    super(state, journal);
    this.undo = journal;
    this.release = release;
  }

  async commit(): Promise<void> {
    this.undo.clear();
    this.release();
  }

  async rollback(): Promise<void> {
    this.undo.rollback();
    this.release();
  }
}

/** In-process storage for tests and ephemeral use; transactions serialise writers with a mutex. */
export class MemoryStorage extends MemoryStorageView implements StorageBackend {
  readonly name = 'memory';
  private readonly mutex = new Mutex();

  constructor() {
    super(new MemoryState(), null);
  }

  async begin(options: { readonly?: boolean } = {}): Promise<Storage & TransactionControl> {
    const release = options.readonly ? () => {} : await this.mutex.acquire();
    return new MemoryStorageTransaction(this.state, new UndoJournal(), release);
  }

  async heartbeat(): Promise<boolean> {
    return true;
  }

  async flush(): Promise<void> {
    this.state.clear();
  }

  async close(): Promise<void> {}
}
