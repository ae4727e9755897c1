/**
 * The rules Remote Settings applies so that a CDN can cache changesets with few distinct
 * URLs: cache lifetimes chosen by `_expected`, 204 for clients going back in time, 307
 * for very old `_since` values and for quoted `_expected` values. Never a 304.
 */
import type { FastifyRequest } from 'fastify';
import { cacheHeaders } from '../../core/resource/call.ts';
import type { Settings } from '../../core/settings/load.ts';
import { pyInt } from '../../core/filters/pycompat.ts';

export interface EarlyReply {
  status: number;
  headers: Record<string, string>;
}

const DAY_MS = 24 * 3600 * 1000;

function numberSetting(settings: Settings, key: string): number | null {
  const value = settings.get(key);
  if (value === undefined || value === null || value === '') return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? Math.trunc(parsed) : null;
}

/**
 * Cache-Control of a changeset (the reference's `_handle_cache_expires`): `_expected=0`
 * or a `9999…` cache-bust gets the minimum lifetime, any other value the maximum, no
 * value the default; then the bucket-wide and global record settings.
 */
export function changesetCacheHeaders(settings: Settings, bid: string, cid: string, expected: string | undefined): Record<string, string> {
  const prefix = `${bid}.${cid}.record_cache`;
  const fallback = numberSetting(settings, `${prefix}_expires_seconds`);
  let seconds = fallback;
  if (expected) {
    const bust = expected === '0' || expected.startsWith('9999');
    const key = bust ? `${prefix}_minimum_expires_seconds` : `${prefix}_maximum_expires_seconds`;
    seconds = numberSetting(settings, key) ?? fallback;
  }
  // `??` and not `||`: a lifetime of 0 is a setting (no caching), not a missing one.
  seconds ??= numberSetting(settings, `${bid}.record_cache_expires_seconds`);
  seconds ??= numberSetting(settings, 'record_cache_expires_seconds');
  return seconds === null ? {} : cacheHeaders(seconds, true);
}

/** The querystring in order, as the raw URL carries it (repeated keys kept). */
export function orderedQuery(request: FastifyRequest): [string, string][] {
  const index = request.url.indexOf('?');
  if (index < 0) return [];
  return [...new URLSearchParams(request.url.slice(index + 1))];
}

/** The last value of a parameter, as webob's `request.GET.get` returns it. */
export function lastValue(query: readonly [string, string][], name: string): string | undefined {
  let found: string | undefined;
  for (const [key, value] of query) if (key === name) found = value;
  return found;
}

/** Python's `urllib.parse.urlencode` (quote_plus): `+` for spaces, only `_.-~` left bare. */
export function urlencode(pairs: readonly [string, string][]): string {
  const quote = (text: string) =>
    encodeURIComponent(text)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return pairs.map(([key, value]) => `${quote(key)}=${quote(value)}`).join('&');
}

/** `http_scheme` (else https) and `changes.http_host`, `http_host`, else the request's host. */
function publicOrigin(settings: Settings, request: FastifyRequest): string {
  const scheme = settings.str('http_scheme', '') || 'https';
  const host = settings.str('changes.http_host', '') || settings.str('http_host', '') || request.headers.host || 'localhost';
  return `${scheme}://${host}`;
}

function redirectTo(settings: Settings, request: FastifyRequest, pairs: readonly [string, string][]): string {
  const path = request.url.split('?')[0];
  const query = pairs.length ? `?${urlencode(pairs)}` : '';
  return `${publicOrigin(settings, request)}${path}${query}`;
}

function redirectTtlHeaders(settings: Settings): Record<string, string> {
  const seconds = settings.int('changes.since_max_age_redirect_ttl_seconds', 86400);
  return seconds >= 0 ? cacheHeaders(seconds, true) : {};
}

function queryInteger(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const value = pyInt(raw.replaceAll('"', ''));
  return value === null ? null : Number(value);
}

/** `_expected` older than `_since`: the client goes back in time; 204, cached. */
export function staleExpected(settings: Settings, query: readonly [string, string][]): EarlyReply | null {
  const since = queryInteger(lastValue(query, '_since') ?? '');
  const expected = queryInteger(lastValue(query, '_expected') ?? '0');
  if (since === null || expected === null) return null;
  if (expected > 0 && expected < since) return { status: 204, headers: redirectTtlHeaders(settings) };
  return null;
}

/**
 * A `_since` older than `changes.since_max_age_days` is dropped by a 307, so that old
 * clients share one cached URL instead of one each.
 */
export function oldSinceRedirect(settings: Settings, request: FastifyRequest, query: readonly [string, string][]): EarlyReply | null {
  const since = queryInteger(lastValue(query, '_since') ?? '');
  if (since === null) return null;
  const maxAgeDays = settings.int('changes.since_max_age_days', 21);
  if (maxAgeDays < 0 || since >= Date.now() - maxAgeDays * DAY_MS) return null;
  const location = redirectTo(settings, request, query.filter(([key]) => key !== '_since'));
  return { status: 307, headers: { Location: location, ...redirectTtlHeaders(settings) } };
}

/** A quoted `_expected` is redirected to its unquoted form (one cache entry per value). */
export function quotedExpectedRedirect(settings: Settings, request: FastifyRequest, query: readonly [string, string][]): EarlyReply | null {
  const expected = lastValue(query, '_expected');
  if (!expected || !expected.includes('"')) return null;
  const pairs: [string, string][] = [...query.filter(([key]) => key !== '_expected'), ['_expected', expected.replaceAll('"', '')]];
  return { status: 307, headers: { Location: redirectTo(settings, request, pairs) } };
}
