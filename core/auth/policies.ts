import { createHmac } from 'node:crypto';
import type { Settings } from '../settings/load.ts';

/** Request headers as policies read them (lower-case names). */
export type Headers = Record<string, string | string[] | undefined>;

/**
 * One entry of `multiauth.policies`. `authenticate` returns the user id without its
 * prefix, or null to let the next policy try; the prefix is the policy's configured name.
 */
export interface AuthenticationPolicy {
  readonly name: string;
  authenticate(headers: Headers): Promise<string | null>;
  /** Principals the user has besides its id (kinto-fxa's account-wide `fxa:<uid>`); `id` is unprefixed. */
  principals?(id: string): readonly string[];
  /** `WWW-Authenticate` challenge sent with 401 responses. */
  readonly challenge?: string;
  /** Its OpenAPI 2.0 security definition in `/__api__` (Kinto's `expose_authentication_method`); basic when absent. */
  readonly openapi?: Readonly<Record<string, unknown>>;
}

export type PolicyFactory = (name: string, settings: Settings) => AuthenticationPolicy;

export function hmacDigest(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex');
}

/** `Authorization: Basic` credentials, or null when absent or malformed (Pyramid's rules). */
export function basicCredentials(headers: Headers): { username: string; password: string } | null {
  const raw = headers.authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return null;
  const match = /^basic\s+(.+)$/i.exec(value.trim());
  if (!match || !/^[A-Za-z0-9+/=\s]+$/.test(match[1])) return null;
  const decoded = Buffer.from(match[1], 'base64');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(decoded);
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * A bounded map from the exact `Authorization` value to the user id it gave: the HMAC and
 * the base64 decoding ran on every request of a client that sends the same header each
 * time. Least recently used entries go first; the values are digests, never passwords.
 */
export class DigestCache {
  private readonly entries = new Map<string, string>();
  private readonly limit: number;
  /** Longer headers are not kept (memory stays bounded by `limit` × this). */
  private readonly maxKeyLength: number;

  constructor(limit = 1000, maxKeyLength = 1024) {
    this.limit = limit;
    this.maxKeyLength = maxKeyLength;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): string | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Re-inserted: a Map iterates in insertion order, so the first key is the least recent.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: string): void {
    if (key.length > this.maxKeyLength || this.limit <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
  }
}

/** Kinto's BasicAuth: any user/password pair is an identity, hashed with `userid_hmac_secret`. */
export const basicAuthPolicy: PolicyFactory = (name, settings) => {
  const secret = settings.str('userid_hmac_secret', '');
  const digests = new DigestCache();
  return {
    name,
    challenge: 'Basic realm="Realm"',
    async authenticate(headers) {
      const raw = headers.authorization;
      const header = Array.isArray(raw) ? raw[0] : raw;
      const known = header === undefined ? undefined : digests.get(header);
      if (known !== undefined) return known;
      const credentials = basicCredentials(headers);
      if (!credentials || !credentials.username) return null;
      const digest = hmacDigest(secret, `${credentials.username}:${credentials.password}`);
      // `credentials` came from `header`: the same header always gives the same digest.
      digests.set(header as string, digest);
      return digest;
    },
  };
};
