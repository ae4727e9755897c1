import type { FastifyInstance } from 'fastify';
import type { Settings } from '../settings/load.ts';
import { KintoError, MESSAGES, methodNotAllowed } from '../errors.ts';

function redirectCacheHeaders(ttl: number): Record<string, string> {
  if (ttl < 0) return {};
  if (ttl === 0) return { 'Cache-Control': 'no-cache' };
  return { 'Cache-Control': `max-age=${ttl}`, Expires: new Date(Date.now() + ttl * 1000).toUTCString() };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

interface KnownRoute {
  pattern: RegExp;
  methods: string[];
}

/** Every route registered after this call, as a path pattern (`:param` = one non-empty segment). */
function collectRoutes(app: FastifyInstance): KnownRoute[] {
  const routes: KnownRoute[] = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    routes.push({ pattern: new RegExp(`^${source}$`), methods: [route.method].flat() });
  });
  return routes;
}

/**
 * Unknown URLs: redirect to the version prefix or without the trailing slash when Kinto
 * would, else 404 (errno 116 outside `/v1`, 111 inside).
 */
export function registerNotFound(app: FastifyInstance, settings: Settings): void {
  const routes = collectRoutes(app);
  app.setNotFoundHandler(async (request, reply) => {
    const [path, ...rest] = request.url.split('?');
    const query = rest.length ? `?${rest.join('?')}` : '';
    // A known path with another method is cornice's 405, not a 404.
    const known = routes.filter((route) => route.pattern.test(path));
    if (known.length && !known.some((route) => route.methods.includes(request.method))) throw methodNotAllowed();
    const versioned = /^\/v\d+(\/|$)/.test(path);
    // Kinto's redirect route excludes CR and LF (no header injection through Location).
    if (!versioned && !/[\r\n]/.test(safeDecode(path)) && settings.bool('version_prefix_redirect_enabled', true)) {
      const ttl = settings.int('version_prefix_redirect_ttl_seconds', -1);
      return reply.code(307).headers({ Location: `/v1${path}${query}`, ...redirectCacheHeaders(ttl) }).send();
    }
    if (path === '/v1') return reply.code(307).header('Location', `/v1/${query}`).send();
    if (path.length > 4 && path.endsWith('/') && settings.bool('trailing_slash_redirect_enabled', true)) {
      const ttl = settings.int('trailing_slash_redirect_ttl_seconds', 3600);
      return reply.code(307).headers({ Location: `${path.replace(/\/+$/, '')}${query}`, ...redirectCacheHeaders(ttl) }).send();
    }
    const error = /^\/v1(\/|$)/.test(path)
      ? new KintoError('MISSING_RESOURCE', { message: MESSAGES.notFound })
      : new KintoError('VERSION_NOT_AVAILABLE', { message: MESSAGES.versionNotAvailable });
    return reply.code(error.status).send(error.toBody());
  });
}
