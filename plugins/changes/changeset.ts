/**
 * `GET /buckets/{bid}/collections/{cid}/changeset`: what Firefox polls, through a CDN.
 * Served straight from the backends (no transaction): the monitor changeset costs one
 * storage read, a collection changeset four (its records in one), with a consistency
 * check instead of a snapshot, as the reference.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import { KintoError, MESSAGES, notFound } from '../../core/errors.ts';
import { Filter, type FilterNode, type JsonObject } from '../../core/filters/ast.ts';
import { matchesAll } from '../../core/filters/evaluate.ts';
import { denied, identify } from '../../core/http/identity.ts';
import type { Settings } from '../../core/settings/load.ts';
import { ReadonlyError, type Storage, type StoredObject } from '../../core/storage/types.ts';
import { changesetCacheHeaders, oldSinceRedirect, orderedQuery, quotedExpectedRedirect, staleExpected } from './cdn.ts';
import { CHANGES_COLLECTION, MONITOR_BUCKET, changeEntries, entriesTimestamp, type ChangeEntry } from './monitored.ts';
import { boundLimit, parseChangesetQuery, type ChangesetQuery } from './query.ts';

export interface Changeset {
  metadata: JsonObject;
  timestamp: number;
  changes: JsonObject[];
  /** The `Last-Modified` of the response (collection metadata: a re-signature busts caches). */
  lastModified: number;
}

const NEWEST_FIRST = [{ field: ['last_modified'], direction: -1 }] as const;

function sinceFilters(query: ChangesetQuery): FilterNode[] {
  return query.since === null ? [] : [Filter.compare('gt', ['last_modified'], query.since)];
}

/** The monitor's changeset: one entry per watched collection, newest first. */
export async function monitorChangeset(
  backends: { storage: Storage; settings: Settings },
  query: ChangesetQuery,
  limit: number,
): Promise<Changeset> {
  return monitorChangesetOf(await changeEntries(backends.storage, backends.settings), query, limit);
}

/** The monitor's changeset over given entries: the static export lists only those it publishes. */
export function monitorChangesetOf(entries: ChangeEntry[], query: ChangesetQuery, limit: number): Changeset {
  const timestamp = entriesTimestamp(entries);
  const filters = sinceFilters(query);
  if (query.bucket !== null) filters.push(Filter.compare('eq', ['bucket'], query.bucket));
  if (query.collection !== null) filters.push(Filter.compare('eq', ['collection'], query.collection));
  const selected = filters.length ? entries.filter((entry) => matchesAll(entry, filters)) : entries;
  const changes = selected.sort((a, b) => b.last_modified - a.last_modified).slice(0, limit);
  return { metadata: { bucket: MONITOR_BUCKET }, timestamp, changes, lastModified: timestamp };
}

/** The list timestamp without initialising it: a changeset of a missing collection writes nothing. */
async function knownRecordsTimestamp(storage: Storage, collectionUri: string): Promise<number | null> {
  const found = await storage.resourceTimestamps('record', collectionUri);
  return found.length ? found[0].timestamp : null;
}

async function initialisedRecordsTimestamp(storage: Storage, collectionUri: string): Promise<number> {
  try {
    return await storage.resourceTimestamp('record', collectionUri);
  } catch (error) {
    // A read-only instance cannot initialise the timestamp of an empty collection.
    if (error instanceof ReadonlyError) throw notFound(undefined, 'MISSING_RESOURCE');
    throw error;
  }
}

/** A collection's changeset: its metadata, records (tombstones too with `_since`) and timestamp. */
export async function collectionChangeset(
  storage: Storage,
  bid: string,
  cid: string,
  query: ChangesetQuery,
  limit: number,
  retryAfterSeconds = 3,
): Promise<Changeset> {
  const collectionUri = `/buckets/${bid}/collections/${cid}`;
  let before = await knownRecordsTimestamp(storage, collectionUri);
  const metadata: StoredObject | null = await storage.get('collection', `/buckets/${bid}`, cid);
  if (!metadata) throw notFound(undefined, 'MISSING_RESOURCE');
  before ??= await initialisedRecordsTimestamp(storage, collectionUri);
  const changes = await storage.list('record', collectionUri, {
    filters: sinceFilters(query),
    sort: NEWEST_FIRST,
    limit,
    includeDeleted: query.since !== null,
  });
  const after = await storage.resourceTimestamp('record', collectionUri);
  // The reference raises IntegrityError("Inconsistent data. Retry."), which Kinto renders as this 409.
  if (before !== after) throw new KintoError('CONSTRAINT_VIOLATED', { message: MESSAGES.constraint, headers: { 'Retry-After': String(retryAfterSeconds) } });
  return { metadata: { ...metadata, bucket: bid }, timestamp: after, changes, lastModified: metadata.last_modified };
}

/** Read permission on the collection, as its metadata (401/403 otherwise). */
async function authorizeRead(core: KintoCore, request: FastifyRequest, bid: string, cid: string): Promise<void> {
  const identity = await identify(core, request, core.permission);
  const uri = `/buckets/${bid}/collections/${cid}`;
  const bound = core.authorizer.bound(uri, 'read');
  if (!(await core.authorizer.allowed(core.permission, identity.principals, 'collection', bound, 'read'))) {
    throw denied(core, identity);
  }
}

function httpDate(timestamp: number): string {
  return new Date(Math.floor(timestamp / 1000) * 1000).toUTCString();
}

async function serveChangeset(core: KintoCore, request: FastifyRequest, reply: FastifyReply) {
  const { bucket_id: bid, collection_id: cid } = request.params as Record<string, string>;
  if (!bid || !cid) return reply.callNotFound();
  const raw = orderedQuery(request);
  const query = parseChangesetQuery(raw);
  const limit = boundLimit(query.limit, core.settings.optionalInt('paginate_by'), core.settings.int('storage_max_fetch_size', 10000));
  let changeset: Changeset;
  if (bid === MONITOR_BUCKET && cid === CHANGES_COLLECTION) {
    const early = quotedExpectedRedirect(core.settings, request, raw) ?? staleExpected(core.settings, raw) ?? oldSinceRedirect(core.settings, request, raw);
    if (early) return reply.code(early.status).headers(early.headers).send();
    changeset = await monitorChangeset({ storage: core.storage, settings: core.settings }, query, limit);
  } else {
    await authorizeRead(core, request, bid, cid);
    changeset = await collectionChangeset(core.storage, bid, cid, query, limit, core.settings.int('retry_after_seconds', 3));
  }
  reply.headers({ ...changesetCacheHeaders(core.settings, bid, cid, query.expected), 'Last-Modified': httpDate(changeset.lastModified) });
  const { lastModified: _served, ...body } = changeset;
  return body;
}

export function registerChangesets(app: FastifyInstance, core: KintoCore): void {
  app.get('/v1/buckets/:bucket_id/collections/:collection_id/changeset', (request, reply) =>
    serveChangeset(core, request, reply),
  );
}
