import { allowInsecureRequests, discovery } from 'openid-client';
import { hmacDigest, type AuthenticationPolicy, type Headers, type PolicyFactory } from '../../core/auth/policies.ts';
import type { Cache } from '../../core/cache/types.ts';
import type { JsonValue } from '../../core/filters/ast.ts';
import { SettingsError } from '../../core/settings/ini.ts';
import type { Settings } from '../../core/settings/load.ts';
import { JwtVerifier } from './jwt.ts';

/** The Python class operators write in `multiauth.policy.<name>.use`. */
export const POLICY_CLASS = 'kinto.plugins.openid.OpenIDConnectPolicy';

/** Kinto's test for an OpenID policy (`v.endswith("OpenIDConnectPolicy")`). */
export const isOpenIdClass = (use: string): boolean => use.endsWith('OpenIDConnectPolicy');

/** What this server reads from the provider's discovery document. */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly userinfo_endpoint: string;
  readonly jwks_uri?: string;
}

/** `multiauth.policy.<name>.*`, with Kinto's defaults. */
export interface ProviderOptions {
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly audience: string;
  readonly realm: string;
  readonly headerType: string;
  readonly useridField: string;
  readonly verificationTtlSeconds: number;
  readonly stateTtlSeconds: number;
  readonly stateLength: number;
}

