/**
 * kinto-fxa (2.5.3): Firefox Accounts OAuth authentication.
 *
 * - Policy `multiauth.policy.<name>.use = kinto_fxa.authentication.FxAOAuthAuthenticationPolicy`:
 *   `Authorization: Bearer <token>` checked with `POST {oauth_uri}/verify`; the token's scopes
 *   pick the configured client (`fxa-oauth.required_scope` for the default one,
 *   `fxa-oauth.clients.<name>.required_scope` for the others); user ids are `<name>:<uid>`, or
 *   `<name>:<uid>-<client>` for a named client.
 * - Relier endpoints (`fxa-oauth.relier.enabled`): `/fxa-oauth/login`, `/fxa-oauth/token`, and
 *   `/fxa-oauth/params` (always there).
 * - Heartbeat `oauth` and capability `fxa`.
 *
 * Not reproduced: the `kinto-fxa process-account-events` script (it reads account deletions
 * from an AWS SQS queue, which this server has no client for); PyFxA's local JWT verification
 * (`/verify` checks JWT access tokens too); the principal `fxa:<uid>` kinto-fxa adds for named
 * clients needs a core hook for policy principals (see `FxaAuthenticator.extraPrincipals`).
 */
import { definePlugin } from '../../core/plugin.ts';
import { SettingsError } from '../../core/settings/ini.ts';
import type { Settings } from '../../core/settings/load.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';
import { FxaAuthenticator, fxaPolicyFactory, POLICY_CLASS } from './authentication.ts';
import { FxaOAuthClient } from './oauth-client.ts';
import { registerParams, registerRelier } from './relier.ts';
import { DEFAULT_CLIENT, type FxaClient } from './scopes.ts';

/** kinto-fxa's version, shown in its capability. */
export const KINTO_FXA_VERSION = '2.5.3';

const seconds = (description: string, fallback: number) => setting.number({ default: fallback, min: 0.001, description });
const CLIENT_ID = setting.optionalString({ description: 'OAuth client id of a named FxA client.' });
const CLIENT_SCOPE = setting.optionalString({
  description: 'Scopes (space-separated) a token must carry to be routed to this named client.',
});

export const FXA_SETTINGS = defineSettings(
  'fxa-oauth.',
  {
    client_id: setting.optionalString({ description: 'OAuth client id of this server at FxA (relier endpoints).' }),
    client_secret: setting.optionalString({ description: 'OAuth client secret, to trade codes for tokens. Never shown.' }),
    oauth_uri: setting.url({
      example: 'https://oauth.accounts.firefox.com/v1',
      schemes: ['http', 'https'],
      description: 'FxA OAuth server (PyFxA appends `/v1` when missing; production FxA when unset).',
    }),
    requested_scope: setting.string({ default: 'profile', description: 'Scopes asked for by `/fxa-oauth/login`.' }),
    required_scope: setting.optionalString({ description: 'Scopes a token must carry for the default client.' }),
    scope: setting.optionalString({ description: 'Deprecated: sets both `requested_scope` and `required_scope`.' }),
    cache_ttl_seconds: seconds('How long a verified token is remembered.', 300),
    'state.ttl_seconds': seconds('How long a login may take (lifetime of its state).', 3600),
    heartbeat_timeout_seconds: seconds('Time limit of the `oauth` heartbeat.', 3),
    'relier.enabled': setting.bool({ default: true, description: 'Serve `/fxa-oauth/login` and `/fxa-oauth/token`.' }),
    'webapp.authorized_domains': setting.list({
      description: 'Domains (fnmatch patterns, e.g. `*.example.com`) the login may redirect to.',
    }),
  },
  [
    { pattern: /^fxa-oauth\.clients\.[\w-]+\.client_id$/, example: 'fxa-oauth.clients.notes.client_id', spec: CLIENT_ID },
    { pattern: /^fxa-oauth\.clients\.[\w-]+\.required_scope$/, example: 'fxa-oauth.clients.notes.required_scope', spec: CLIENT_SCOPE },
  ],
);

