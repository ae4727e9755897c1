import { definePlugin } from '../../core/plugin.ts';
import { SettingsError } from '../../core/settings/ini.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';
import { LdapAuthenticator, ldapPolicyFactory, POLICY_CLASS } from './authentication.ts';
import { LdapConnector } from './connection.ts';
import { filterTemplateProblem } from './filter.ts';

export const LDAP_SETTINGS = defineSettings('ldap.', {
  endpoint: setting.url({
    default: 'ldap://localhost:389',
    example: 'ldap://ldap.example.com:389',
    schemes: ['ldap', 'ldaps'],
    description: 'URI of the LDAP server.',
  }),
  base_dn: setting.string({ default: 'dc=mozilla', description: 'Where users are searched (whole subtree).' }),
  filters: setting.string({
    default: '(mail={mail})',
    description: 'Search filter of a user; `{mail}` is replaced by the username, escaped.',
  }),
  bind_dn: setting.optionalString({ description: 'DN to bind as before searching (anonymous search when unset).' }),
  bind_password: setting.optionalString({ description: 'Password of `ldap.bind_dn`.' }),
  cache_ttl_seconds: setting.int({ default: 30, min: 1, description: 'How long a checked login (valid or not) is remembered.' }),
  pool_size: setting.int({ default: 10, min: 1, description: 'Most LDAP connections open at once.' }),
  pool_retry_max: setting.int({ default: 3, min: 1, description: 'Connection attempts before the server is deemed unavailable.' }),
  pool_retry_delay: setting.number({ default: 0.1, min: 0, description: 'Seconds between connection attempts.' }),
  pool_timeout: setting.number({
    default: 30,
    min: 0.001,
    description: 'Seconds allowed to connect, for each LDAP operation and to wait for a free connection.',
  }),
});

/**
 * kinto-ldap: Basic-auth credentials checked against an LDAP server
 * (`multiauth.policy.<name>.use = kinto_ldap.authentication.LDAPBasicAuthAuthenticationPolicy`),
 * with the `ldap` heartbeat and capability.
 */
export default definePlugin({
  name: 'ldap',
  aliases: ['kinto_ldap'],
  settings: LDAP_SETTINGS,
  register(app, core, settings) {
    const problem = filterTemplateProblem(settings.filters);
    if (problem) throw new SettingsError(problem);
    const connector = new LdapConnector({
      url: settings.endpoint ?? 'ldap://localhost:389',
      size: settings.pool_size,
      retryMax: settings.pool_retry_max,
      retryDelaySeconds: settings.pool_retry_delay,
      timeoutSeconds: settings.pool_timeout,
    });
    const authenticator = new LdapAuthenticator(
      {
        hmacSecret: core.settings.str('userid_hmac_secret', ''),
        cacheTtlSeconds: settings.cache_ttl_seconds,
        baseDn: settings.base_dn,
        filters: settings.filters,
        bindDn: settings.bind_dn,
        bindPassword: settings.bind_password,
      },
      connector,
      () => core.cache,
      { error: (details, message) => app.log.error(details, message) },
    );
    core.capabilities.add('ldap', {
      description: 'Basic Auth user are validated against an LDAP server.',
      url: 'https://github.com/mozilla-services/kinto-ldap',
      version: core.version,
    });
    core.heartbeats.add('ldap', () => authenticator.ping());
    core.policyFactories.add(POLICY_CLASS, ldapPolicyFactory(authenticator));
  },
});
