import { InvalidCredentialsError, SizeLimitExceededError, type Client } from 'ldapts';
import { basicCredentials, hmacDigest, type AuthenticationPolicy, type PolicyFactory } from '../../core/auth/policies.ts';
import type { Cache } from '../../core/cache/types.ts';
import { LdapConnector } from './connection.ts';
import { buildFilter } from './filter.ts';

/** The Python class operators write in `multiauth.policy.<name>.use`. */
export const POLICY_CLASS = 'kinto_ldap.authentication.LDAPBasicAuthAuthenticationPolicy';

/** Pyramid's BasicAuth refuses these names as user ids. */
const PYRAMID_RESERVED = new Set(['system.Everyone', 'system.Authenticated']);

export interface LdapOptions {
  readonly hmacSecret: string;
  readonly cacheTtlSeconds: number;
  readonly baseDn: string;
  readonly filters: string;
  readonly bindDn: string | null;
  readonly bindPassword: string | null;
}

export interface LdapLogger {
  error(details: object, message: string): void;
}

/** Cached outcome of a check: "1" valid, "0" invalid credentials (Kinto's values). */
const VALID = '1';
const INVALID = '0';

export class LdapAuthenticator {
  private readonly options: LdapOptions;
  private readonly connector: LdapConnector;
  private readonly cache: () => Cache;
  private readonly log: LdapLogger;

  constructor(options: LdapOptions, connector: LdapConnector, cache: () => Cache, log: LdapLogger) {
    this.options = options;
    this.connector = connector;
    this.cache = cache;
    this.log = log;
  }

  /** `hmac_sha256(userid_hmac_secret, "user:password")`: the password itself is never stored. */
  cacheKey(username: string, password: string): string {
    return hmacDigest(this.options.hmacSecret, `${username}:${password}`);
  }

  /** The service bind (`ldap.bind_dn`), when configured; anonymous otherwise. */
  private async serviceBind(client: Client): Promise<void> {
    if (this.options.bindDn) await client.bind(this.options.bindDn, this.options.bindPassword ?? '');
  }

  /** DNs of the entries `filter` matches under `ldap.base_dn` (at most two are asked for). */
  private async search(client: Client, filter: string): Promise<string[]> {
    const result = await client.search(this.options.baseDn, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 2 });
    return result.searchEntries.map((entry) => entry.dn);
  }

  /**
   * kinto-ldap's `user_checker`: a cached outcome answers; otherwise the entry whose
   * `ldap.filters` matches the username is searched (exactly one must match) and bound
   * with the password. Valid and invalid credentials are remembered for
   * `ldap.cache_ttl_seconds`; an unreachable server or an unexpected LDAP error is logged
   * and leaves the request unauthenticated.
   */
  async check(username: string, password: string): Promise<boolean> {
    // A simple bind with an empty password is an anonymous bind (RFC 4513 §5.1.2): never a proof.
    if (username === '' || password === '') return false;
    const key = this.cacheKey(username, password);
    const cached = await this.cache().get(key);
    if (cached !== null) return cached === VALID;
    const filter = buildFilter(this.options.filters, username);
    let outcome: typeof VALID | typeof INVALID | null;
    try {
      outcome = await this.connector.run(async (client) => {
        await this.serviceBind(client);
        const found = await this.search(client, filter);
        if (found.length !== 1) return null;
        try {
          await client.bind(found[0], password);
        } catch (error) {
          if (error instanceof InvalidCredentialsError) return INVALID;
          throw error;
        }
        return VALID;
      });
    } catch (error) {
      if (error instanceof SizeLimitExceededError) return false;
      this.log.error({ err: error }, 'LDAP error');
      return false;
    }
    if (outcome === null) return false;
    await this.cache().set(key, outcome, this.options.cacheTtlSeconds);
    return outcome === VALID;
  }

  /** kinto-ldap's `ldap_ping`: a search for `mail=demo` answers (matching nothing is fine). */
  async ping(): Promise<boolean> {
    try {
      await this.connector.run(async (client) => {
        await this.serviceBind(client);
        await this.search(client, buildFilter(this.options.filters, 'demo'));
      });
      return true;
    } catch (error) {
      if (error instanceof SizeLimitExceededError) return true;
      this.log.error({ err: error }, 'LDAP heartbeat failure');
      return false;
    }
  }
}

/** `LDAPBasicAuthAuthenticationPolicy`: Basic auth; user ids are the username as typed. */
export function ldapPolicyFactory(authenticator: LdapAuthenticator): PolicyFactory {
  return (name, settings): AuthenticationPolicy => ({
    name,
    // kinto-ldap's `multiauth.policy.<name>.realm`, shown by browsers in their login prompt.
    challenge: `Basic realm="${settings.str(`multiauth.policy.${name}.realm`, 'Realm').replace(/["\\]/g, '')}"`,
    async authenticate(headers) {
      const credentials = basicCredentials(headers);
      if (!credentials || PYRAMID_RESERVED.has(credentials.username)) return null;
      return (await authenticator.check(credentials.username, credentials.password)) ? credentials.username : null;
    },
  });
}
