import type { FastifyRequest } from 'fastify';
import { KintoError, type ErrorKey } from '../errors.ts';

export const JSON_ONLY = ['application/json'] as const;
export const PATCH_TYPES = ['application/json-patch+json', 'application/json', 'application/merge-patch+json'] as const;

/** The media type of a header value, lower-cased and without parameters (WebOb's `content_type`). */
function mediaType(raw: string | string[] | undefined): string {
  const value = Array.isArray(raw) ? raw[0] : raw;
  return (value ?? '').split(';')[0].trim().toLowerCase();
}

/** Whether an `Accept` header admits `application/json` (WebOb's `acceptable_offers`). */
export function acceptsJson(raw: string | string[] | undefined): boolean {
  const header = Array.isArray(raw) ? raw.join(',') : raw;
  if (header === undefined || header.trim() === '') return true;
  let best: { specificity: number; q: number } | null = null;
  for (const range of header.split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    if (!/^[^/\s]+\/[^/\s]+$/.test(type)) {
      if (type === '') continue;
      return true; // An invalid header is treated as absent.
    }
    const specificity = type === 'application/json' ? 2 : type === 'application/*' ? 1 : type === '*/*' ? 0 : -1;
    if (specificity < 0) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) return true;
    if (!best || specificity > best.specificity) best = { specificity, q };
  }
  return best !== null && best.q > 0;
}

export function negotiationError(key: ErrorKey, header: string, allowed: readonly string[]): KintoError {
  const description = `${header} header should be one of [${allowed.map((t) => `'${t}'`).join(', ')}]`;
  return new KintoError(key, { message: description, details: [{ location: 'header', name: header, description }] });
}

/**
 * Cornice's view predicates on Kinto services: a request without `Content-Type` always
 * matches; otherwise `Accept` must allow JSON (406) and, on views that read a body, the
 * content type must be one of `contentTypes` (415). Checked before authentication.
 */
export function checkNegotiation(request: FastifyRequest, contentTypes: readonly string[] | null): void {
  const type = mediaType(request.headers['content-type']);
  if (type === '') return;
  if (!acceptsJson(request.headers.accept)) throw negotiationError('NOT_ACCEPTABLE', 'Accept', JSON_ONLY);
  if (contentTypes && !contentTypes.includes(type)) {
    throw negotiationError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type', contentTypes);
  }
}

/** Content types a resource view accepts for a method (null: the view reads no body). */
export function resourceContentTypes(method: string): readonly string[] | null {
  if (method === 'PATCH') return PATCH_TYPES;
  if (method === 'POST' || method === 'PUT') return JSON_ONLY;
  return null;
}
