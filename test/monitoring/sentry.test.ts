import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as Sentry from '@sentry/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { ALICE, BASE_INI, client } from '../helpers/app.ts';
import { testBackends } from '../helpers/test-backends.ts';

interface SentryEvent {
  level?: string;
  message?: string | { formatted?: string };
  environment?: string;
  exception?: { values: { type: string; value: string }[] };
  request?: { method?: string; url?: string; headers?: Record<string, string> };
  tags?: Record<string, string>;
}

/** A stand-in for Sentry's ingestion endpoint: the events of every envelope POSTed to it. */
class Ingestion {
  readonly events: SentryEvent[] = [];
  readonly paths: string[] = [];
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.paths.push(request.url ?? '');
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      this.collect(body.toString('utf8'));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  /** Envelope: a header line, then for each item its header line and its payload line. */
  private collect(envelope: string): void {
    const lines = envelope.split('\n');
    for (let i = 1; i < lines.length - 1; i += 2) {
      const item = JSON.parse(lines[i]) as { type?: string };
      if (item.type === 'event') this.events.push(JSON.parse(lines[i + 1]) as SentryEvent);
    }
  }

  async start(): Promise<number> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return (this.server.address() as AddressInfo).port;
  }

  /** Error events (the start-up message is an `info` event, with a stack trace in this SDK). */
  errors(): SentryEvent[] {
    return this.events.filter((event) => event.level === 'error');
  }

  close(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}

const ingestion = new Ingestion();
let app: FastifyInstance;

beforeAll(async () => {
  const port = await ingestion.start();
  const ini = `${BASE_INI}kinto.sentry_dsn = http://publickey@127.0.0.1:${port}/1\nkinto.sentry_env = kinto-tests\n`;
  app = await buildApp(loadConfig({ iniText: ini }), { backends: await testBackends() });
  // An in-transaction listener that fails unexpectedly: the request becomes a 500.
  app.kinto.events.subscribe({
    phase: 'transaction',
    resources: ['bucket'],
    handle: async () => {
      throw new Error('listener exploded');
    },
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await Sentry.close(2000);
  await ingestion.close();
});

describe('sentry', () => {
  it('reports an unexpected error (500) but not a client error (404)', async () => {
    const api = client(app, ALICE);
    expect((await api.get('/nowhere')).statusCode).toBe(404);
    expect((await api.get('/buckets/missing/collections/c/records/r')).statusCode).toBe(403);
    const failed = await api.put('/buckets/b', {}, { 'x-request-id': 'sentry-rid' });
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toMatchObject({ errno: 999 });

    await Sentry.flush(5000);
    const errors = ingestion.errors();
    expect(errors).toHaveLength(1);
    const [event] = errors;
    expect(event.exception!.values.at(-1)).toMatchObject({ type: 'Error', value: 'listener exploded' });
    expect(event.environment).toBe('kinto-tests');
    expect(event.request).toMatchObject({ method: 'PUT', url: '/v1/buckets/b' });
    expect(event.tags).toMatchObject({ rid: 'sentry-rid', endpoint: 'bucket-object' });
    expect(JSON.stringify(event)).not.toContain(ALICE.authorization.split(' ')[1]);
    expect(ingestion.paths.every((path) => path.startsWith('/api/1/envelope/'))).toBe(true);
  });

  it('announces the start of the server, as Kinto does', () => {
    const messages = ingestion.events.map((event) => (typeof event.message === 'string' ? event.message : event.message?.formatted));
    expect(messages).toContainEqual(expect.stringMatching(/^Running kinto \S+\.$/));
  });
});
