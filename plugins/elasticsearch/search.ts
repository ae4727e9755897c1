import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import { invalidParameters, KintoError, methodNotAllowed } from '../../core/errors.ts';
import { denied, identify } from '../../core/http/identity.ts';
import { bucketUri, collectionUri, parentOr404 } from '../../core/resources/shared.ts';
import { inUnitOfWork, type UnitOfWork } from '../../core/unit-of-work.ts';
import type { ErrorLogger } from './listener.ts';
import { isNotFoundError, isRequestError, type Indexer, type SearchRequest } from './indexer.ts';

interface SearchParams {
  bucket_id: string;
  collection_id: string;
}

/**
 * Reading the search results is reading the collection's records: `read` on
 * `…/records`, inherited from the collection or the bucket (kinto-elasticsearch's
 * RouteFactory). Read access to only some records is not enough (nothing could filter
 * the hits), unlike a records listing.
 */
async function authorizeSearch(core: KintoCore, request: FastifyRequest, uow: UnitOfWork, params: SearchParams) {
  const identity = await identify(core, request, uow.permission);
  const records = `${collectionUri(params.bucket_id, params.collection_id)}/records`;
  const bound = core.authorizer.bound(records, 'read');
  if (!(await core.authorizer.allowed(uow.permission, identity.principals, 'record', bound, 'read'))) {
    throw denied(core, identity);
  }
  // As for the records: the collection must exist (404 errno 111 otherwise).
  await parentOr404(uow, 'collection', bucketUri(params.bucket_id), params.collection_id);
}

/** At most `paginate_by` (when positive) and `storage_max_fetch_size` hits, as kinto-elasticsearch. */
export function configuredSize(core: KintoCore): number {
  const maxFetch = core.settings.int('storage_max_fetch_size', 10000);
  const paginateBy = core.settings.optionalInt('paginate_by');
  return paginateBy === null || paginateBy <= 0 ? maxFetch : Math.min(paginateBy, maxFetch);
}

/** The search of this request; a `size` asked in the body is kept unless above the limit. */
function searchRequest(core: KintoCore, request: FastifyRequest): SearchRequest {
  const limit = configuredSize(core);
  if (request.method !== 'POST') {
    const q = (request.query as Record<string, unknown>).q;
    const text = Array.isArray(q) ? q.at(-1) : q;
    return { q: typeof text === 'string' ? text : undefined, size: limit };
  }
  const body = request.body;
  const asked = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).size : undefined;
  const keep = typeof asked === 'number' && asked <= limit;
  return { body, size: keep ? undefined : limit };
}

/** Kinto's 400 errno 107 with what ES said about the query. */
function queryRefused(error: { body?: unknown }): KintoError {
  const reported = (error.body as { error?: unknown } | undefined)?.error;
  if (reported && typeof reported === 'object') {
    const { reason, root_cause: rootCause } = reported as { reason?: unknown; root_cause?: unknown };
    const details = Array.isArray(rootCause) ? rootCause[0] : undefined;
    return new KintoError('BAD_REQUEST', { message: String(reason ?? 'Invalid query'), details });
  }
  return new KintoError('BAD_REQUEST', { message: String(reported ?? 'Invalid query') });
}

async function runSearch(indexer: Indexer, params: SearchParams, search: SearchRequest, logError: ErrorLogger) {
  const { bucket_id: bid, collection_id: cid } = params;
  try {
    try {
      return await indexer.search(bid, cid, search);
    } catch (error) {
      if (!isNotFoundError(error)) throw error;
      // The plugin was included after the collection was created: its index is made now.
      await indexer.createIndex(bid, cid);
      return await indexer.search(bid, cid, search);
    }
  } catch (error) {
    if (isRequestError(error)) throw queryRefused(error);
    logError(error, 'Index query failed.');
    return {};
  }
}

/** `GET|POST /buckets/{bid}/collections/{cid}/search`: the raw ES response of the collection's index. */
export function registerSearch(app: FastifyInstance, core: KintoCore, indexer: Indexer, logError: ErrorLogger): void {
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/buckets/:bucket_id/collections/:collection_id/search',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const params = request.params as SearchParams;
      if (!params.bucket_id || !params.collection_id) return reply.callNotFound();
      if (!['GET', 'HEAD', 'POST'].includes(request.method)) throw methodNotAllowed();
      // No id can hold U+0000 (nor can SQL text): refused as the records endpoint does.
      if (`${params.bucket_id}${params.collection_id}`.includes('\u0000')) {
        throw invalidParameters('path', null, 'Invalid character 0x00');
      }
      await inUnitOfWork(core, { readonly: true }, (uow) => authorizeSearch(core, request, uow, params));
      const results = await runSearch(indexer, params, searchRequest(core, request), logError);
      if (request.method === 'HEAD') return reply.send();
      return reply.send(results);
    },
  });
}
