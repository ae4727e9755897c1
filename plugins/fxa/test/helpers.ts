import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { appIni } from '../../../test/helpers/app.ts';

export const SECRET = 'fxa-test-secret';

export function fxaIni(settings: Record<string, string>): string {
  return appIni({
    'kinto.userid_hmac_secret': SECRET,
    'kinto.includes': 'kinto_fxa',
    'multiauth.policies': 'fxa',
    'multiauth.policy.fxa.use': 'kinto_fxa.authentication.FxAOAuthAuthenticationPolicy',
    ...settings,
  });
}

/** An app on the memory backends; an empty value removes a default setting. */
export async function makeFxaApp(settings: Record<string, string>, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: fxaIni(settings), env }));
  await app.ready();
  return app;
}

export const startError = async (settings: Record<string, string>): Promise<string> => {
  try {
    const app = await makeFxaApp(settings);
    await app.close();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('the server started');
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });

/** The user id of the hello view for these headers (null when anonymous). */
export async function whoami(app: FastifyInstance, headers: Record<string, string>): Promise<string | null> {
  const hello = await get(app, '/v1/', headers);
  return hello.json().user?.id ?? null;
}

export const hmac = (message: string) => createHmac('sha256', SECRET).update(message).digest('hex');
