/**
 * Hawk request authentication (the `hawk.1` scheme Autograph checks), as the Python
 * `requests_hawk`/`mohawk` client sends it: a MAC over the method, path, host, port,
 * timestamp, nonce and a hash of the JSON payload.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface HawkRequest {
  id: string;
  key: string;
  method: string;
  url: URL;
  contentType: string;
  payload: string;
  /** Seconds since the epoch; now by default. */
  timestamp?: number;
  nonce?: string;
}

export function hawkPayloadHash(contentType: string, payload: string): string {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return createHash('sha256').update(`hawk.1.payload\n${type}\n${payload}\n`, 'utf8').digest('base64');
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

export function hawkHeader(request: HawkRequest): string {
  const ts = String(request.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = request.nonce ?? randomBytes(6).toString('base64url');
  const hash = hawkPayloadHash(request.contentType, request.payload);
  const normalized = [
    'hawk.1.header',
    ts,
    nonce,
    request.method.toUpperCase(),
    `${request.url.pathname}${request.url.search}`,
    request.url.hostname.toLowerCase(),
    defaultPort(request.url),
    hash,
    '',
    '',
  ].join('\n');
  const mac = createHmac('sha256', request.key).update(normalized, 'utf8').digest('base64');
  return `Hawk id="${request.id}", ts="${ts}", nonce="${nonce}", hash="${hash}", mac="${mac}"`;
}
