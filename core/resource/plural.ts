import { randomUUID } from 'node:crypto';
import { invalidParameters } from '../errors.ts';
import { Filter, type FilterNode, type JsonObject, type SortField } from '../filters/ast.ts';
import { projectFields } from '../filters/evaluate.ts';
import { buildAfterFilter, encodeToken, lastObjectFor, parseListQuery, type ListQuery } from '../filters/parse.ts';
import type { StoredObject } from '../storage/types.ts';
import { cacheLifetime } from './cache-lifetime.ts';
import { JsonText, cacheHeaders, hookContext, modelFor, timestampHeaders, type ResourceCall, type ResourceResult } from './call.ts';
import type { ResourceModel } from './model.ts';
import { checkPreconditions, isNotModified, parsePreconditions } from './preconditions.ts';

const DEPRECATED_TO_ALERT = JSON.stringify({
  code: 'soft-eol',
  message: '_to is now deprecated, you should use _before instead',
  url: 'https://kinto.readthedocs.io/en/2.4.0/api/resource.html#list-of-available-url-parameters',
});

/** `_limit` bounded by `paginate_by` and `storage_max_fetch_size`, as Kinto's `_extract_limit`. */
export function effectiveLimit(requested: number | null, call: ResourceCall): number {
  const paginateBy = call.settings.optionalInt('paginate_by');
  const maxFetch = call.settings.int('storage_max_fetch_size', 10000);
  let limit = requested ?? paginateBy;
  if (limit && paginateBy) limit = Math.min(limit, paginateBy);
  return limit ? Math.min(limit, maxFetch) : maxFetch;
}

interface Page {
  filters: FilterNode[];
  sort: readonly SortField[];
  limit: number;
  offset: number;
}

async function pageOf(call: ResourceCall, query: ListQuery): Promise<Page> {
  const filters: FilterNode[] = [];
  if (call.sharedIds !== null) filters.push(Filter.in(['id'], [...call.sharedIds]));
  filters.push(...query.filters);
  let offset = 0;
  if (query.token) {
    if (call.method === 'DELETE' && (await call.cache.delete(query.token.nonce)) === null) {
      throw invalidParameters('querystring', null, '_token was already used or has expired.');
    }
    filters.push(buildAfterFilter(query.sort as SortField[], query.token.lastObject));
    offset = query.token.offset;
  }
  return { filters, sort: query.sort, limit: effectiveLimit(query.limit, call), offset };
}

async function nextPageUrl(call: ResourceCall, page: Page, last: StoredObject, offset: number): Promise<string> {
  const nonce = `pagination-token-${randomUUID()}`;
  if (call.method === 'DELETE') {
    await call.cache.set(nonce, '', call.settings.int('pagination_token_validity_seconds', 600));
  }
  const token = encodeToken(lastObjectFor(last, page.sort as SortField[]), offset, nonce);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(call.query)) {
    if (key === '_limit' || key === '_token' || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
  }
  params.set('_limit', String(page.limit));
  params.set('_token', token);
  return call.absoluteUrl(`${call.requestUri}?${params.toString()}`);
}

function parse(call: ResourceCall): ListQuery {
  const query = parseListQuery(call.query, {
    now: Date.now(),
    knownFields: call.definition.knownFields,
    method: call.method as 'GET' | 'HEAD' | 'DELETE',
  });
  const normalize = call.definition.normalizeFilters;
  return normalize ? { ...query, filters: normalize(query.filters) } : query;
}

interface SplicedPage {
  readonly limit: number;
  readonly body: Buffer;
  /** The page's last object when there is a next page. */
  readonly last: StoredObject | null;
}

/**
 * The pages built from a listing's texts, by their array: a listing served again from the
 * listing cache is the same array, and its page is not spliced and encoded again (~10% of a
 * cached page's time, bench/README.md #28). The cache counts these bytes in its budget.
 */
const splicedPages = new WeakMap<readonly string[], SplicedPage>();

function splicedPage(texts: readonly string[], limit: number): SplicedPage {
  const known = splicedPages.get(texts);
  if (known?.limit === limit) return known;
  const body = Buffer.from(`{"data":[${texts.slice(0, limit).join(',')}]}`);
  const last = texts.length > limit ? (JSON.parse(texts[limit - 1]) as StoredObject) : null;
  const page = { limit, body, last };
  splicedPages.set(texts, page);
  return page;
}

export async function pluralGet(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  const timestamp = await model.timestamp();
  const lifetime = cacheLifetime(call, hookContext(call, model));
  const headers: Record<string, string> = { ...timestampHeaders(timestamp), ...cacheHeaders(lifetime, call.userId === null) };
  const preconditions = parsePreconditions(call.headers);
  if (isNotModified(preconditions, timestamp)) return { status: 304, headers };
  await checkPreconditions(preconditions, 'plural', () => model.timestamp());
  const query = parse(call);
  if (query.deprecatedTo) headers.Alert = DEPRECATED_TO_ALERT;
  const page = await pageOf(call, query);

  if (call.method === 'HEAD') {
    const total = String(await model.count(page.filters));
    return { status: 200, headers: { ...headers, 'Total-Objects': total, 'Total-Records': total } };
  }
  const listing = { ...page, limit: page.limit + 1, includeDeleted: query.includeDeleted, readableBy: call.readableBy };
  if (!query.fields) {
    // The common listing: each object's JSON comes from storage and is spliced, not re-serialised.
    const texts = await model.listJson(listing);
    const { body, last } = splicedPage(texts, page.limit);
    if (last) headers['Next-Page'] = await nextPageUrl(call, page, last, page.offset + texts.length);
    return { status: 200, headers, body: new JsonText(body) };
  }
  const objects = await model.list(listing);
  if (objects.length > page.limit) {
    headers['Next-Page'] = await nextPageUrl(call, page, objects[page.limit - 1], page.offset + objects.length);
  }
  const data: JsonObject[] = objects.slice(0, page.limit).map((o) => projectFields(o, query.fields!));
  return { status: 200, headers, body: { data } };
}

export async function pluralDelete(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  await checkPreconditions(parsePreconditions(call.headers), 'plural', () => model.timestamp());
  const query = parse(call);
  const page = await pageOf(call, query);
  const old = await model.list({ filters: page.filters, sort: page.sort, limit: page.limit + 1 });
  const deleted = await model.deleteMany({ filters: page.filters, sort: page.sort, limit: page.limit });
  const headers: Record<string, string> = {};
  if (deleted.length) {
    if (old.length > page.limit) {
      headers['Next-Page'] = await nextPageUrl(call, page, old[page.limit - 1], page.offset + old.length);
    }
    Object.assign(headers, timestampHeaders(Math.max(...deleted.map((d) => d.last_modified))));
    await afterDeletion(call, model, old.slice(0, page.limit), deleted);
  } else {
    Object.assign(headers, timestampHeaders(await model.timestamp()));
  }
  return { status: 200, headers, body: { data: deleted } };
}

async function afterDeletion(call: ResourceCall, model: ResourceModel, old: StoredObject[], deleted: StoredObject[]) {
  await call.definition.afterDelete?.(hookContext(call, model), old);
  const byId = new Map(old.map((o) => [o.id, o]));
  const timestamp = await model.timestamp();
  model.notify('delete', timestamp, deleted.map((d) => ({ new: d, old: byId.get(d.id) })));
}
