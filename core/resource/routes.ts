import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/authorization.ts';
import type { KintoCore } from '../context.ts';
import { invalidParameters, methodNotAllowed } from '../errors.ts';
import { denied, identify } from '../http/identity.ts';
import { checkNegotiation, resourceContentTypes } from '../http/negotiation.ts';
import { absoluteUrl, apiPath } from '../http/urls.ts';
import { inUnitOfWork, type UnitOfWork } from '../unit-of-work.ts';
import { authorizeResource, type Access } from './authorize.ts';
import { JsonText, type BodyKind, type ResourceCall, type ResourceResult } from './call.ts';
import type { PathParams, RequestInfo, ResourceDefinition } from './definition.ts';
import { objectDelete, objectGet, objectPatch, objectPut, pluralPost, responseBehavior } from './object.ts';
import { parsePreconditions } from './preconditions.ts';
import { readAheadObjectGet } from './read-ahead.ts';
import { pluralDelete, pluralGet } from './plural.ts';

export type Handler = (call: ResourceCall) => Promise<ResourceResult>;

const PLURAL: Record<string, Handler> = { GET: pluralGet, HEAD: pluralGet, POST: pluralPost, DELETE: pluralDelete };
const OBJECT: Record<string, Handler> = { GET: objectGet, HEAD: objectGet, PUT: objectPut, PATCH: objectPatch, DELETE: objectDelete };
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const READ_METHODS = ['GET', 'HEAD'] as const;
const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;
const ALL_METHODS = [...READ_METHODS, ...BODY_METHODS];

function bodyKind(request: FastifyRequest): BodyKind {
  const type = String(request.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/json-patch+json')) return 'json-patch';
  if (type.startsWith('application/merge-patch+json')) return 'merge-patch';
  return 'json';
}

/** `kinto.{plural|object}_{resource}_{method}_enabled = false` removes a method (405). */
function methodEnabled(core: KintoCore, endpoint: 'plural' | 'object', resource: string, method: string): boolean {
  if (core.settings.bool('readonly', false) && WRITE_METHODS.has(method)) return false;
  const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
  return core.settings.bool(`${endpoint}_${resource}_${verb}_enabled`, true);
}

/** The plural handlers a definition keeps (`pluralMethods`); HEAD follows GET. */
function pluralHandlers(definition: ResourceDefinition): Record<string, Handler> {
  const allowed = definition.pluralMethods;
  if (!allowed) return PLURAL;
  const kept = Object.entries(PLURAL).filter(([method]) => allowed.includes(method === 'HEAD' ? 'GET' : method));
  return Object.fromEntries(kept);
}

export function registerResource(app: FastifyInstance, core: KintoCore, definition: ResourceDefinition): void {
  for (const [endpoint, path, handlers] of [
    ['plural', definition.pluralPath, pluralHandlers(definition)],
    ['object', definition.objectPath, OBJECT],
  ] as const) {
    if (path === undefined) continue;
    // Settings are frozen: which methods an endpoint serves is known before any request.
    const enabled = new Set<string>(ALL_METHODS.filter((method) => handlers[method] && methodEnabled(core, endpoint, definition.name, method)));
    const handler = resourceHandler(core, definition, handlers, enabled);
    const route = { url: `/v1${path}`, exposeHeadRoute: false, handler };
    // `apiMethods`: what the endpoint serves (the others answer 405), for /__api__.
    const config = (methods: readonly string[]): Record<string, unknown> => ({
      corsEndpoint: endpoint,
      apiMethods: Object.keys(handlers).filter((method) => methods.includes(method)),
    });
    app.route({ ...route, method: [...READ_METHODS], config: config(READ_METHODS) });
    // Writes are negotiated before their body is parsed (415 rather than a parser's error).
    app.route({
      ...route,
      method: [...BODY_METHODS],
      config: config(BODY_METHODS),
      onRequest: (request, _reply, done) => negotiated(request, handlers, done),
    });
  }
}

/** The handler of one resource path: checks, then the method's handler in a unit of work. */
function resourceHandler(core: KintoCore, definition: ResourceDefinition, handlers: Record<string, Handler>, enabled: ReadonlySet<string>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const readonly = !WRITE_METHODS.has(request.method);
    // Reads carry no body: negotiated here (an `Accept` check, only when a `Content-Type` is
    // sent), which spares every GET a route hook (bench/README.md #31).
    if (readonly && handlers[request.method]) checkNegotiation(request, resourceContentTypes(request.method));
    const values = Object.values(request.params as PathParams);
    // An empty segment (`/buckets/`) matches no Kinto route: 404, or the trailing-slash redirect.
    if (values.includes('')) return reply.callNotFound();
    // No id can hold U+0000 (and SQL text cannot): refuse it before any lookup.
    if (values.some((v) => v.includes('\u0000'))) throw invalidParameters('path', null, 'Invalid character 0x00');
    const handle = handlers[request.method];
    if (!handle || !enabled.has(request.method)) throw methodNotAllowed();
    const result = await inUnitOfWork(core, { readonly }, (uow) => serveResource(core, definition, request, uow, handle));
    return send(reply, result, request.method === 'HEAD');
  };
}

