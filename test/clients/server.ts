// Shared pieces for the client compatibility tests: a really listening server and
// the kinto-http client class.
//
// kinto-http's Node build (its package "main") requires optional peers (node-fetch, atob,
// form-data) that are not installed; its ES build (lib/*.js) only uses Node 24 globals
// (fetch, FormData, atob) and is loaded through Vitest's transform, which resolves its
// extensionless relative imports.
import KintoHttp from 'kinto-http/lib/index.js';
import type { FastifyInstance } from 'fastify';
import { makeApp } from '../helpers/app.ts';

/** The type declarations describe a CommonJS default export; at run time the ES build is used. */
export const KintoClient = ((KintoHttp as { default?: unknown }).default ?? KintoHttp) as typeof KintoHttp.default;
export type KintoClientInstance = InstanceType<typeof KintoClient>;

export interface RunningServer {
  app: FastifyInstance;
  /** The server root URL including the version prefix, e.g. http://127.0.0.1:1234/v1 */
  remote: string;
}

/** Builds the app on memory backends and listens on a random local port. */
export async function startServer(extraIni = ''): Promise<RunningServer> {
  const app = await makeApp(extraIni);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return { app, remote: `http://127.0.0.1:${address.port}/v1` };
}

export function basicAuth(user: string, password = 'secret'): Record<string, string> {
  return { Authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

export interface ClientError {
  message: string;
  response: Response;
  data?: Record<string, unknown> & { details?: { existing?: Record<string, unknown> } };
}

/** Awaits an operation that must fail and returns the client's error (kinto-http ServerResponse). */
export async function failure(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    return error as ClientError;
  }
  throw new Error('expected the request to fail');
}
