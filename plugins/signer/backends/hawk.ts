/**
 * Hawk request authentication (the `hawk.1` scheme Autograph checks), as the Python
 * `requests_hawk`/`mohawk` client sends it: a MAC over the method, path, host, port,
 * timestamp, nonce, a hash of the JSON payload and the optional `ext` data.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface HawkRequest {
  id: string;
  key: string;
  method: string;
  url: URL;
  /** Without a payload, no `hash` is sent (Hawk's payload validation is optional). */
  contentType?: string;
  payload?: string;
  /** Application data covered by the MAC (Autograph's clients send none). */
  ext?: string;
  /** Seconds since the epoch; now by default. */
  timestamp?: number;
  nonce?: string;
}

/** The request fields the MAC covers, in the order of Hawk's normalized string. */
export interface HawkArtifacts {
  ts: string;
  nonce: string;
  method: string;
  /** Path and query, as sent on the request line. */
  resource: string;
  host: string;
  port: string;
  /** The payload hash, '' when the payload is not validated. */
  hash: string;
  ext: string;
}

export function hawkPayloadHash(contentType: string, payload: string): string {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return createHash('sha256').update(`hawk.1.payload\n${type}\n${payload}\n`, 'utf8').digest('base64');
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** Hawk's `generateNormalizedString('header', ...)`: ext escapes `\` and newlines so it stays one line. */
export function hawkNormalizedString(artifacts: HawkArtifacts): string {
  const ext = artifacts.ext.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
  const { ts, nonce, method, resource, host, port, hash } = artifacts;
  return ['hawk.1.header', ts, nonce, method.toUpperCase(), resource, host.toLowerCase(), port, hash, ext, ''].join('\n');
}

export function hawkMac(key: string, artifacts: HawkArtifacts): string {
  return createHmac('sha256', key).update(hawkNormalizedString(artifacts), 'utf8').digest('base64');
}

/** A header attribute value: Hawk's `escapeHeaderAttribute`. */
const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

export function hawkHeader(request: HawkRequest): string {
  const artifacts: HawkArtifacts = {
    ts: String(request.timestamp ?? Math.floor(Date.now() / 1000)),
    nonce: request.nonce ?? randomBytes(6).toString('base64url'),
    method: request.method,
    resource: `${request.url.pathname}${request.url.search}`,
    host: request.url.hostname,
    port: defaultPort(request.url),
    hash: request.payload === undefined ? '' : hawkPayloadHash(request.contentType ?? '', request.payload),
    ext: request.ext ?? '',
  };
  const fields: [string, string][] = [['id', request.id], ['ts', artifacts.ts], ['nonce', artifacts.nonce]];
  if (artifacts.hash) fields.push(['hash', artifacts.hash]);
  if (artifacts.ext) fields.push(['ext', artifacts.ext]);
  fields.push(['mac', hawkMac(request.key, artifacts)]);
  return `Hawk ${fields.map(([name, value]) => `${name}=${quoted(value)}`).join(', ')}`;
}
