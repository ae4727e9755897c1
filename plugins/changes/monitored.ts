import { createHash } from 'node:crypto';
import type { Settings } from '../../core/settings/load.ts';
import type { Storage } from '../../core/storage/types.ts';

export const MONITOR_BUCKET = 'monitor';
export const CHANGES_COLLECTION = 'changes';

/** One entry of the virtual `monitor/changes` collection: a watched collection and its timestamp. */
export interface ChangeEntry {
  [field: string]: string | number;
  id: string;
  last_modified: number;
  bucket: string;
  collection: string;
  host: string;
}

export interface CollectionTimestamp {
  bucket: string;
  collection: string;
  timestamp: number;
  /** The entry id (see `changeEntryId`). */
  id: string;
}

const COLLECTION_PARENT = /^\/buckets\/([^/]+)\/collections\/([^/]+)$/;

/**
 * `changes.resources` entries are prefixes: a bucket URI matches its collections
 * (`uri + "/"`), a collection URI matches with a plain `startswith`, as the reference does.
 */
function matchesAny(parentId: string, uris: readonly string[]): boolean {
  return uris.some((uri) => parentId.startsWith(uri.includes('/collections/') ? uri : `${uri}/`));
}

type Watched = { bucket: string; collection: string; id: string } | null;

/** Which parents are watched, decided once per parent: polls are frequent, collections few. */
class WatchList {
  readonly included: string[];
  private readonly excluded: string[];
  private readonly host: string;
  private readonly known = new Map<string, Watched>();

  constructor(settings: Settings) {
    this.included = settings.list('changes.resources');
    this.excluded = settings.list('changes.excluded_collections');
    this.host = settings.str('http_host', '');
  }

  watched(parentId: string): Watched {
    let found = this.known.get(parentId);
    if (found === undefined) {
      const match = COLLECTION_PARENT.exec(parentId);
      const kept = match !== null && matchesAny(parentId, this.included) && !matchesAny(parentId, this.excluded);
      found = kept ? { bucket: match[1], collection: match[2], id: changeEntryId(this.host, match[1], match[2]) } : null;
      if (this.known.size > 1_000_000) this.known.clear();
      this.known.set(parentId, found);
    }
    return found;
  }
}

const watchLists = new WeakMap<Settings, WatchList>();

function watchListOf(settings: Settings): WatchList {
  let list = watchLists.get(settings);
  if (!list) {
    list = new WatchList(settings);
    watchLists.set(settings, list);
  }
  return list;
}

/**
 * The record timestamps of every watched collection, from one storage read (Remote
 * Settings once made a query per collection, hundreds per poll).
 */
export async function monitoredTimestamps(storage: Storage, settings: Settings): Promise<CollectionTimestamp[]> {
  const watchList = watchListOf(settings);
  if (watchList.included.length === 0) return [];
  const result: CollectionTimestamp[] = [];
  for (const { parentId, timestamp } of await storage.resourceTimestamps('record', '/buckets/*')) {
    const watched = watchList.watched(parentId);
    if (watched) result.push({ ...watched, timestamp });
  }
  return result;
}

const entryIds = new Map<string, Map<string, string>>();

/** A stable UUID per host and collection: md5 of `host + collection URI`, as the reference. */
export function changeEntryId(host: string, bucket: string, collection: string): string {
  let ids = entryIds.get(host);
  if (!ids) {
    ids = new Map();
    entryIds.set(host, ids);
  }
  const uri = `/buckets/${bucket}/collections/${collection}`;
  let id = ids.get(uri);
  if (id === undefined) {
    const hex = createHash('md5').update(`${host}${uri}`, 'utf8').digest('hex');
    id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    if (ids.size > 1_000_000) ids.clear();
    ids.set(uri, id);
  }
  return id;
}

export async function changeEntries(storage: Storage, settings: Settings): Promise<ChangeEntry[]> {
  const host = settings.str('http_host', '');
  return (await monitoredTimestamps(storage, settings)).map(({ bucket, collection, timestamp, id }) => ({
    id,
    last_modified: timestamp,
    bucket,
    collection,
    host,
  }));
}

/** The monitor's timestamp: its newest entry, or now when nothing is watched yet. */
export function entriesTimestamp(entries: readonly ChangeEntry[]): number {
  if (entries.length === 0) return Date.now();
  return entries.reduce((max, entry) => Math.max(max, entry.last_modified), 0);
}
