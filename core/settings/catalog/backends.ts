/** Storage, cache and permission backends, and authentication (Kinto's names and defaults). */
import { defineSettings, setting, type SettingSpec } from '../schema.ts';

const { int, number, bool, string, list, oneOf, native } = setting;

/**
 * Engines accepted per backend: Kinto's module names and our short names. Keep in
 * step with `engineOf` in core/backends.ts: an engine must be listed here to pass
 * start-up validation.
 */
function engines<K extends string>(kind: K) {
  const prefix = `kinto.core.${kind}` as const;
  return [
    `${prefix}.memory`,
    `${prefix}.postgresql`,
    `${prefix}.pglite`,
    `${prefix}.embedded`,
    'memory',
    'postgresql',
    'pglite',
    'embedded',
  ] as const;
}

function poolSettings<K extends string>(kind: K) {
  return {
    [`${kind}_pool_size`]: int({ default: 25, min: 1, description: `Connections kept open by the ${kind} backend.` }),
    [`${kind}_max_overflow`]: int({ default: 5, min: 0, description: 'Extra connections allowed under load (SQLAlchemy).' }),
    [`${kind}_pool_recycle`]: int({ default: -1, description: 'Connection lifetime in seconds (-1: unlimited).' }),
    [`${kind}_pool_timeout`]: number({ default: 30, min: 0, description: 'Seconds to wait for a free connection.' }),
    [`${kind}_max_backlog`]: int({ default: -1, description: 'Requests allowed to wait for a connection (-1: unlimited).' }),
  } as Record<`${K}_${'pool_size' | 'max_overflow' | 'pool_recycle' | 'pool_timeout' | 'max_backlog'}`, SettingSpec<number>>;
}

function statementSettings<K extends string>(kind: K) {
  return {
    [`${kind}_prepared_statements`]: bool({
      default: true,
      description: 'Prepare repeated statements once per connection (off behind PgBouncer in transaction mode before 1.21).',
    }),
  } as Record<`${K}_prepared_statements`, SettingSpec<boolean>>;
}

// The durable embedded engine (PGlite in ./data) is our default; Kinto's is memory.
export const BACKEND_SETTINGS = defineSettings('', {
  storage_backend: oneOf(engines('storage'), { default: 'pglite', description: 'Storage engine.' }),
  storage_url: string({ description: 'postgresql://user:pass@host/db, or the data folder of the embedded engine.' }),
  ...poolSettings('storage'),
  ...statementSettings('storage'),
  cache_backend: oneOf(engines('cache'), { default: 'pglite', description: 'Cache engine.' }),
  cache_url: string({ description: 'postgresql:// URL, or the data folder of the embedded engine.' }),
  cache_hosts: list({ description: 'memcached servers (host:port), Kinto memcached backend.' }),
  cache_prefix: string({ description: 'Prefix of every cache key.' }),
  cache_max_size_bytes: int({ default: 524288, min: 0, description: 'Size limit of the memory cache.' }),
  ...poolSettings('cache'),
  ...statementSettings('cache'),
  permission_backend: oneOf(engines('permission'), { default: 'pglite', description: 'Permission engine.' }),
  permission_url: string({ description: 'postgresql:// URL, or the data folder of the embedded engine.' }),
  ...poolSettings('permission'),
  ...statementSettings('permission'),
});

export const DEFAULT_AUTHORIZATION_POLICIES = [
  'kinto.authorization.AuthorizationPolicy',
  'kinto.core.authorization.AuthorizationPolicy',
] as const;
export const DEFAULT_GROUPFINDER = 'kinto.core.authorization.groupfinder';

export const AUTH_SETTINGS = defineSettings('', {
  userid_hmac_secret: string({ description: 'Secret of user id hashes (basicauth, accounts, openid).' }),
  default_bucket_hmac_secret: string({ description: 'Secret of default bucket ids.' }),
  'multiauth.policies': list({ description: 'Authentication policies, in order; each name prefixes user ids.' }),
  'multiauth.policy.basicauth.use': string({
    default: 'kinto.core.authentication.BasicAuthAuthenticationPolicy',
    description: 'Class of the `basicauth` policy.',
  }),
  'multiauth.authorization_policy': string({
    default: DEFAULT_AUTHORIZATION_POLICIES[0],
    description: 'Authorization policy (Python class; only the built-in one exists here).',
  }),
  'multiauth.groupfinder': string({
    default: DEFAULT_GROUPFINDER,
    description: 'Group finder (Python function; only the built-in one exists here).',
  }),
}, [
  {
    pattern: /^multiauth\.policy\.[^.]+\..+$/,
    example: 'multiauth.policy.account.use',
    spec: native({ description: 'Class (`use`) or option of an authentication policy.' }),
  },
]);

const OPENID_OPTIONS = [
  'issuer', 'client_id', 'client_secret', 'audience', 'userid_field', 'header_type',
  'verification_ttl_seconds', 'state_ttl_seconds', 'state_length', 'realm',
];

/**
 * Options each known policy class reads from `multiauth.policy.<name>.<option>`, so that
 * a misspelt or Python-only option is reported. Classes not listed are not checked.
 */
export const POLICY_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  'kinto.core.authentication.BasicAuthAuthenticationPolicy': [],
  'kinto.plugins.accounts.AccountsPolicy': [],
  'kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy': [],
  'kinto.plugins.openid.OpenIDConnectPolicy': OPENID_OPTIONS,
  'kinto_ldap.authentication.LDAPBasicAuthAuthenticationPolicy': ['realm'],
  'kinto_fxa.authentication.FxAOAuthAuthenticationPolicy': [],
};
