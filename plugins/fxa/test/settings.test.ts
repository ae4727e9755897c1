/**
 * Configuration of the fxa plugin, and its scope and domain matching rules. No FxA server is
 * contacted here (there is none to run: the other tests use a fake one).
 */
import { describe, expect, it } from 'vitest';
import { FxaAuthenticator } from '../authentication.ts';
import { FxaOAuthClient, apiBaseUrl } from '../oauth-client.ts';
import { fnmatchPattern } from '../relier.ts';
import { routeToken, scopeMatches } from '../scopes.ts';
import { get, makeFxaApp, startError } from './helpers.ts';

describe('fxa: settings', () => {
  it('refuses bad values, naming the setting', async () => {
    expect(await startError({ 'fxa-oauth.cache_ttl_seconds': 'soon' })).toMatch(/fxa-oauth\.cache_ttl_seconds.*a number >= 0\.001/);
    expect(await startError({ 'fxa-oauth.state.ttl_seconds': '0' })).toMatch(/fxa-oauth\.state\.ttl_seconds/);
    expect(await startError({ 'fxa-oauth.relier.enabled': 'maybe' })).toMatch(/fxa-oauth\.relier\.enabled.*a boolean/);
    expect(await startError({ 'fxa-oauth.oauth_uri': 'ftp://fxa.example.com' })).toMatch(/fxa-oauth\.oauth_uri/);
  });

  it('refuses two configurations requiring the same scopes', async () => {
    const message = await startError({ 'fxa-oauth.required_scope': 'kinto', 'fxa-oauth.clients.notes.required_scope': 'kinto' });
    expect(message).toContain("fxa-oauth.clients.notes.required_scope: 'kinto' is already required for another config");
  });

  it('refuses the policy when no client requires any scope (no token could ever be accepted)', async () => {
    expect(await startError({})).toContain('no FxA client is configured');
  });

  it('reads the settings from the environment too, and declares them', async () => {
    const app = await makeFxaApp(
      { 'fxa-oauth.required_scope': 'kinto', 'fxa-oauth.clients.notes.required_scope': 'notes', 'fxa-oauth.clients.notes.client_id': '12' },
      { FXA_OAUTH_CACHE_TTL_SECONDS: '60', FXA_OAUTH_CLIENTS_NOTES_REQUIRED_SCOPE: 'other' },
    );
    try {
      expect(app.kinto.settings.get('fxa-oauth.cache_ttl_seconds')).toBe(60);
      expect(app.kinto.settings.get('fxa-oauth.clients.notes.required_scope')).toBe('other');
      expect(app.kinto.settings.get('fxa-oauth.clients.notes.client_id')).toBe('12');
      expect(app.kinto.config.warnings).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('accepts the deprecated fxa-oauth.scope for both scopes', async () => {
    const app = await makeFxaApp({ 'fxa-oauth.scope': 'kinto' });
    try {
      expect((await get(app, '/v1/fxa-oauth/params')).json()).toEqual({ client_id: null, oauth_uri: null, scope: 'kinto' });
      const location = (await get(app, '/v1/fxa-oauth/login?redirect=http://a.b')).statusCode;
      expect(location).toBe(400); // No authorized domain by default.
    } finally {
      await app.close();
    }
  });

  it('starts without the policy, for the relier endpoints alone', async () => {
    const app = await makeFxaApp({ 'multiauth.policies': '', 'multiauth.policy.fxa.use': '' });
    try {
      expect((await get(app, '/v1/fxa-oauth/params')).statusCode).toBe(200);
      expect((await get(app, '/v1/')).json().capabilities.fxa).toBeDefined();
    } finally {
      await app.close();
    }
  });
});

describe('fxa: scope rules (PyFxA scope_matches)', () => {
  it('matches short names: a scope grants its sub-scopes; write is explicit', () => {
    expect(scopeMatches(['profile'], ['profile'])).toBe(true);
    expect(scopeMatches(['profile'], ['profile:email'])).toBe(true);
    expect(scopeMatches(['profile:email'], ['profile'])).toBe(false);
    expect(scopeMatches(['profile:write'], ['profile'])).toBe(true);
    expect(scopeMatches(['profile'], ['profile:write'])).toBe(false);
    expect(scopeMatches(['profile:email:write'], ['profile:email:write'])).toBe(true);
    expect(scopeMatches(['profiles'], ['profile'])).toBe(false);
    expect(scopeMatches(['profile'], ['https://identity.mozilla.com/apps/profile'])).toBe(false);
    expect(scopeMatches(['kinto', 'profile'], ['kinto', 'profile'])).toBe(true);
    expect(scopeMatches(['kinto'], ['kinto', 'profile'])).toBe(false);
  });

  it('matches URL scopes: a URL grants the URLs below it; fragments must be equal', () => {
    const apps = 'https://identity.mozilla.com/apps';
    expect(scopeMatches([apps], [`${apps}/notes`])).toBe(true);
    expect(scopeMatches([`${apps}/notes`], [apps])).toBe(false);
    expect(scopeMatches([apps], [`${apps}notes`])).toBe(false);
    expect(scopeMatches([`${apps}#read`], [`${apps}/notes#read`])).toBe(true);
    expect(scopeMatches([`${apps}#read`], [`${apps}/notes`])).toBe(false);
    expect(scopeMatches([apps], [`${apps}#write`])).toBe(true);
    expect(scopeMatches([apps], ['apps'])).toBe(false);
  });

  it('routes to exactly one client', () => {
    const clients = [{ name: 'default', requiredScope: ['kinto'] }, { name: 'notes', requiredScope: ['notes'] }];
    expect(routeToken(clients, ['kinto'])).toEqual({ client: clients[0] });
    expect(routeToken(clients, ['notes:write'])).toEqual({ client: clients[1] });
    expect(routeToken(clients, ['kinto', 'notes'])).toEqual({ client: null, reason: 'several' });
    expect(routeToken(clients, ['profile'])).toEqual({ client: null, reason: 'none' });
  });

  it('derives kinto-fxa\'s shared principal fxa:<uid> of named clients', () => {
    const clients = [{ name: 'default', requiredScope: ['kinto'] }, { name: 'notes', requiredScope: ['notes'] }];
    const log = { debug: () => {}, warn: () => {}, error: () => {} };
    const authenticator = new FxaAuthenticator(
      { hmacSecret: 's', cacheTtlSeconds: 1, retryAfterSeconds: 1, clients },
      new FxaOAuthClient(null),
      () => { throw new Error('unused'); },
      log,
    );
    expect(authenticator.extraPrincipals('33-notes')).toEqual(['fxa:33']);
    expect(authenticator.extraPrincipals('33')).toEqual([]);
    expect(authenticator.extraPrincipals('-notes')).toEqual([]);
  });
});

describe('fxa: helpers', () => {
  it('normalizes the OAuth server URL as PyFxA', () => {
    expect(apiBaseUrl(null)).toBe('https://oauth.accounts.firefox.com/v1');
    expect(apiBaseUrl('https://oauth.example.com')).toBe('https://oauth.example.com/v1');
    expect(apiBaseUrl('https://oauth.example.com/v1/')).toBe('https://oauth.example.com/v1');
  });

  it('matches domains like Python fnmatch', () => {
    expect(fnmatchPattern('*.firefox.com').test('notes.firefox.com')).toBe(true);
    expect(fnmatchPattern('*.firefox.com').test('a.b.firefox.com')).toBe(true);
    expect(fnmatchPattern('*.firefox.com').test('firefox.com')).toBe(false);
    expect(fnmatchPattern('*.firefox.com').test('evilfirefox.com')).toBe(false);
    expect(fnmatchPattern('app?.example.org').test('app1.example.org')).toBe(true);
    expect(fnmatchPattern('app[0-9].example.org').test('app7.example.org')).toBe(true);
    expect(fnmatchPattern('app[!0-9].example.org').test('app7.example.org')).toBe(false);
    expect(fnmatchPattern('a[b').test('a[b')).toBe(true);
    expect(fnmatchPattern('localhost:*').test('localhost:8000')).toBe(true);
  });
});
