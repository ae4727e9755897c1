/**
 * FxA scope rules (PyFxA's `scope_matches`, after fxa-auth-server's ScopeSet) and the routing
 * of a token to the configured client whose `required_scope` it carries.
 */

/** A configured client: `fxa-oauth.*` (named `default`) or `fxa-oauth.clients.<name>.*`. */
export interface FxaClient {
  readonly name: string;
  /** Every one of these must be granted by the token. */
  readonly requiredScope: readonly string[];
}

/** The client name whose user ids carry no `-<name>` suffix. */
export const DEFAULT_CLIENT = 'default';

/**
 * Short names (`profile`, `profile:email`, `kinto:write`): a provided scope grants itself and
 * everything below it (`profile` grants `profile:email`); `:write` is required explicitly but
 * also grants read access (`profile:write` grants `profile`).
 */
function shortNameGrants(provided: string, required: string): boolean {
  if (required.startsWith('https:')) return false;
  const given = provided.split(':');
  const wanted = required.split(':');
  if (wanted[wanted.length - 1] === 'write') {
    if (given[given.length - 1] !== 'write') return false;
    wanted.pop();
    given.pop();
  } else if (given[given.length - 1] === 'write') {
    given.pop();
  }
  if (given.length > wanted.length) return false;
  return given.every((name, index) => name === wanted[index]);
}

/**
 * URL scopes (`https://identity.mozilla.com/apps/notes`): a provided URL grants itself and the
 * URLs below it (`/apps` grants `/apps/notes`); a provided `#fragment` must be required as is.
 */
function urlGrants(provided: string, required: string): boolean {
  if (!required.startsWith('https:')) return false;
  const [givenUrl, givenHash] = splitHash(provided);
  const [wantedUrl, wantedHash] = splitHash(required);
  if (wantedUrl !== givenUrl && !wantedUrl.startsWith(`${givenUrl}/`)) return false;
  return givenHash === null || givenHash === wantedHash;
}

function splitHash(scope: string): [string, string | null] {
  const hash = scope.lastIndexOf('#');
  return hash < 0 ? [scope, null] : [scope.slice(0, hash), scope.slice(hash + 1)];
}

function grants(provided: string, required: string): boolean {
  return provided.startsWith('https:') ? urlGrants(provided, required) : shortNameGrants(provided, required);
}

/** True when the provided scopes grant every required one (PyFxA's `scope_matches`). */
export function scopeMatches(provided: readonly string[], required: readonly string[]): boolean {
  return required.every((wanted) => provided.some((given) => grants(given, wanted)));
}

export type Routing = { readonly client: FxaClient } | { readonly client: null; readonly reason: 'none' | 'several' };

/**
 * The client a token belongs to: the one configured client whose required scope it carries.
 * A token that would fit several configurations is refused (kinto-fxa's "matches multiple
 * config" rule), so that no client's users can be impersonated with another client's token.
 */
export function routeToken(clients: readonly FxaClient[], provided: readonly string[]): Routing {
  const matching = clients.filter((client) => scopeMatches(provided, client.requiredScope));
  if (matching.length === 1) return { client: matching[0] };
  return { client: null, reason: matching.length === 0 ? 'none' : 'several' };
}