const CLIENT_SCOPE_KEY = /^fxa-oauth\.clients\.([\w-]+)\.required_scope$/;

/** Whitespace-separated scopes, in a canonical form to compare configurations. */
const scopeItems = (text: string) => text.split(/\s+/).filter((item) => item !== '');

/**
 * kinto-fxa's `parse_clients`: the default client (when `required_scope` is set) and every
 * `fxa-oauth.clients.<name>.required_scope`; two configurations may not require the same scopes.
 */
export function parseClients(settings: Settings, defaultScope: string | null): FxaClient[] {
  const clients: FxaClient[] = [];
  const seen = new Map<string, string>();
  const add = (name: string, scope: string | null, key: string) => {
    if (scope === null || scopeItems(scope).length === 0) return;
    const requiredScope = scopeItems(scope);
    const canonical = [...new Set(requiredScope)].sort().join(' ');
    if (seen.has(canonical)) {
      throw new SettingsError(`${key}: '${scope}' is already required for another config (${seen.get(canonical)}).`);
    }
    seen.set(canonical, key);
    clients.push({ name, requiredScope });
  };
  add(DEFAULT_CLIENT, defaultScope, FXA_SETTINGS.key('required_scope'));
  for (const key of settings.keys()) {
    const match = CLIENT_SCOPE_KEY.exec(key);
    if (match) add(match[1], CLIENT_SCOPE.parse(CLIENT_SCOPE.normalize(settings.get(key) ?? null)), key);
  }
  return clients;
}

export default definePlugin({
  name: 'fxa',
  aliases: ['kinto_fxa'],
  settings: FXA_SETTINGS,
  register(app, core, settings) {
    let { requested_scope: requestedScope, required_scope: requiredScope } = settings;
    if (settings.scope !== null) {
      app.log.warn('"fxa-oauth.scope" is now deprecated. Please use "fxa-oauth.requested_scope" and "fxa-oauth.required_scope" instead.');
      requestedScope = settings.scope;
      requiredScope = settings.scope;
    }
    const hmacSecret = core.settings.str('userid_hmac_secret', '');
    const retryAfterSeconds = core.settings.int('retry_after_seconds', 3);
    const client = new FxaOAuthClient(settings.oauth_uri);
    const log = {
      debug: (details: object, message: string) => app.log.debug(details, message),
      warn: (details: object, message: string) => app.log.warn(details, message),
      error: (details: object, message: string) => app.log.error(details, message),
    };
    const authenticator = new FxaAuthenticator(
      { hmacSecret, cacheTtlSeconds: settings.cache_ttl_seconds, retryAfterSeconds, clients: parseClients(core.settings, requiredScope) },
      client,
      () => core.cache,
      log,
    );
    core.policyFactories.add(POLICY_CLASS, fxaPolicyFactory(authenticator));

    // No FxA server configured: nothing to check (kinto-fxa's `fxa_ping` answers None).
    core.heartbeats.add('oauth', async () => (settings.oauth_uri === null ? null : client.ping(settings.heartbeat_timeout_seconds)));
    core.capabilities.add('fxa', {
      version: KINTO_FXA_VERSION,
      description: 'You can authenticate to that server using Firefox Account.',
      url: 'https://github.com/Kinto/kinto-fxa',
    });

    const relier = {
      clientId: settings.client_id,
      clientSecret: settings.client_secret,
      oauthUri: settings.oauth_uri,
      requestedScope,
      requiredScope,
      stateTtlSeconds: settings['state.ttl_seconds'],
      authorizedDomains: settings['webapp.authorized_domains'],
      hmacSecret,
      retryAfterSeconds,
    };
    registerParams(app, relier);
    if (settings['relier.enabled']) registerRelier(app, core, relier, client);
  },
});
