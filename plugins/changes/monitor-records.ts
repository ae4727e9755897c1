/**
 * `GET /buckets/monitor/collections/changes/records`: the virtual, read-only collection
 * of watched collections polled by Firefox < 88. A plural endpoint like any records list
 * (filters, `_since`, `_sort`, `_limit`, pagination), public, and never 304: an
 * unchanged list is a 200 with no data, which a CDN caches.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import { methodNotAllowed, modifiedMeanwhile } from '../../core/errors.ts';
import type { JsonObject, SortField } from '../../core/filters/ast.ts';
import { matchesAll, projectFields, sortObjects } from '../../core/filters/evaluate.ts';
import { buildAfterFilter, encodeToken, lastObjectFor, parseListQuery, type ListQuery } from '../../core/filters/parse.ts';
import { absoluteUrl, apiPath } from '../../core/http/urls.ts';
import { cacheHeaders, timestampHeaders } from '../../core/resource/call.ts';
import { parsePreconditions } from '../../core/resource/preconditions.ts';
import { changesetCacheHeaders, oldSinceRedirect, orderedQuery, lastValue, staleExpected } from './cdn.ts';
import { CHANGES_COLLECTION, MONITOR_BUCKET, changeEntries, entriesTimestamp, type ChangeEntry } from './monitored.ts';

export const CHANGES_RECORDS_PATH = `/buckets/${MONITOR_BUCKET}/collections/${CHANGES_COLLECTION}/records`;
const KNOWN_FIELDS: ReadonlySet<string> = new Set(['bucket', 'collection', 'host']);

function effectiveLimit(core: KintoCore, requested: number | null): number {
  const paginateBy = core.settings.optionalInt('paginate_by');
  const maxFetch = core.settings.int('storage_max_fetch_size', 10000);
  let limit = requested ?? paginateBy;
  if (limit && paginateBy) limit = Math.min(limit, paginateBy);
  return limit ? Math.min(limit, maxFetch) : maxFetch;
}

interface Page {
  data: JsonObject[];
  nextPage: string | null;
}

/** Filters, sorts and pages the entries in memory, with Kinto's pagination tokens. */
function paginate(core: KintoCore, request: FastifyRequest, entries: ChangeEntry[], query: ListQuery): Page {
  const filters = [...query.filters];
  let offset = 0;
  if (query.token) {
    filters.push(buildAfterFilter(query.sort, query.token.lastObject));
    offset = query.token.offset;
  }
  const limit = effectiveLimit(core, query.limit);
  const selected = sortObjects(entries.filter((entry) => matchesAll(entry, filters)), query.sort);
  let data: JsonObject[] = selected.slice(0, limit);
  let nextPage: string | null = null;
  if (selected.length > limit) {
    const token = encodeToken(lastObjectFor(data[limit - 1], query.sort as SortField[]), offset + limit, `pagination-token-${randomUUID()}`);
    const params = new URLSearchParams(orderedQuery(request).filter(([key]) => key !== '_limit' && key !== '_token'));
    params.set('_limit', String(limit));
    params.set('_token', token);
    nextPage = absoluteUrl(core.settings, request, `${apiPath(request)}?${params.toString()}`);
  }
  if (query.fields) data = data.map((entry) => projectFields(entry, query.fields!));
  return { data, nextPage };
}

async function serveRecords(core: KintoCore, request: FastifyRequest, reply: FastifyReply) {
  if (request.method !== 'GET' && request.method !== 'HEAD') throw methodNotAllowed();
  const raw = orderedQuery(request);
  // Stale and too old `_since` values are answered before any storage access.
  const early = staleExpected(core.settings, raw) ?? oldSinceRedirect(core.settings, request, raw);
  if (early) return reply.code(early.status).headers(early.headers).send();

  const query = parseListQuery(request.query as Record<string, string>, { now: Date.now(), knownFields: KNOWN_FIELDS });
  const preconditions = parsePreconditions(request.headers);
  const entries = await changeEntries(core.storage, core.settings);
  const timestamp = entriesTimestamp(entries);
  if (preconditions.ifNoneMatch === '*') throw modifiedMeanwhile(null, timestamp);
  if (typeof preconditions.ifMatch === 'number' && preconditions.ifMatch !== timestamp) throw modifiedMeanwhile(null, timestamp);
  const headers: Record<string, string> = {
    ...timestampHeaders(timestamp),
    ...cacheHeaders(null, false),
    ...changesetCacheHeaders(core.settings, MONITOR_BUCKET, CHANGES_COLLECTION, lastValue(raw, '_expected')),
  };
  // Where Kinto answers 304, a CDN needs a cacheable 200: an empty list says the same.
  const unchanged = preconditions.ifNoneMatch === timestamp;
  const page = unchanged ? { data: [], nextPage: null } : paginate(core, request, entries, query);
  if (page.nextPage) headers['Next-Page'] = page.nextPage;
  if (request.method === 'HEAD') {
    const total = String(entries.filter((entry) => matchesAll(entry, query.filters)).length);
    return reply.code(200).headers({ ...headers, 'Total-Objects': total, 'Total-Records': total }).send();
  }
  return reply.code(200).headers(headers).send({ data: page.data });
}

export function registerMonitorRecords(app: FastifyInstance, core: KintoCore): void {
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: `/v1${CHANGES_RECORDS_PATH}`,
    exposeHeadRoute: false,
    handler: (request, reply) => serveRecords(core, request, reply),
  });
}
