import type { FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify';
import type { KintoCore } from '../context.ts';
import { invalidParameters } from '../errors.ts';
import { isPlainObject } from '../resource/call.ts';
import { inUnitOfWork } from '../unit-of-work.ts';
import { JSON_ONLY, checkNegotiation } from './negotiation.ts';
import { runSubrequests } from './request-context.ts';

const METHODS = ['GET', 'HEAD', 'DELETE', 'TRACE', 'POST', 'PUT', 'PATCH'];
const REQUEST_KEYS = new Set(['method', 'path', 'headers', 'body']);
const NOT_INHERITED = new Set(['content-length', 'transfer-encoding', 'connection', 'expect']);

interface SubRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Record<string, unknown>;
}

interface SubResponse {
  status: number;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Fills what a request lacks from `defaults`, recursively, never overriding (Kinto's merge_dicts). */
function mergeDefaults(target: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(defaults)) {
    if (!(key in merged)) merged[key] = value;
    else if (isPlainObject(merged[key]) && isPlainObject(value)) {
      merged[key] = mergeDefaults(merged[key] as Record<string, unknown>, value);
    }
  }
  return merged;
}

function validateRequest(raw: unknown, index: number, isDefaults: boolean): void {
  const where = isDefaults ? 'defaults' : `requests.${index}`;
  if (!isPlainObject(raw)) throw invalidParameters('body', where, `"${JSON.stringify(raw)}" is not a mapping type`);
  const unknown = Object.keys(raw).filter((k) => !REQUEST_KEYS.has(k));
  if (unknown.length) throw invalidParameters('body', where, `Unrecognized keys in mapping: ${unknown.join(', ')}`);
  if (raw.method !== undefined && (typeof raw.method !== 'string' || !METHODS.includes(raw.method))) {
    throw invalidParameters('body', `${where}.method`, `"${String(raw.method)}" is not one of ${METHODS.join(', ')}`);
  }
  if (!isDefaults || raw.path !== undefined) {
    if (typeof raw.path !== 'string' || !raw.path.startsWith('/')) {
      throw invalidParameters('body', `${where}.path`, raw.path === undefined ? 'Required' : 'String does not match expected pattern');
    }
  }
  if (raw.headers !== undefined && (!isPlainObject(raw.headers) || Object.values(raw.headers).some((v) => typeof v !== 'string'))) {
    throw invalidParameters('body', `${where}.headers`, 'contains non string value');
  }
  if (raw.body !== undefined && !isPlainObject(raw.body)) {
    throw invalidParameters('body', `${where}.body`, `"${JSON.stringify(raw.body)}" is not a mapping type`);
  }
}

function parsePayload(body: unknown, limit: number): SubRequest[] {
  if (!isPlainObject(body)) throw invalidParameters('body', null, 'Should be a JSON object');
  const unknown = Object.keys(body).filter((k) => k !== 'defaults' && k !== 'requests');
  if (unknown.length) throw invalidParameters('body', null, `Unrecognized keys in mapping: ${unknown.join(', ')}`);
  if (body.defaults !== undefined) validateRequest(body.defaults, 0, true);
  if (!Array.isArray(body.requests)) throw invalidParameters('body', 'requests', 'Required');
  const defaults = (body.defaults ?? {}) as Record<string, unknown>;
  const requests = body.requests.map((raw, index) => {
    const merged = isPlainObject(raw) ? mergeDefaults(raw, defaults) : raw;
    validateRequest(merged, index, false);
    return merged as unknown as SubRequest;
  });
  if (limit > 0 && requests.length > limit) {
    throw invalidParameters('body', 'requests', `Number of requests is limited to ${limit}`);
  }
  if (requests.some((r) => r.path.includes('/batch'))) {
    throw invalidParameters('body', 'requests', 'Recursive call on /batch endpoint is forbidden.');
  }
  return requests.map((r) => ({ ...r, method: r.method || 'GET', headers: r.headers ?? {} }));
}

function inheritedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || NOT_INHERITED.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Header names as Kinto's (WebOb) responses spell them: `Content-Type`, `ETag`, `WWW-Authenticate`. */
const SPECIAL_CASE: Record<string, string> = { etag: 'ETag', 'www-authenticate': 'WWW-Authenticate' };
function canonicalHeaderName(name: string): string {
  return SPECIAL_CASE[name] ?? name.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());
}

function decodedPath(url: string): string {
  const path = url.split('?')[0];
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function subResponse(response: LightMyRequestResponse, method: string, url: string): SubResponse {
  let body: unknown = '';
  if (method !== 'HEAD' && response.body) {
    try {
      body = JSON.parse(response.body);
    } catch {
      body = response.body; // Non-JSON bodies are passed through as text.
    }
  }
  const headers = Object.fromEntries(
    Object.entries(response.headers).map(([k, v]) => [canonicalHeaderName(k), Array.isArray(v) ? v.join(', ') : String(v)]),
  );
  return { status: response.statusCode, path: decodedPath(url), headers, body };
}

/** Runs one subrequest like Kinto's `build_request` + `follow_subrequest` (one redirect followed). */
async function runSubRequest(app: FastifyInstance, parent: Record<string, string>, sub: SubRequest): Promise<SubResponse> {
  let url = sub.path.startsWith('/v1') ? sub.path : `/v1${sub.path}`;
  const headers: Record<string, string> = { ...parent };
  for (const [name, value] of Object.entries(sub.headers)) headers[name.toLowerCase()] = value;
  const hasBody = sub.body !== undefined && Object.keys(sub.body).length > 0;
  // Bodies are always sent as JSON, whatever the subrequest's own Content-Type says.
  if (hasBody) headers['content-type'] = 'application/json; charset=utf-8';
  const send = () =>
    app.inject({ method: sub.method as 'GET', url, headers, payload: hasBody ? JSON.stringify(sub.body) : undefined });
  let response = await send();
  const location = response.headers.location;
  if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
    url = location;
    response = await send();
  }
  return subResponse(response, sub.method, url);
}

/** A failed subrequest that must abort the whole batch: 5xx, and 409 (integrity errors). */
class BatchAborted extends Error {
  readonly response: SubResponse;
  constructor(response: SubResponse) {
    super('batch aborted');
    this.response = response;
  }
}

export function registerBatch(app: FastifyInstance, core: KintoCore): void {
  const onRequest = async (request: FastifyRequest) => checkNegotiation(request, JSON_ONLY);
  app.post('/v1/batch', { onRequest }, async (request, reply) => {
    const requests = parsePayload(request.body, core.settings.int('batch_max_requests', 25));
    const parent = inheritedHeaders(request);
    try {
      const responses = await inUnitOfWork(core, { readonly: false }, async () => {
        const results: SubResponse[] = [];
        for (const sub of requests) {
          const result = await runSubrequests(request, () => runSubRequest(app, parent, sub));
          if (result.status >= 500 || result.status === 409) throw new BatchAborted(result);
          results.push(result);
        }
        return results;
      });
      return { responses };
    } catch (error) {
      if (!(error instanceof BatchAborted)) throw error;
      const { status, headers, body } = error.response;
      const forwarded = Object.fromEntries(Object.entries(headers).filter(([k]) => k === 'Retry-After'));
      return reply.code(status).headers(forwarded).send(body);
    }
  });
}