/** Content negotiation as a callback hook (an async one costs a promise and its ticks). */
function negotiated(request: FastifyRequest, handlers: Record<string, Handler>, done: (error?: Error) => void): void {
  try {
    if (handlers[request.method]) checkNegotiation(request, resourceContentTypes(request.method));
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
}

/** A resource call made on behalf of another route (a plugin writing a record as the user). */
export interface CallOverride {
  readonly method: string;
  readonly params: PathParams;
  readonly body: unknown;
  /** The event `uri` (the record's, not the plugin route's). */
  readonly requestUri: string;
}

/**
 * The whole resource protocol for one request: identity, authorization, parents,
 * preconditions, then the handler. `override` lets a plugin route (attachments) run a
 * record PATCH or PUT with the caller's identity and headers but its own body.
 */
export async function serveResource(
  core: KintoCore,
  definition: ResourceDefinition,
  request: FastifyRequest,
  uow: UnitOfWork,
  handler: Handler,
  override?: CallOverride,
): Promise<ResourceResult> {
  const method = override?.method ?? request.method;
  if (!override) await readAheadObjectGet(core, definition, request, uow);
  const identity: Identity = await identify(core, request, uow.permission);
  const info: RequestInfo = {
    method,
    body: override ? override.body : request.body,
    headers: request.headers,
    userId: identity.userId,
    principals: identity.principals,
    uow,
    settings: core.settings,
  };
  const raw = override?.params ?? (request.params as PathParams);
  const params = definition.resolveParams ? await definition.resolveParams(raw, info) : raw;
  const access: Access = definition.authorize
    ? await definition.authorize(params, info)
    : await authorizeResource(core, definition, params, info);
  if (!access.allowed) throw denied(core, identity);
  const base = { uow, settings: core.settings, params, userId: identity.userId, principals: identity.principals };
  const parentId = definition.parentId(params);
  const parents = definition.loadParents ? await definition.loadParents({ ...base, parentId }) : {};
  // Cornice validates headers before the view: a bad one is a 400 even on a missing object.
  parsePreconditions(request.headers);
  if (method === 'PATCH') responseBehavior(request.headers);
  const call: ResourceCall = {
    ...base,
    method,
    definition,
    query: request.query as ResourceCall['query'],
    headers: request.headers,
    body: info.body,
    bodyKind: override ? 'json' : bodyKind(request),
    cache: core.cache,
    listings: core.listings,
    requestUri: override?.requestUri ?? apiPath(request),
    absoluteUrl: (pathWithQuery) => absoluteUrl(core.settings, request, pathWithQuery),
    sharedIds: access.sharedIds,
    readableBy: access.readableBy,
    parents,
  };
  return handler(call);
}

function send(reply: FastifyReply, result: ResourceResult, head: boolean): FastifyReply {
  reply.code(result.status).headers(result.headers);
  if (result.status === 304 || head) return reply.send();
  if (result.body instanceof JsonText) return reply.type('application/json; charset=utf-8').send(result.body.text);
  return reply.send(result.body);
}
