import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../app.ts';
import { CliError, loadCliConfig } from '../common.ts';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/**
 * The Kinto HTTP API, reached over the network (`--server`, as kinto-wizard) or in this
 * process from the INI file (no server needed). `target` is a path under `/v1` or a URL
 * the server gave (`Next-Page`).
 */
export interface Api {
  request(method: string, target: string, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiOptions {
  server?: string;
  iniPath?: string;
  /** `user:password`, sent as Basic authentication. */
  auth?: string;
}

function authorization(auth: string | undefined): Record<string, string> {
  if (!auth) return {};
  if (!auth.includes(':')) throw new CliError("--auth must be 'user:password'", 2);
  return { authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function remoteApi(server: string, headers: Record<string, string>): Api {
  const root = server.replace(/\/+$/, '');
  return {
    async request(method, target, body) {
      const url = target.startsWith('/') ? `${root}${target}` : target;
      const response = await fetch(url, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: parseJson(await response.text()),
      };
    },
    async close() {},
  };
}

/** A path under `/v1`, or a URL the server wrote (its public host may not be this one). */
function localPath(target: string): string {
  if (target.startsWith('/')) return `/v1${target}`;
  const url = new URL(target);
  return `${url.pathname}${url.search}`;
}

function localApi(app: FastifyInstance, headers: Record<string, string>): Api {
  return {
    async request(method, target, body) {
      const response = await app.inject({
        method: method as 'GET',
        url: localPath(target),
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      const responseHeaders = Object.entries(response.headers).map(([name, value]) => [name, value === undefined ? undefined : String(value)]);
      return { status: response.statusCode, headers: Object.fromEntries(responseHeaders), body: parseJson(response.body) };
    },
    close: () => app.close(),
  };
}

export async function openApi(options: ApiOptions): Promise<Api> {
  const headers = authorization(options.auth);
  if (options.server) return remoteApi(options.server, headers);
  const app = await buildApp(loadCliConfig(options.iniPath));
  await app.ready();
  return localApi(app, headers);
}

/** Fails with the server's error message unless the status is expected. */
export function expectStatus(response: ApiResponse, expected: number[], what: string): void {
  if (expected.includes(response.status)) return;
  const body = response.body as { message?: string } | null;
  throw new CliError(`${what}: HTTP ${response.status} ${body?.message ?? JSON.stringify(response.body)}`);
}

/** Every page of a plural endpoint, following `Next-Page`. */
export async function listAll(api: Api, path: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let target: string | undefined = path;
  while (target) {
    const response = await api.request('GET', target);
    expectStatus(response, [200], `GET ${path}`);
    items.push(...(response.body as { data: Record<string, unknown>[] }).data);
    target = response.headers['next-page'];
  }
  return items;
}
