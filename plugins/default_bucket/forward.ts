import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify';
import { isPlainObject } from '../../core/resource/call.ts';

const DEFAULT_PREFIX = '/v1/buckets/default';
const NOT_FORWARDED = new Set(['content-length', 'transfer-encoding', 'connection']);
const NOT_RETURNED = new Set(['content-length', 'transfer-encoding', 'connection', 'date', 'keep-alive']);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The request body for the real path: an empty write body becomes `{"data": {}}` as in Kinto. */
function forwardedPayload(request: FastifyRequest, bucketId: string): string | undefined {
  const body = request.body;
  if (body === undefined || body === null) return WRITE_METHODS.has(request.method) ? '{"data":{}}' : undefined;
  if (isPlainObject(body) && isPlainObject(body.data) && typeof body.data.id === 'string') {
    // Kinto replaces "default" in a posted id by the bucket id (`PUT /buckets/default {"data": {"id": "default"}}`).
    return JSON.stringify({ ...body, data: { ...body.data, id: body.data.id.replaceAll('default', bucketId) } });
  }
  return JSON.stringify(body);
}

function forwardedHeaders(request: FastifyRequest, hasPayload: boolean): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
  }
  if (hasPayload && (request.body === undefined || request.body === null || !headers['content-type'])) {
    headers['content-type'] = 'application/json';
  }
  return headers;
}

/** Replays the request on `/v1/buckets/<bucketId>/…` (same method, headers, body and querystring). */
export function forwardToBucket(app: FastifyInstance, request: FastifyRequest, bucketId: string): Promise<LightMyRequestResponse> {
  const [rawPath, ...rest] = request.url.split('?');
  const query = rest.length ? `?${rest.join('?')}` : '';
  const path = `/v1/buckets/${bucketId}${rawPath.slice(DEFAULT_PREFIX.length)}`;
  const payload = forwardedPayload(request, bucketId);
  return app.inject({
    method: request.method as 'GET',
    url: `${path}${query}`,
    headers: forwardedHeaders(request, payload !== undefined),
    payload,
  });
}

/** Answers with the response of the real path: status, headers and body as they were. */
export function replyWith(reply: FastifyReply, response: LightMyRequestResponse, head: boolean): FastifyReply {
  reply.code(response.statusCode);
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !NOT_RETURNED.has(name)) reply.header(name, value);
  }
  if (head || response.statusCode === 304 || response.rawPayload.length === 0) return reply.send();
  return reply.send(response.rawPayload);
}

/** The part of the path after `/v1/buckets/default/`, decoded ('' for the bucket itself). */
export function subpathOf(request: FastifyRequest): string {
  const params = request.params as Record<string, string | undefined>;
  return params['*'] ?? '';
}

export function hasTrailingSlash(request: FastifyRequest): boolean {
  const rawPath = request.url.split('?')[0];
  return rawPath.length > DEFAULT_PREFIX.length && rawPath.endsWith('/');
}
