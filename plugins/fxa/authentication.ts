import { hmacDigest, type AuthenticationPolicy, type Headers, type PolicyFactory } from '../../core/auth/policies.ts';
import type { Cache } from '../../core/cache/types.ts';
import { serviceUnavailable } from '../../core/errors.ts';
import type { JsonValue } from '../../core/filters/ast.ts';
import { SettingsError } from '../../core/settings/ini.ts';
import { FxaOAuthClient, FxaRefusalError, FxaUnavailableError, type VerifiedToken } from './oauth-client.ts';
import { DEFAULT_CLIENT, routeToken, type FxaClient } from './scopes.ts';

/** The Python class operators write in `multiauth.policy.<name>.use`. */
export const POLICY_CLASS = 'kinto_fxa.authentication.FxAOAuthAuthenticationPolicy';

export interface FxaAuthOptions {
  readonly hmacSecret: string;
  readonly cacheTtlSeconds: number;
  /** Seconds of `Retry-After` when the FxA server cannot answer. */
  readonly retryAfterSeconds: number;
  readonly clients: readonly FxaClient[];
}

export interface FxaLogger {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** The bearer token of `Authorization: Bearer <token>` (scheme case-insensitive), or null. */
export function bearerToken(headers: Headers): string | null {
  const raw = headers.authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return null;
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space).toLowerCase() !== 'bearer') return null;
  const token = value.slice(space + 1);
  return token === '' ? null : token;
}

const isVerified = (value: JsonValue | null): value is JsonValue & VerifiedToken =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  typeof value.user === 'string' &&
  Array.isArray(value.scope);

/**
 * `FxAOAuthAuthenticationPolicy`: a bearer token is verified by the FxA OAuth server; a valid
 * answer is cached for `fxa-oauth.cache_ttl_seconds` under an HMAC of the token (never the
 * token itself). The core resolves identities once per request.
 */
export class FxaAuthenticator {
  private readonly options: FxaAuthOptions;
  private readonly client: FxaOAuthClient;
  private readonly cache: () => Cache;
  private readonly log: FxaLogger;

  constructor(options: FxaAuthOptions, client: FxaOAuthClient, cache: () => Cache, log: FxaLogger) {
    this.options = options;
    this.client = client;
    this.cache = cache;
    this.log = log;
  }

  get hasClients(): boolean {
    return this.options.clients.length > 0;
  }

  cacheKey(token: string): string {
    return `fxa-oauth:verify:${hmacDigest(this.options.hmacSecret, token)}`;
  }

  /** The user id (without the policy prefix): `<uid>`, or `<uid>-<client>` for a named client. */
  async authenticate(headers: Headers): Promise<string | null> {
    const token = bearerToken(headers);
    if (token === null) return null;
    const verified = await this.verify(token);
    if (verified === null) return null;
    const routing = routeToken(this.options.clients, verified.scope);
    if (routing.client === null) {
      if (routing.reason === 'several') this.log.warn({ scope: verified.scope }, 'Invalid FxA token: it matches several configs');
      else this.log.debug({ scope: verified.scope }, 'Invalid FxA token: no config requires these scopes');
      return null;
    }
    const name = routing.client.name;
    return name === DEFAULT_CLIENT ? verified.user : `${verified.user}-${name}`;
  }

  /**
   * kinto-fxa's extra principal `fxa:<uid>` of a user id given to a named client (`<uid>-<name>`),
   * shared by all the clients of one account; none for the default client.
   */
  extraPrincipals(userId: string): string[] {
    for (const { name } of this.options.clients) {
      if (name !== DEFAULT_CLIENT && userId.endsWith(`-${name}`) && userId.length > name.length + 1) {
        return [`fxa:${userId.slice(0, -(name.length + 1))}`];
      }
    }
    return [];
  }

  /** The verified token from the cache, or from the FxA server; null when the server refuses it. */
  private async verify(token: string): Promise<VerifiedToken | null> {
    const key = this.cacheKey(token);
    const cached = await this.cache()
      .get(key)
      .catch((error: unknown) => this.cacheFailure(error, 'fetching from'));
    if (isVerified(cached)) return cached;
    let verified: VerifiedToken;
    try {
      verified = await this.client.verify(token);
    } catch (error) {
      if (error instanceof FxaRefusalError) {
        this.log.debug({ status: error.status, reason: error.message }, 'Invalid FxA token');
        return null;
      }
      if (error instanceof FxaUnavailableError) {
        this.log.error({ reason: error.message, uri: this.client.baseUrl }, 'FxA OAuth server protocol error');
        throw serviceUnavailable(this.options.retryAfterSeconds);
      }
      throw error;
    }
    await this.cache()
      .set(key, { ...verified }, this.options.cacheTtlSeconds)
      .catch((error: unknown) => this.cacheFailure(error, 'storing in'));
    return verified;
  }

  /** As kinto-fxa's `TokenVerificationCache`: a failing cache is logged, and only costs a verification. */
  private cacheFailure(error: unknown, action: string): null {
    this.log.error({ err: error }, `Error while ${action} cache`);
    return null;
  }
}

/** Builds the policy of `multiauth.policy.<name>.use = kinto_fxa.authentication.FxAOAuthAuthenticationPolicy`. */
export function fxaPolicyFactory(authenticator: FxaAuthenticator): PolicyFactory {
  return (name): AuthenticationPolicy => {
    if (!authenticator.hasClients) {
      throw new SettingsError(
        `multiauth.policy.${name}: no FxA client is configured (set fxa-oauth.required_scope or fxa-oauth.clients.<name>.required_scope)`,
      );
    }
    return {
      name,
      challenge: 'Bearer realm="Realm"',
      authenticate: (headers) => authenticator.authenticate(headers),
      principals: (id) => authenticator.extraPrincipals(id),
    };
  };
}
