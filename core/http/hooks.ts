import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Settings } from '../settings/load.ts';
import { KintoError, MESSAGES } from '../errors.ts';
import { checkQueryEncoding } from './query-encoding.ts';

const DEFAULT_EXPOSED = ['Backoff', 'Retry-After', 'Alert', 'Content-Length', 'Content-Type'];
const LIST_EXPOSED = ['Next-Page', 'Last-Modified', 'ETag', 'Cache-Control', 'Expires', 'Pragma'];
const HEAD_EXPOSED = ['Total-Objects', 'Total-Records'];
const OBJECT_EXPOSED = ['Last-Modified', 'ETag', 'Cache-Control', 'Expires', 'Pragma'];
const CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; ";

/** fnmatch-style origin patterns (`*` and `?`), as cornice compares them. */
function originAllowed(patterns: string[], origin: string): boolean {
  return patterns.some((pattern) => {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return re.test(origin);
  });
}

/** Which Kinto endpoint a route serves, set in its `config` (CORS exposes headers per endpoint). */
export type CorsEndpoint = 'plural' | 'object';

function exposedHeaders(request: FastifyRequest): string {
  const headers = [...DEFAULT_EXPOSED];
  const config = request.routeOptions?.config as { corsEndpoint?: CorsEndpoint } | undefined;
  const read = request.method === 'GET' || request.method === 'HEAD';
  if (read && config?.corsEndpoint === 'plural') headers.push(...LIST_EXPOSED);
  if (read && config?.corsEndpoint === 'object') headers.push(...OBJECT_EXPOSED);
  if (request.method === 'HEAD' && config?.corsEndpoint === 'plural') headers.push(...HEAD_EXPOSED);
  return headers.join(', ');
}

/** End of service: a future `eos` date warns (soft-eol); a past one answers 410 (hard-eol). */
function endOfService(settings: Settings): { alert: string; gone: boolean } | null {
  const eos = settings.get('eos');
  if (!eos) return null;
  const gone = new Date(String(eos)).getTime() <= Date.now();
  const alert = JSON.stringify({
    code: gone ? 'hard-eol' : 'soft-eol',
    message: settings.str('eos_message', '') || null,
    url: settings.str('eos_url', '') || settings.str('project_docs', ''),
  });
  return { alert, gone };
}

function preflight(settings: Settings, request: FastifyRequest, reply: FastifyReply, origins: string[]): FastifyReply {
  const origin = request.headers.origin;
  const method = request.headers['access-control-request-method'];
  if (!origin || !method || !originAllowed(origins, origin)) {
    return reply.code(400).send(
      new KintoError('INVALID_PARAMETERS', { message: 'CORS preflight request is missing or not allowed' }).toBody(),
    );
  }
  reply.header('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
  reply.header('Access-Control-Allow-Methods', 'GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS');
  const requested = request.headers['access-control-request-headers'];
  if (requested) reply.header('Access-Control-Allow-Headers', requested);
  const maxAge = settings.get('cors_max_age_seconds');
  if (maxAge !== null && maxAge !== undefined && maxAge !== '') reply.header('Access-Control-Max-Age', String(maxAge));
  return reply.code(200).send();
}

/** CORS, security headers, Backoff and the soft end-of-service alert of one response. */
export function applyResponseHeaders(settings: Settings, request: FastifyRequest, reply: FastifyReply): void {
  const origins = settings.list('cors_origins');
  const origin = request.headers.origin;
  if (origin && originAllowed(origins, origin)) {
    reply.header('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
    reply.header('Access-Control-Expose-Headers', exposedHeaders(request));
  }
  if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', CSP);
  reply.header('X-Content-Type-Options', 'nosniff');
  const backoff = settings.get('backoff');
  if (backoff !== null && backoff !== undefined && backoff !== '') {
    const percentage = settings.get('backoff_percentage');
    if (percentage === null || percentage === undefined || Math.random() < Number(percentage) / 100) {
      reply.header('Backoff', String(backoff));
    }
  }
  const eos = endOfService(settings);
  if (eos && !eos.gone) reply.header('Alert', eos.alert);
}

/** CORS, security headers, Backoff and end-of-service alerts on every response. */
export function registerGlobalHooks(app: FastifyInstance, settings: Settings): void {
  const origins = settings.list('cors_origins');
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'OPTIONS') return preflight(settings, request, reply, origins);
    const eos = endOfService(settings);
    if (eos?.gone) {
      reply.header('Alert', eos.alert);
      const error = new KintoError('SERVICE_DEPRECATED', { message: MESSAGES.deprecated });
      return reply.code(410).send(error.toBody());
    }
    checkQueryEncoding(request.url);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    applyResponseHeaders(settings, request, reply);
    return payload;
  });
}
