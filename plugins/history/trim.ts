/**
 * History trimming (`history.auto_trim_*`), done in the background after commit. Kinto
 * counted and trimmed inside every write transaction, which made writes take seconds on
 * large histories (remote-settings #1048, Kinto #3595/#3617). Here a write only notes how
 * many entries it added; a single worker per server then counts and trims, in its own
 * transaction, and only once enough entries may have piled up since its last count.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { KintoCore } from '../../core/context.ts';
import { Filter, type FilterNode } from '../../core/filters/ast.ts';
import { inUnitOfWork } from '../../core/unit-of-work.ts';
import type { HistorySettings } from './settings.ts';

/** Entries trimmed together: those of one bucket and resource type, and of one user when trimming by user. */
export interface TrimScope {
  readonly bucketUri: string;
  readonly resourceName: string;
  /** Null: every user's entries together. */
  readonly userId: string | null;
}

const NEWEST_FIRST = [{ field: ['last_modified'], direction: -1 }] as const;
const OLDEST_FIRST = [{ field: ['last_modified'], direction: 1 }] as const;
/** Entries deleted per transaction: a first trim of a huge history never holds one long transaction. */
const TRIM_CHUNK = 500;
/** Scopes whose count is remembered; beyond, the memory is reset (and counts are redone). */
const MAX_REMEMBERED_SCOPES = 10_000;

function keyOf(scope: TrimScope): string {
  return `${scope.bucketUri}\u0000${scope.resourceName}\u0000${scope.userId ?? ''}`;
}

function filtersOf(scope: TrimScope): FilterNode[] {
  const filters = [Filter.compare('eq', ['resource_name'], scope.resourceName)];
  if (scope.userId !== null) filters.push(Filter.compare('eq', ['user_id'], scope.userId));
  return filters;
}

export class HistoryTrimmer {
  private readonly core: KintoCore;
  private readonly maxCount: number;
  private readonly threshold: number;
  private readonly userIds: ReadonlySet<string>;
  private readonly onError: (error: unknown) => void;
  /** Runs the worker outside the request that woke it (no unit of work, no transaction owner). */
  private readonly detached = AsyncLocalStorage.snapshot();
  private readonly pending = new Map<string, TrimScope>();
  /** Per scope, how many more entries can be written before the count may exceed the limit. */
  private readonly allowance = new Map<string, number>();
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(core: KintoCore, settings: HistorySettings, onError: (error: unknown) => void) {
    this.core = core;
    this.maxCount = settings.trimMaxCount;
    this.threshold = Math.max(settings.trimThreshold, 0);
    this.userIds = new Set(settings.trimUserIds);
    this.onError = onError;
  }

  get enabled(): boolean {
    return this.maxCount > 0;
  }

  /** The scope a user's entries are trimmed in, or null when that user's entries are kept. */
  scopeFor(bucketUri: string, resourceName: string, userId: string | null): TrimScope | null {
    if (!this.enabled) return null;
    if (this.userIds.size === 0) return { bucketUri, resourceName, userId: null };
    if (userId === null || !this.userIds.has(userId)) return null;
    return { bucketUri, resourceName, userId };
  }

  /** After commit: `added` entries were written in `scope`. Never waits for the trimming. */
  noteEntries(scope: TrimScope, added: number): void {
    if (this.stopped) return;
    const key = keyOf(scope);
    const left = this.allowance.get(key);
    if (left !== undefined && left - added > 0) {
      this.allowance.set(key, left - added);
      return;
    }
    this.allowance.delete(key);
    this.pending.set(key, scope);
    this.running ??= this.detached(() => this.drain());
  }

  /** Resolves once every noted scope has been checked (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking work and waits for the current trim. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    await this.idle();
  }

  private async drain(): Promise<void> {
    // Let the response go out before touching the database again.
    await new Promise((done) => setImmediate(done));
    try {
      for (let next = this.nextScope(); next; next = this.nextScope()) {
        const [key, scope] = next;
        try {
          const remaining = await this.check(scope);
          if (this.allowance.size >= MAX_REMEMBERED_SCOPES) this.allowance.clear();
          this.allowance.set(key, this.maxCount + this.threshold + 1 - remaining);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.running = null;
    }
  }

  private nextScope(): [string, TrimScope] | undefined {
    if (this.stopped) return undefined;
    const next = this.pending.entries().next();
    if (next.done) return undefined;
    this.pending.delete(next.value[0]);
    return next.value;
  }

  /** Counts the scope's entries and trims it when over the limit; returns how many remain. */
  private async check(scope: TrimScope): Promise<number> {
    const filters = filtersOf(scope);
    const count = await this.core.storage.count('history', scope.bucketUri, filters);
    if (count <= this.maxCount + this.threshold) return count;
    await this.trim(scope, filters);
    return this.maxCount;
  }

  /** Deletes (no tombstones) every entry older than the newest `maxCount`, a chunk per transaction. */
  private async trim(scope: TrimScope, filters: FilterNode[]): Promise<void> {
    const newest = await this.core.storage.list('history', scope.bucketUri, { filters, sort: NEWEST_FIRST, limit: this.maxCount });
    const oldestKept = newest.at(-1);
    if (!oldestKept) return;
    let deleted: number;
    do {
      deleted = await this.deleteOldest(scope, filters, oldestKept.last_modified);
    } while (deleted === TRIM_CHUNK && !this.stopped);
  }

  /** One short transaction: the oldest entries before `before`, and their permissions. */
  private deleteOldest(scope: TrimScope, filters: FilterNode[], before: number): Promise<number> {
    return inUnitOfWork(this.core, { readonly: false }, async (uow) => {
      const deleted = await uow.storage.deleteAll('history', scope.bucketUri, {
        filters,
        before,
        sort: OLDEST_FIRST,
        limit: TRIM_CHUNK,
        withTombstones: false,
      });
      if (deleted.length) {
        await uow.permission.deleteObjectPermissions(...deleted.map((entry) => `${scope.bucketUri}/history/${entry.id}`));
      }
      return deleted.length;
    });
  }
}
