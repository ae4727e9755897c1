/**
 * Static export of the read path: every public watched collection's changeset, the
 * monitor changeset, `__broadcasts__` and the local signer's certificate chains, written
 * as files laid out like the API URLs (`{folder}/v1/buckets/main/collections/cfr/changeset`...),
 * so that a plain web server or CDN serves the same bodies with no database at all.
 * Querystrings (`_expected`, `_since`) are for cache busting and are ignored by a static
 * server: it serves full changesets, tombstones included, which clients accept as well.
 * Signer settings and `__broadcasts__` are resolved as the server resolves them
 * (signer-chains.ts, broadcasts.ts), not re-derived from the INI file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Authorizer, EVERYONE } from '../../core/auth/authorization.ts';
import { defaultInheritanceTree } from '../../core/auth/inheritance.ts';
import { MemoryCache } from '../../core/cache/memory.ts';
import type { Cache } from '../../core/cache/types.ts';
import { KintoError } from '../../core/errors.ts';
import type { Permission } from '../../core/permission/types.ts';
import type { LoadedConfig, Settings } from '../../core/settings/load.ts';
import type { Storage } from '../../core/storage/types.ts';
import { broadcastsBody } from './broadcasts.ts';
import { collectionChangeset, monitorChangesetOf, type Changeset } from './changeset.ts';
import { CHANGES_COLLECTION, MONITOR_BUCKET, changeEntries, type ChangeEntry } from './monitored.ts';
import { boundLimit, type ChangesetQuery } from './query.ts';
import { servedChainFiles } from './signer-chains.ts';
import { changesetPath, exportCertificateChains, removeStaleChangesets, writeAtomically } from './static-files.ts';

const FULL: ChangesetQuery = { expected: '0', since: null, limit: null, bucket: null, collection: null };

/**
 * `_since=0`: every record and tombstone, newest first. A client syncing with `_since`
 * gets this file (the querystring is ignored) and must still see deletions.
 */
const WITH_TOMBSTONES: ChangesetQuery = { ...FULL, since: 0 };

/** What the export reads; a server's core has it all (the listener passes it whole). */
export interface ExportBackends {
  storage: Storage;
  permission: Permission;
  settings: Settings;
  /** The server's (with its plugins' inheritance tree); the CLI builds one on the default tree. */
  authorizer?: Authorizer;
  /**
   * The cache `GET /v1/__broadcasts__` debounces in, so that the file holds the value the
   * API serves. Without it, a fresh one: the newest timestamp, undebounced.
   */
  cache?: Cache;
  /** Where the settings came from: the signer reads `KINTO_SIGNER_…` variables from its environment. */
  config?: LoadedConfig;
}

export interface ExportSummary {
  collections: number;
  files: string[];
  /** Changesets of collections no longer published (deleted, unwatched, private). */
  removed: string[];
}

const keyOf = (entry: { bucket: string; collection: string }) => `${entry.bucket}/${entry.collection}`;

/**
 * The entries anonymous users may read, by the rule of the changeset endpoint (settings
 * principals, then ACEs on the collection or its bucket), in one permission query: a
 * static file has no access control, so a private collection must never be written.
 */
async function publicEntries(backends: ExportBackends, entries: ChangeEntry[]): Promise<ChangeEntry[]> {
  if (entries.length === 0) return entries;
  const authorizer = backends.authorizer ?? new Authorizer(backends.settings, defaultInheritanceTree());
  const patterns = authorizer.bound('/buckets/*/collections/*', 'read');
  if (authorizer.settingPrincipals('collection', patterns, 'read').includes(EVERYONE)) return entries;
  const granted = await backends.permission.getAccessibleObjects([EVERYONE], patterns);
  return entries.filter((entry) => {
    const bound = authorizer.bound(`/buckets/${entry.bucket}/collections/${entry.collection}`, 'read');
    return bound.some(([object, perm]) => granted.get(object)?.has(perm));
  });
}

/** The changeset body, or null for a collection deleted since its timestamp was read. */
async function changesetBody(storage: Storage, entry: ChangeEntry, limit: number): Promise<Omit<Changeset, 'lastModified'> | null> {
  try {
    const { lastModified: _header, ...body } = await collectionChangeset(storage, entry.bucket, entry.collection, WITH_TOMBSTONES, limit);
    return body;
  } catch (error) {
    if (error instanceof KintoError && error.status === 404) return null;
    throw error;
  }
}

interface Written {
  /** The entries whose changeset file is in the folder: what the monitor may list. */
  published: ChangeEntry[];
  files: string[];
}

/** Writes the changesets of `only` (all when absent); other entries count if their file is there. */
async function writeChangesets(storage: Storage, folder: string, entries: ChangeEntry[], only: ReadonlySet<string> | undefined, limit: number): Promise<Written> {
  const written: Written = { published: [], files: [] };
  for (const entry of entries) {
    const path = changesetPath(folder, entry.bucket, entry.collection);
    if (only && !only.has(keyOf(entry))) {
      // Not re-exported now: listed in the monitor only if an earlier export wrote it.
      if (existsSync(path)) written.published.push(entry);
      continue;
    }
    const body = await changesetBody(storage, entry, limit);
    if (body === null) continue;
    writeAtomically(path, JSON.stringify(body));
    written.files.push(path);
    written.published.push(entry);
  }
  return written;
}

/** The monitor changeset, over the published entries only. */
function writeMonitor(folder: string, published: ChangeEntry[], limit: number): string {
  const { lastModified: _monitorHeader, ...monitor } = monitorChangesetOf([...published], FULL, limit);
  const monitorPath = changesetPath(folder, MONITOR_BUCKET, CHANGES_COLLECTION);
  writeAtomically(monitorPath, JSON.stringify(monitor));
  return monitorPath;
}

/**
 * `__broadcasts__` as the API answers it now: the debounced value, read (or published)
 * through the same shared cache, so that Push is not woken up by the export either.
 */
async function writeBroadcasts(backends: ExportBackends, folder: string): Promise<string> {
  const { storage, settings } = backends;
  const body = await broadcastsBody({ storage, settings, cache: backends.cache ?? new MemoryCache() });
  const path = join(folder, 'v1', '__broadcasts__');
  writeAtomically(path, JSON.stringify(body));
  return path;
}

/**
 * Exports the given public watched collections (all when `only` is absent), then the
 * monitor (a client that sees a timestamp in the monitor finds the matching changeset),
 * then removes the changesets of collections no longer published.
 */
export async function exportStatic(backends: ExportBackends, folder: string, only?: ReadonlySet<string>): Promise<ExportSummary> {
  const { storage, settings } = backends;
  const startedAt = Date.now();
  const limit = boundLimit(null, settings.optionalInt('paginate_by'), settings.int('storage_max_fetch_size', 10000));
  const entries = await publicEntries(backends, await changeEntries(storage, settings));
  const { published, files } = await writeChangesets(storage, folder, entries, only, limit);
  const collections = files.length;
  files.push(...exportCertificateChains(await servedChainFiles(backends), folder));
  files.push(writeMonitor(folder, published, limit), await writeBroadcasts(backends, folder));
  // After the monitor: clients stop being pointed at a changeset before it disappears.
  const removed = removeStaleChangesets(folder, new Set(published.map(keyOf)), startedAt);
  return { collections, files, removed };
}