/** A policy option as text (`native` settings are JSON-decoded: `client_id = 123` is a number). */
function text(settings: Settings, key: string, fallback: string | null): string {
  const value = settings.get(key);
  if (value === undefined || value === null || value === '') {
    if (fallback === null) throw new SettingsError(`${key} is required by ${POLICY_CLASS}`);
    return fallback;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function positiveInt(settings: Settings, key: string, fallback: number): number {
  const raw = text(settings, key, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new SettingsError(`${key} must be a positive integer (got '${raw}')`);
  return value;
}

export function providerOptions(settings: Settings, name: string): ProviderOptions {
  const key = (option: string) => `multiauth.policy.${name}.${option}`;
  return {
    name,
    issuer: text(settings, key('issuer'), null),
    clientId: text(settings, key('client_id'), null),
    clientSecret: text(settings, key('client_secret'), ''),
    audience: text(settings, key('audience'), ''),
    realm: text(settings, key('realm'), 'Realm'),
    headerType: text(settings, key('header_type'), 'Bearer'),
    useridField: text(settings, key('userid_field'), 'sub'),
    verificationTtlSeconds: positiveInt(settings, key('verification_ttl_seconds'), 86400),
    stateTtlSeconds: positiveInt(settings, key('state_ttl_seconds'), 3600),
    stateLength: positiveInt(settings, key('state_length'), 32),
  };
}

const discovered = new Map<string, Promise<ProviderMetadata>>();

/**
 * Kinto's `fetch_openid_config`: `{issuer}/.well-known/openid-configuration`, fetched once per
 * issuer (a failed fetch is not remembered). Plain `http` issuers are allowed, as in Kinto.
 */
export function fetchOpenIdConfig(issuer: string, clientId: string): Promise<ProviderMetadata> {
  let pending = discovered.get(issuer);
  if (!pending) {
    const url = new URL(issuer);
    pending = discovery(url, clientId, undefined, undefined, {
      execute: url.protocol === 'http:' ? [allowInsecureRequests] : [],
      timeout: 30,
    }).then((config) => {
      const metadata = config.serverMetadata();
      for (const field of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint'] as const) {
        if (typeof metadata[field] !== 'string') throw new Error(`the discovery document has no ${field}`);
      }
      return metadata as unknown as ProviderMetadata;
    });
    pending.catch(() => discovered.delete(issuer));
    discovered.set(issuer, pending);
  }
  return pending;
}

export interface OpenIdLogger {
  debug(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Most user profiles remembered for the hello view (the latest per user id). */
const PROFILES_KEPT = 10_000;

/**
 * `OpenIDConnectPolicy`: `Authorization: <header_type> <access token>`, checked by fetching the
 * provider's userinfo with the token; the profile is cached for `verification_ttl_seconds`
 * (refreshed on use) under an HMAC of the token, never the token itself.
 */
export class OpenIdVerifier {
  readonly options: ProviderOptions;
  readonly metadata: ProviderMetadata;
  private readonly cache: () => Cache;
  private readonly hmacSecret: string;
  private readonly log: OpenIdLogger;
  /** Latest profile per (unprefixed) user id, for the hello view's `user.profile`. */
  private readonly profiles = new Map<string, Record<string, unknown>>();
  private jwt: JwtVerifier | null = null;

  constructor(options: ProviderOptions, metadata: ProviderMetadata, hmacSecret: string, cache: () => Cache, log: OpenIdLogger) {
    this.options = options;
    this.metadata = metadata;
    this.hmacSecret = hmacSecret;
    this.cache = cache;
    this.log = log;
  }

  get challenge(): string {
    return `${this.options.headerType} realm="${this.options.realm}"`;
  }

  /** The access token of `Authorization: <header_type> <token>` (scheme case-insensitive), or null. */
  accessToken(headers: Headers): string | null {
    const raw = headers.authorization;
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (!value) return null;
    const space = value.indexOf(' ');
    if (space < 0) return null;
    if (value.slice(0, space).toLowerCase() !== this.options.headerType.toLowerCase()) return null;
    const token = value.slice(space + 1);
    return token === '' ? null : token;
  }

  cacheKey(token: string): string {
    const { issuer, clientId, audience } = this.options;
    return `openid:verify:${hmacDigest(this.hmacSecret, `${issuer}:${clientId}:${audience}:${token}`)}`;
  }

  async authenticate(headers: Headers): Promise<string | null> {
    const token = this.accessToken(headers);
    if (token === null) return null;
    const key = this.cacheKey(token);
    let payload = (await this.cache().get(key)) as Record<string, unknown> | null;
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      payload = await this.verify(token);
      if (payload === null) return null;
    }
    // Save for next time / refresh the TTL (Kinto's behaviour).
    await this.cache().set(key, payload as JsonValue, this.options.verificationTtlSeconds);
    const value = payload[this.options.useridField];
    if (value === undefined || value === null || value === '') return null;
    const userId = typeof value === 'string' ? value : JSON.stringify(value);
    this.remember(userId, payload);
    return userId;
  }

  /** The profile of the last token verified for `userId` (unprefixed), if any. */
  profile(userId: string): Record<string, unknown> | undefined {
    return this.profiles.get(userId);
  }

  private remember(userId: string, payload: Record<string, unknown>): void {
    this.profiles.delete(userId);
    this.profiles.set(userId, payload);
    if (this.profiles.size > PROFILES_KEPT) this.profiles.delete(this.profiles.keys().next().value!);
  }

  /** The userinfo of the token, or null when the provider refuses it or cannot be reached. */
  private async verify(token: string): Promise<Record<string, unknown> | null> {
    if (this.options.audience !== '') {
      // Kinto's `_decode_jwt`: with an audience, the token must be a JWT of the provider for it.
      if (!this.metadata.jwks_uri) {
        this.log.error({ issuer: this.options.issuer }, 'OpenID provider has no jwks_uri: JWT access tokens cannot be verified');
        return null;
      }
      this.jwt ??= new JwtVerifier(this.metadata.jwks_uri);
      try {
        const claims = await this.jwt.verify(token, this.options.issuer, this.options.audience);
        if (claims === null) {
          this.log.debug({ issuer: this.options.issuer }, 'Invalid JWT access token');
          return null;
        }
      } catch (error) {
        this.log.error({ err: error, uri: this.metadata.jwks_uri }, 'OpenID provider keys unreachable');
        return null;
      }
    }
    const uri = this.metadata.userinfo_endpoint;
    const request = () =>
      fetch(uri, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(30_000),
      });
    let response: Response;
    try {
      // A kept-alive connection the provider has closed fails once: one retry on a new one.
      response = await request().catch((error: unknown) => {
        if (error instanceof Error && error.name === 'TimeoutError') throw error;
        return request();
      });
    } catch (error) {
      this.log.error({ err: error, uri }, 'OpenID provider unreachable');
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      this.log.debug({ uri, status: response.status }, 'Unable to fetch user profile');
      if (response.status >= 500) this.log.error({ uri, status: response.status }, 'OpenID provider error');
      return null;
    }
    try {
      const profile: unknown = await response.json();
      if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) return null;
      return profile as Record<string, unknown>;
    } catch (error) {
      this.log.debug({ err: error, uri }, 'Unable to fetch user profile');
      return null;
    }
  }
}

/** Builds the policy of a configured provider from the verifiers set up by the plugin. */
export function openIdPolicyFactory(verifiers: ReadonlyMap<string, OpenIdVerifier>): PolicyFactory {
  return (name): AuthenticationPolicy => {
    const verifier = verifiers.get(name);
    if (!verifier) throw new SettingsError(`multiauth.policy.${name} is not an OpenID policy of multiauth.policies`);
    return {
      name,
      challenge: verifier.challenge,
      openapi: { type: 'oauth2', authorizationUrl: verifier.metadata.authorization_endpoint },
      authenticate: (headers) => verifier.authenticate(headers),
    };
  };
}
