import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { appIni, basic } from '../../../test/helpers/app.ts';
import { testBackends } from '../../../test/helpers/test-backends.ts';

export const ALICE = basic('alice', 'secret');
export const BOB = basic('bob', 'secret');

export function attachmentIni(settings: Record<string, string>): string {
  return appIni({
    'kinto.userid_hmac_secret': 'attachment-test',
    'kinto.includes': 'kinto_attachment',
    'multiauth.policies': 'basicauth',
    ...settings,
  });
}

export async function makeApp(settings: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ iniText: attachmentIni(settings), env: {} }), { backends: await testBackends() });
  await app.ready();
  return app;
}

export async function startError(settings: Record<string, string>): Promise<string> {
  try {
    const app = await makeApp(settings);
    await app.close();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('the server started');
}

export interface FilePart {
  readonly filename: string;
  readonly content: string | Buffer;
  readonly type?: string;
}

/** A multipart/form-data body as a browser's FormData sends it. */
export async function formBody(fields: Record<string, string | FilePart>): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value.content], { type: value.type ?? 'application/octet-stream' }), value.filename);
  }
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { payload: Buffer.from(await request.arrayBuffer()), headers: { 'content-type': request.headers.get('content-type')! } };
}

export const RECORD = '/v1/buckets/b/collections/c/records/r1';

export async function upload(
  app: FastifyInstance,
  fields: Record<string, string | FilePart>,
  options: { url?: string; headers?: Record<string, string> } = {},
) {
  const body = await formBody(fields);
  return app.inject({
    method: 'POST',
    url: `${options.url ?? RECORD}/attachment`,
    payload: body.payload,
    headers: { ...ALICE, ...body.headers, ...options.headers },
  });
}

/** Alice's bucket `b` with collection `c`. */
export async function createCollection(app: FastifyInstance, collection: Record<string, unknown> = {}): Promise<void> {
  for (const [url, payload] of [
    ['/v1/buckets/b', {}],
    ['/v1/buckets/b/collections/c', { data: collection }],
  ] as const) {
    const response = await app.inject({ method: 'PUT', url, payload, headers: ALICE });
    if (response.statusCode >= 300) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  }
}
