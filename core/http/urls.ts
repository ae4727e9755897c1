import type { FastifyRequest } from 'fastify';
import type { Settings } from '../settings/load.ts';

/** Absolute URL under the API prefix; `http_scheme`/`http_host` force the public origin. */
export function absoluteUrl(settings: Settings, request: FastifyRequest, pathWithQuery: string): string {
  const scheme = settings.str('http_scheme', '') || request.protocol;
  let host = settings.str('http_host', '') || request.headers.host || 'localhost';
  // Like WebOb, the scheme's default port is left out (`localhost:80` → `localhost`).
  const defaultPort = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : null;
  if (defaultPort && host.endsWith(defaultPort)) host = host.slice(0, -defaultPort.length);
  return `${scheme}://${host}/v1${pathWithQuery}`;
}

/** Request path without the `/v1` prefix and without the querystring. */
export function apiPath(request: FastifyRequest): string {
  const path = request.url.split('?')[0];
  return path.replace(/^\/v1(?=\/|$)/, '') || '/';
}
