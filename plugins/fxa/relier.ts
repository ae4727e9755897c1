/**
 * kinto-fxa's relier endpoints: `/fxa-oauth/login` sends the user to the FxA sign-in page,
 * `/fxa-oauth/token` trades the code FxA sends back for an access token and hands it to the
 * web app, `/fxa-oauth/params` tells clients how to reach FxA themselves.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { hmacDigest } from '../../core/auth/policies.ts';
import type { KintoCore } from '../../core/context.ts';
import { KintoError, serviceUnavailable, validationError, type ValidationDetail } from '../../core/errors.ts';
import { FxaRefusalError, FxaUnavailableError, type FxaOAuthClient } from './oauth-client.ts';

export interface RelierOptions {
  readonly clientId: string | null;
  readonly clientSecret: string | null;
  /** `fxa-oauth.oauth_uri` as configured (null when unset). */
  readonly oauthUri: string | null;
  readonly requestedScope: string;
  readonly requiredScope: string | null;
  readonly stateTtlSeconds: number;
  readonly authorizedDomains: readonly string[];
  readonly hmacSecret: string;
  readonly retryAfterSeconds: number;
}

/** Kinto's `URL` schema node accepts at most 2048 characters. */
const MAX_URL_LENGTH = 2048;
const SESSION_NOT_FOUND = 'The OAuth session was not found, please re-authenticate.';

/** kinto-fxa answers an unknown or spent state with a 408 (errno 104, MISSING_AUTH_TOKEN). */
class SessionNotFoundError extends KintoError {
  override readonly status = 408;
  override readonly label = 'Request Timeout';

  constructor() {
    super('MISSING_AUTH_TOKEN', { message: SESSION_NOT_FOUND });
  }
}

type Query = Record<string, string | string[] | undefined>;
const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Python's `fnmatch.translate`: `*`, `?`, `[seq]` and `[!seq]`, matched on the whole text. */
export function fnmatchPattern(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      let end = i + 1;
      if (pattern[end] === '!') end++;
      if (pattern[end] === ']') end++;
      while (end < pattern.length && pattern[end] !== ']') end++;
      if (end >= pattern.length) {
        source += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      else if (set.startsWith('^')) set = `\\${set}`;
      source += `[${set}]`;
      i = end;
    } else source += char.replace(/[.+^${}()|\\\]/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** The redirect's host if it is an http(s) URL, else null (Kinto's `URL` node: "Must be a URL"). */
function redirectHost(redirect: string): string | null {
  if (redirect.length > MAX_URL_LENGTH) return null;
  try {
    const url = new URL(redirect);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '' ? url.host : null;
  } catch {
    return null;
  }
}

/** The redirect URL of a login, or the validation errors kinto-fxa reports. */
function checkRedirect(query: Query, authorizedDomains: readonly string[]): string {
  const redirect = first(query.redirect)?.trim();
  const problem = (description: string): ValidationDetail => ({ location: 'querystring', name: 'redirect', description });
  if (redirect === undefined) throw validationError([problem('Required')]);
  const host = redirectHost(redirect);
  if (host === null) throw validationError([problem('Must be a URL')]);
  // The host as a browser reads it (no user info, IDNA-encoded, lower case): `https://a.com\@b.org` is a.com.
  if (!authorizedDomains.some((domain) => fnmatchPattern(domain.toLowerCase()).test(host))) {
    throw validationError([problem('redirect URL is not authorized')]);
  }
  return redirect;
}

function requiredParams(query: Query, fields: readonly string[]): string[] {
  const values = fields.map((field) => first(query[field]));
  const details = fields
    .filter((_, index) => values[index] === undefined)
    .map((name): ValidationDetail => ({ location: 'querystring', name, description: 'Required' }));
  if (details.length) throw validationError(details);
  return values as string[];
}

/** FxA scopes in a query string: `+`-joined; `:` and `/` of URL scopes kept readable, as kinto-fxa wrote them. */
const scopeParam = (scope: string) =>
  scope
    .split(/\s+/)
    .filter((item) => item !== '')
    .map((item) => encodeURIComponent(item).replace(/%3A/gi, ':').replace(/%2F/gi, '/'))
    .join('+');

export function registerRelier(app: FastifyInstance, core: KintoCore, options: RelierOptions, client: FxaOAuthClient): void {
  // The state is looked up through its HMAC: the cache never holds a usable state.
  const stateKey = (state: string) => `fxa-oauth:state:${hmacDigest(options.hmacSecret, state)}`;
  const authorizationBase = (options.oauthUri ?? client.baseUrl).replace(/\/+$/, '');

  app.get<{ Querystring: Query }>('/v1/fxa-oauth/login', async (request, reply) => {
    const redirect = checkRedirect(request.query, options.authorizedDomains);
    const state = randomBytes(16).toString('hex');
    await core.cache.set(stateKey(state), redirect, options.stateTtlSeconds);
    const location =
      `${authorizationBase}/authorization?action=signin&client_id=${encodeURIComponent(options.clientId ?? '')}` +
      `&state=${state}&scope=${scopeParam(options.requestedScope)}`;
    return reply.code(302).header('Location', location).send({});
  });

  app.get<{ Querystring: Query }>('/v1/fxa-oauth/token', async (request, reply) => {
    const [code, state] = requiredParams(request.query, ['code', 'state']);
    // Deleted at once: a state (and its code) is used only once, whatever happens next.
    const redirect = await core.cache.delete(stateKey(state));
    if (typeof redirect !== 'string' || redirect === '') throw new SessionNotFoundError();
    let token: string;
    try {
      token = await client.tradeCode(code, options.clientId, options.clientSecret);
    } catch (error) {
      if (error instanceof FxaRefusalError) {
        request.log.error({ status: error.status, reason: error.message }, 'FxA refused the OAuth code');
        throw validationError([{ location: 'querystring', name: 'code', description: 'Firefox Account code validation failed.' }]);
      }
      if (error instanceof FxaUnavailableError) {
        request.log.error({ reason: error.message, uri: client.baseUrl }, 'FxA OAuth server protocol error');
        throw serviceUnavailable(options.retryAfterSeconds);
      }
      throw error;
    }
    return reply.code(302).header('Location', `${redirect}${token}`).send({});
  });
}

/** `/fxa-oauth/params`: kept when the relier is disabled, as in kinto-fxa. */
export function registerParams(app: FastifyInstance, options: RelierOptions): void {
  app.get('/v1/fxa-oauth/params', async () => ({
    client_id: options.clientId,
    oauth_uri: options.oauthUri,
    scope: options.requiredScope,
  }));
}
