/**
 * What a read-only public instance behind a CDN or a caching proxy needs beyond the cache
 * headers of each resource (core/resource/cache-lifetime.ts).
 */
import type { FastifyInstance } from 'fastify';
import { methodNotAllowed } from '../errors.ts';
import type { Settings } from '../settings/load.ts';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `readonly`: every write is refused with Kinto's 405, whatever route it targets (batch,
 * plugins' own routes), as Kinto's `restrict_http_methods_if_readonly` does.
 */
export function registerReadonlyGuard(app: FastifyInstance, settings: Settings): void {
  if (!settings.bool('readonly', false)) return;
  app.addHook('onRequest', async (request) => {
    if (!READ_METHODS.has(request.method)) throw methodNotAllowed();
  });
}

function mergeVary(current: unknown, names: readonly string[]): string {
  const present = String(current ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const known = new Set(present.map((name) => name.toLowerCase()));
  return [...present, ...names.filter((name) => !known.has(name.toLowerCase()))].join(', ');
}

/**
 * `Vary` names the request headers an answer depends on, so that a shared cache never hands
 * one client's answer to another: the user (`Authorization`: permissions, the hello `user`)
 * and, with CORS enabled, `Origin` (the `Access-Control-*` headers).
 */
export function registerVary(app: FastifyInstance, settings: Settings): void {
  const names = settings.list('cors_origins').length ? ['Authorization', 'Origin'] : ['Authorization'];
  const alone = names.join(', ');
  app.addHook('onSend', (_request, reply, payload, done) => {
    const current = reply.getHeader('Vary');
    reply.header('Vary', current === undefined ? alone : mergeVary(current, names));
    done(null, payload);
  });
}
