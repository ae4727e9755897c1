/**
 * Listings served again without a statement while their list has not changed (bench/README.md,
 * finding 25). An entry is keyed by everything the listing reads (resource, parent, filters,
 * sort, limit, tombstones, readability) and holds the version of the list it was read at
 * (`Storage.resourceVersion`); a request that read ahead the same version gets it. A version is
 * never given to a different content, so nothing needs invalidating across workers and nodes:
 * a changed list has a new version, misses, and is read again.
 *
 * The page is read after the version, so it may be newer than the version it is kept under;
 * only requests that read that version before the change commits can get it, and their own
 * listing could have been read after the commit as well: nobody sees what they could not have.
 *
 * Concurrent misses of one listing at one version share one read (the herd that follows a
 * publication). Only read-only units of work use it: a write sees its own changes.
 */
import { LRUCache } from 'lru-cache';
import type { FilterNode } from '../filters/ast.ts';
import type { ListQuery } from './model.ts';

interface Entry {
  readonly version: string;
  readonly texts: readonly string[];
}

/** Longer keys (a listing restricted to thousands of ids) are not worth keeping. */
const MAX_KEY_LENGTH = 4096;

export class ListingCache {
  private readonly entries: LRUCache<string, Entry> | null;
  private readonly pending = new Map<string, Promise<readonly string[]>>();

  /** `maxSize`: the budget, in characters of JSON kept (0 turns the cache off). */
  constructor(maxSize: number) {
    this.entries =
      maxSize > 0
        ? new LRUCache<string, Entry>({
            maxSize,
            // One huge listing must not evict every page of the others.
            maxEntrySize: Math.max(1, Math.floor(maxSize / 4)),
            // Twice the texts: a response spliced from them is kept beside them (core/resource/plural.ts).
            sizeCalculation: (entry, key) => key.length + entry.texts.reduce((sum, text) => sum + 2 * text.length + 8, 0),
          })
        : null;
  }

  get enabled(): boolean {
    return this.entries !== null;
  }

  /** The listing kept for `key` at `version`, else what `read` gives (then kept). */
  async read(key: string, version: string, read: () => Promise<readonly string[]>): Promise<readonly string[]> {
    const entries = this.entries;
    if (!entries) return read();
    const kept = entries.get(key);
    if (kept?.version === version) return kept.texts;
    const flight = `${version}\u0000${key}`;
    const shared = this.pending.get(flight);
    if (shared) return shared;
    const reading = read().then(
      (texts) => {
        this.pending.delete(flight);
        entries.set(key, { version, texts });
        return texts;
      },
      (error: unknown) => {
        this.pending.delete(flight);
        throw error;
      },
    );
    this.pending.set(flight, reading);
    return reading;
  }
}

/**
 * The key of a listing: its JSON, where the missing values of a keyset filter (`after` of a
 * page sorted on a field some objects lack) stay apart from nulls. Null: not to be kept.
 */
export function listingKey(resource: string, parentId: string, query: ListQuery): string | null {
  const { sort, limit, includeDeleted, readableBy } = query;
  // A keyset filter (a page after the first) is rewritten; a replacer would visit every value.
  const filters = query.filters.some((filter) => filter.kind === 'after') ? query.filters.map(keepMissingApart) : query.filters;
  const key = JSON.stringify([resource, parentId, filters, sort, limit ?? null, includeDeleted ?? false, readableBy ?? null]);
  return key.length > MAX_KEY_LENGTH ? null : key;
}

/** Keyset filters appear at the top of a listing's filters (core/resource/plural.ts). */
function keepMissingApart(filter: FilterNode): unknown {
  if (filter.kind !== 'after') return filter;
  return { ...filter, values: filter.values.map((item) => (item === undefined ? 0 : [item])) };
}
