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
function endOfService(settings: Settings): (() => { alert: string; gone: boolean }) | null {
  const eos = settings.get('eos');
  if (!eos) return null;
  const at = new Date(String(eos)).getTime();
  const alertOf = (code: string) =>
    JSON.stringify({
      code,
      message: settings.str('eos_message', '') || null,
      url: settings.str('eos_url', '') || settings.str('project_docs', ''),
    });
  const soft = { alert: alertOf('soft-eol'), gone: false };
  const hard = { alert: alertOf('hard-eol'), gone: true };
  return () => (at <= Date.now() ? hard : soft);
}

/** What every response's headers depend on, read once (settings are frozen at start-up). */
interface ResponseHeaderSettings {
  readonly origins: string[];
  readonly backoff: string | null;
  readonly backoffPercentage: number | null;
  readonly eos: (() => { alert: string; gone: boolean }) | null;
}

function responseHeaderSettings(settings: Settings): ResponseHeaderSettings {
  const backoff = settings.get('backoff');
  const percentage = settings.get('backoff_percentage');
  return {
    origins: settings.list('cors_origins'),
    backoff: backoff === null || backoff === undefined || backoff === '' ? null : String(backoff),
    backoffPercentage: percentage === null || percentage === undefined ? null : Number(percentage),
    eos: endOfService(settings),
  };
}

const headerSettings = new WeakMap<Settings, ResponseHeaderSettings>();

function headerSettingsOf(settings: Settings): ResponseHeaderSettings {
  let known = headerSettings.get(settings);
  if (!known) {
    known = responseHeaderSettings(settings);
    headerSettings.set(settings, known);
  }
  return known;
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
  const { origins, backoff, backoffPercentage, eos } = headerSettingsOf(settings);
  const origin = request.headers.origin;
  if (origin && originAllowed(origins, origin)) {
    reply.header('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
    reply.header('Access-Control-Expose-Headers', exposedHeaders(request));
  }
  if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', CSP);
  reply.header('X-Content-Type-Options', 'nosniff');
  if (backoff !== null && (backoffPercentage === null || Math.random() < backoffPercentage / 100)) {
    reply.header('Backoff', backoff);
  }
  const end = eos?.();
  if (end && !end.gone) reply.header('Alert', end.alert);
}

/** CORS, security headers, Backoff and end-of-service alerts on every response. */
export function registerGlobalHooks(app: FastifyInstance, settings: Settings): void {
  const { origins, eos } = headerSettingsOf(settings);
  // Callback hooks: every request runs them, and an async hook costs a promise and its ticks.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'OPTIONS') {
      preflight(settings, request, reply, origins);
      return;
    }
    const end = eos?.();
    if (end?.gone) {
      reply.header('Alert', end.alert);
      const error = new KintoError('SERVICE_DEPRECATED', { message: MESSAGES.deprecated });
      reply.code(410).send(error.toBody());
      return;
    }
    try {
      checkQueryEncoding(request.url);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    applyResponseHeaders(settings, request, reply);
    done(null, payload);
  });
}
