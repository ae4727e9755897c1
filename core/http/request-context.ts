/**
 * What the monitoring hooks (request summary logs, metrics, Sentry) need to know about a
 * request beyond fastify's own: its endpoint name, its batch parent, who sent it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyRequest } from 'fastify';
import type { KintoCore } from '../context.ts';
import { authenticate } from './identity.ts';

const batchParent = new AsyncLocalStorage<FastifyRequest>();

/** Runs a batch's subrequests so that their hooks know they are not top-level requests. */
export function runSubrequests<T>(parent: FastifyRequest, work: () => Promise<T>): Promise<T> {
  return batchParent.run(parent, work);
}

/** The batch request this (sub)request belongs to; undefined for a top-level request. */
export function currentBatchParent(): FastifyRequest | undefined {
  return batchParent.getStore();
}

/** Endpoint names of the core views, as Kinto's cornice services are named. */
const CORE_ENDPOINTS: Record<string, string> = {
  '/v1/': 'hello',
  '/v1/__heartbeat__': 'heartbeat',
  '/v1/__lbheartbeat__': 'lbheartbeat',
  '/v1/__version__': 'version',
  '/v1/contribute.json': 'contribute',
  '/v1/batch': 'batch',
  '/v1/permissions': 'permissions',
};

const resourceEndpoints = new WeakMap<KintoCore, Map<string, string>>();

/** `/v1/buckets/:id` → `bucket-object`, `/v1/buckets` → `bucket-plural`, for every registered resource. */
function resourceEndpointMap(core: KintoCore): Map<string, string> {
  let map = resourceEndpoints.get(core);
  if (!map) {
    map = new Map();
    for (const [name, definition] of core.resources.all()) {
      map.set(`/v1${definition.pluralPath}`, `${name}-plural`);
      if (definition.objectPath) map.set(`/v1${definition.objectPath}`, `${name}-object`);
    }
    resourceEndpoints.set(core, map);
  }
  return map;
}

/**
 * A bounded name for the route that served the request: `config.endpoint` when the route
 * sets one, Kinto's service name for core views and resources, a name derived from the
 * route pattern otherwise, and `unknown` when no route matched (so 404s add no cardinality).
 */
export function endpointOf(core: KintoCore, request: FastifyRequest): string {
  const url = request.routeOptions.url;
  if (url === undefined || request.is404) return 'unknown';
  const configured = (request.routeOptions.config as { endpoint?: unknown } | undefined)?.endpoint;
  if (typeof configured === 'string') return configured;
  const known = CORE_ENDPOINTS[url] ?? resourceEndpointMap(core).get(url);
  if (known) return known;
  const derived = url
    .replace(/^\/v1\/?/, '')
    .replace(/\/:[^/]+/g, '')
    .replaceAll('__', '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return derived || 'unnamed';
}

export interface RequestUser {
  /** The policy name (`basicauth`, `account`…): Kinto's `authn_type`. */
  policy: string;
  /** The user id without the policy prefix: Kinto's `uid` log field. */
  id: string;
}

/** Who sent the request (authentication is cached per request); null when anonymous or undecidable. */
export async function requestUser(core: KintoCore, request: FastifyRequest): Promise<RequestUser | null> {
  try {
    const { userId, policy } = await authenticate(core, request);
    if (userId === null || policy === null) return null;
    return { policy, id: userId.slice(policy.length + 1) };
  } catch {
    return null;
  }
}
