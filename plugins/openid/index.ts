import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KintoError, validationError, type ValidationDetail } from '../../core/errors.ts';
import { absoluteUrl } from '../../core/http/urls.ts';
import { definePlugin } from '../../core/plugin.ts';
import { SettingsError } from '../../core/settings/ini.ts';
import {
  fetchOpenIdConfig,
  isOpenIdClass,
  openIdPolicyFactory,
  OpenIdVerifier,
  POLICY_CLASS,
  providerOptions,
} from './authentication.ts';

/** colander's `url` validator (the pattern of Kinto's `URL` schema node). */
const URL_PATTERN = /^(?:https?|ftp):\/\/[^\s/$.?#].[^\s]*$/i;

type Query = Record<string, string | string[] | undefined>;
const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Kinto's `raise_invalid(..., errno=ERRORS.INVALID_AUTH_TOKEN)`: a 400 with errno 105. */
class InvalidStateError extends KintoError {
  override readonly errno = 105;
}

/**
 * kinto.plugins.openid: OpenID Connect authentication (`multiauth.policy.<name>.use =
 * kinto.plugins.openid.OpenIDConnectPolicy`), the login/token endpoints of the authorization
 * code flow and the `openid` capability.
 */
export default definePlugin({
  name: 'openid',
  aliases: ['kinto.plugins.openid'],
  async register(app, core) {
    const settings = core.settings;
    const names = settings.list('multiauth.policies').filter((name) => isOpenIdClass(settings.str(`multiauth.policy.${name}.use`, '')));
    const log = {
      debug: (details: object, message: string) => app.log.debug(details, message),
      error: (details: object, message: string) => app.log.error(details, message),
    };
    const verifiers = new Map<string, OpenIdVerifier>();
    for (const name of names) {
      const options = providerOptions(settings, name);
      let metadata;
      try {
        metadata = await fetchOpenIdConfig(options.issuer, options.clientId);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new SettingsError(`multiauth.policy.${name}.issuer: cannot fetch the OpenID configuration of ${options.issuer} (${reason})`);
      }
      verifiers.set(name, new OpenIdVerifier(options, metadata, settings.str('userid_hmac_secret', ''), () => core.cache, log));
    }
    core.policyFactories.add(POLICY_CLASS, openIdPolicyFactory(verifiers));

    const providerError = (provider: string): ValidationDetail | null =>
      verifiers.has(provider) ? null : { location: 'path', name: 'provider', description: `Unknow provider '${provider}'` };
    const required = (query: Query, field: string, details: ValidationDetail[]): string => {
      const value = first(query[field]);
      if (value === undefined) details.push({ location: 'querystring', name: field, description: 'Required' });
      return value ?? '';
    };
    const redirect = (reply: FastifyReply, location: string) => reply.code(307).header('Location', location).send();
    const tokenUri = (request: FastifyRequest, provider: string) =>
      absoluteUrl(settings, request, `/openid/${encodeURIComponent(provider)}/token`);

    app.get<{ Params: { provider: string }; Querystring: Query }>('/v1/openid/:provider/login', async (request, reply) => {
      const { provider } = request.params;
      const query = request.query;
      const details: ValidationDetail[] = [];
      const callback = required(query, 'callback', details);
      if (first(query.callback) !== undefined && !URL_PATTERN.test(callback)) {
        details.push({ location: 'querystring', name: 'callback', description: 'Must be a URL' });
      }
      const scope = required(query, 'scope', details);
      const prompt = first(query.prompt);
      if (prompt !== undefined && !prompt.startsWith('none')) {
        details.push({ location: 'querystring', name: 'prompt', description: 'String does not match expected pattern' });
      }
      const unknown = providerError(provider);
      if (unknown) details.push(unknown);
      if (details.length) throw validationError(details);

      const verifier = verifiers.get(provider)!;
      const { clientId, useridField, stateLength, stateTtlSeconds } = verifier.options;
      if (useridField === 'email' && !scope.includes('email')) {
        throw validationError([{ location: 'body', name: 'scope', description: `Provider ${provider} requires 'email' scope` }]);
      }
      const state = randomBytes(stateLength).toString('hex');
      await core.cache.set(`openid:state:${state}`, callback, stateTtlSeconds);
      const params = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        scope,
        redirect_uri: tokenUri(request, provider),
        state,
      });
      if (prompt) params.set('prompt', prompt);
      if (verifier.options.audience !== '') params.set('audience', verifier.options.audience);
      return redirect(reply, `${verifier.metadata.authorization_endpoint}?${params.toString()}`);
    });

    app.get<{ Params: { provider: string }; Querystring: Query }>('/v1/openid/:provider/token', async (request, reply) => {
      const { provider } = request.params;
      const details: ValidationDetail[] = [];
      const code = required(request.query, 'code', details);
      const state = required(request.query, 'state', details);
      const unknown = providerError(provider);
      if (unknown) details.push(unknown);
      if (details.length) throw validationError(details);

      const verifier = verifiers.get(provider)!;
      // A state is used only once.
      const callback = await core.cache.delete(`openid:state:${state}`);
      if (typeof callback !== 'string') {
        const error = validationError([{ location: 'body', name: 'state', description: 'Invalid state' }]);
        throw new InvalidStateError('INVALID_PARAMETERS', { message: error.message, details: error.details });
      }
      const { clientId, clientSecret } = verifier.options;
      const body = new URLSearchParams({
        code,
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uri: tokenUri(request, provider),
        grant_type: 'authorization_code',
      });
      let tokenInfo: string;
      try {
        const response = await fetch(verifier.metadata.token_endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        tokenInfo = await response.text();
      } catch (error) {
        app.log.error({ err: error, uri: verifier.metadata.token_endpoint }, 'OpenID provider unreachable');
        throw new KintoError('BACKEND', { message: 'The identity provider could not be reached' });
      }
      // The provider's answer is forwarded to the client, base64-encoded (e.g. `callback=http://app/#tokens=`).
      const encoded = Buffer.from(tokenInfo, 'utf8').toString('base64');
      // `urllib.parse.quote`: `/` stays as is.
      return redirect(reply, callback + encodeURIComponent(encoded).replace(/%2F/g, '/'));
    });

    if (names.length === 0) return; // Kinto adds neither the capability nor the profile without a policy.
    core.capabilities.add('openid', {
      description: 'OpenID connect support.',
      url: 'http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html',
      providers: [...verifiers.values()].map((verifier) => ({
        name: verifier.options.name,
        issuer: verifier.metadata.issuer,
        auth_path: `/openid/${verifier.options.name}/login`,
        client_id: verifier.options.clientId,
        audience: verifier.options.audience,
        header_type: verifier.options.headerType,
        userinfo_endpoint: verifier.metadata.userinfo_endpoint,
      })),
    });
    core.userInfo.add('openid', async (identity) => {
      const colon = identity.userId?.indexOf(':') ?? -1;
      const verifier = colon > 0 ? verifiers.get(identity.userId!.slice(0, colon)) : undefined;
      const profile = verifier?.profile(identity.userId!.slice(colon + 1));
      return { profile: profile ?? {} };
    });
  },
});
