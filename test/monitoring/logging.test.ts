import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const CREDENTIALS = Buffer.from('alice:s3cret-password').toString('base64');
const AUTH = { authorization: `Basic ${CREDENTIALS}` };

const INI = `[app:main]
use = egg:kinto
kinto.userid_hmac_secret = logging-test
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory
`;

interface MozlogRecord {
  Timestamp: number;
  Type: string;
  Logger: string;
  Hostname: string;
  EnvVersion: string;
  Severity: number;
  Pid: number;
  Fields: Record<string, unknown>;
}

/** `kinto start` in a child process, with its stdout lines as they come. */
class Server {
  readonly lines: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(ini: string, env: Record<string, string>, port: number) {
    const dir = mkdtempSync(join(tmpdir(), 'kinto-logging-'));
    writeFileSync(join(dir, 'kinto.ini'), ini);
    const args = ['core/cli.ts', 'start', '--ini', join(dir, 'kinto.ini'), '--host', '127.0.0.1', '--port', String(port)];
    const cleanEnv = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(LOG_|KINTO_|SENTRY_|PORT$)/.test(name)),
    ) as Record<string, string>;
    this.child = spawn(NODE, args, { cwd: ROOT, env: { ...cleanEnv, ...env } });
    let pending = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const complete = pending.split('\n');
      pending = complete.pop()!;
      this.lines.push(...complete.filter(Boolean));
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitFor(predicate: (lines: string[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.lines)) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`Timed out waiting for ${what}.\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      }
      await new Promise((done) => setTimeout(done, 25));
    }
  }

  records(): MozlogRecord[] {
    return this.lines.map((line) => JSON.parse(line) as MozlogRecord);
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((done) => {
      this.child.once('exit', () => done());
      this.child.kill('SIGTERM');
    });
  }
}

/** A port nobody listens on, for servers that do not log their address. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

async function untilListening(server: Server, port: number): Promise<string> {
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(`${base}/v1/__lbheartbeat__`);
      return base;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 100));
    }
  }
}

// Each test starts a server process: give it time on a busy machine.
vi.setConfig({ testTimeout: 90_000 });

const summaries = (server: Server, type = 'request.summary') => server.records().filter((r) => r.Type === type);

let server: Server | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('JSON logs (stdout is not a terminal)', () => {
  it('writes one MozLog request.summary per request, and subrequest.summary per batch request', async () => {
    server = new Server(INI, {}, 0);
    await server.waitFor((lines) => lines.some((l) => l.includes('Server listening at')), 'the startup line');
    const startup = server.records().find((r) => String(r.Fields.msg).startsWith('Server listening at'))!;
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(String(startup.Fields.msg))![0];

    await fetch(`${base}/v1/`, { headers: { ...AUTH, 'x-request-id': 'rid-hello', 'user-agent': 'probe/1.0', 'accept-language': 'fr' } });
    await fetch(`${base}/v1/buckets?_limit=1&_sort=-last_modified`, { headers: AUTH });
    await fetch(`${base}/v1/unknown/path`);
    await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', 'x-request-id': 'rid-batch' },
      body: JSON.stringify({ requests: [{ method: 'PUT', path: '/buckets/b' }, { path: '/buckets/missing' }] }),
    });
    await server.waitFor(() => summaries(server!).length >= 4 && summaries(server!, 'subrequest.summary').length >= 2, 'summaries');

    const [hello, listing, notFound, batch] = summaries(server);
    expect(hello).toMatchObject({ Logger: 'kinto', EnvVersion: '2.0', Severity: 6, Pid: server.pid });
    expect(typeof hello.Hostname).toBe('string');
    expect(Math.abs(hello.Timestamp / 1e6 - Date.now())).toBeLessThan(60_000);
    expect(hello.Fields).toMatchObject({
      method: 'GET', path: '/v1/', code: 200, errno: 0, rid: 'rid-hello', agent: 'probe/1.0', lang: 'fr', authn_type: 'basicauth',
    });
    expect(hello.Fields.uid).toMatch(/^[0-9a-f]{64}$/);
    expect(hello.Fields.t).toEqual(expect.any(Number));
    expect(new Date(String(hello.Fields.time)).getTime()).toBeGreaterThan(0);
    expect(hello.Fields).not.toHaveProperty('msg');

    expect(listing.Fields).toMatchObject({ path: '/v1/buckets', querystring: { _limit: '1', _sort: '-last_modified' } });
    // Without X-Request-Id, one is generated.
    expect(listing.Fields.rid).toMatch(/^[0-9a-f-]{36}$/);
    expect(notFound.Fields).toMatchObject({ code: 404, errno: 111, agent: 'node', lang: '*' });
    expect(notFound.Fields).not.toHaveProperty('uid');
    expect(batch.Fields).toMatchObject({ path: '/v1/batch', method: 'POST', code: 200, batch_size: 2, rid: 'rid-batch' });

    const subrequests = summaries(server, 'subrequest.summary');
    expect(subrequests.map((r) => [r.Fields.method, r.Fields.path, r.Fields.code, r.Fields.rid])).toEqual([
      ['PUT', '/v1/buckets/b', 201, 'rid-batch'],
      ['GET', '/v1/buckets/missing', 403, 'rid-batch'],
    ]);
    expect(subrequests[0].Fields.uid).toBe(hello.Fields.uid);

    // Credentials never reach the logs.
    const output = server.lines.join('\n');
    expect(output).not.toContain(CREDENTIALS);
    expect(output).not.toContain('s3cret-password');
    expect(output.toLowerCase()).not.toContain('"authorization"');
  });
});

describe('plain-text logs', () => {
  it('are written when LOG_FORMAT=text (as on a terminal)', async () => {
    server = new Server(INI, { LOG_FORMAT: 'text' }, 0);
    await server.waitFor((lines) => lines.some((l) => l.includes('Server listening at')), 'the startup line');
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(server.lines.find((l) => l.includes('Server listening at'))!)![0];
    await fetch(`${base}/v1/`, { headers: { 'x-request-id': 'text-rid' } });
    await server.waitFor((lines) => lines.some((l) => l.includes('[request.summary]')), 'a summary line');
    const line = server.lines.find((l) => l.includes('[request.summary]'))!;
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO +\[request\.summary\] GET \/v1\/ 200 \(\d+ ms\) .*rid=text-rid/);
    expect(() => JSON.parse(line)).toThrow();
  });
});

describe('log levels', () => {
  it('follow the INI logging sections: a quiet root, a verbose request.summary without credentials', async () => {
    const ini = `${INI}
[loggers]
keys = root, summary

[handlers]
keys = console

[logger_root]
level = WARNING
handlers = console

[logger_summary]
level = DEBUG
handlers = console
qualname = request.summary

[handler_console]
class = StreamHandler
args = (sys.stdout,)
level = NOTSET
`;
    const port = await freePort();
    server = new Server(ini, {}, port);
    const base = await untilListening(server, port);
    await fetch(`${base}/v1/`, { headers: { ...AUTH, cookie: 'session=secret-cookie', 'user-agent': 'probe/2.0' } });
    await server.waitFor(() => summaries(server!).some((r) => r.Fields.path === '/v1/'), 'the hello summary');
    // Info records of other loggers are below the root's WARNING.
    expect(server.lines.some((l) => l.includes('Server listening at'))).toBe(false);
    const hello = summaries(server).find((r) => r.Fields.path === '/v1/')!;
    expect(hello.Fields.headers).toMatchObject({ 'user-agent': 'probe/2.0' });
    expect(hello.Fields.headers).not.toHaveProperty('authorization');
    expect(hello.Fields.headers).not.toHaveProperty('cookie');
    expect(server.lines.join('\n')).not.toContain(CREDENTIALS);
  });

  it('LOG_LEVEL raises the root level: no request summaries at warn', async () => {
    const port = await freePort();
    server = new Server(INI, { LOG_LEVEL: 'warn' }, port);
    const base = await untilListening(server, port);
    await fetch(`${base}/v1/`);
    await fetch(`${base}/v1/__heartbeat__`);
    // The lbheartbeat probes and the two requests are done; give stdout a moment.
    await new Promise((done) => setTimeout(done, 300));
    expect(server.lines.filter((l) => l.includes('summary'))).toEqual([]);
  });
});
