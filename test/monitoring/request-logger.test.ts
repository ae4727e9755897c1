/**
 * Request loggers (core/http/logging.ts): a pino child is made only when a request logs, and
 * its records carry the request id (Dockerflow's `rid`) in MozLog's fields.
 */
import Fastify from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { loggerOptions, requestLoggingOptions } from '../../core/http/logging.ts';
import { loadConfig } from '../../core/settings/load.ts';

const INI = `[app:main]
kinto.userid_hmac_secret = request-logger-test
`;

function appWithLogs(level: string) {
  const lines: string[] = [];
  const stdout = { isTTY: false, write: (chunk: string) => lines.push(chunk) };
  const options = loggerOptions(loadConfig({ iniText: INI, env: {} }), { LOG_LEVEL: level, LOG_FORMAT: 'json' }, stdout);
  const app = Fastify({ logger: { ...(options as object), stream: stdout }, ...requestLoggingOptions() });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/loud', async (request) => {
    request.log.warn({ reason: 'probe' }, 'something odd');
    request.log.debug('below the level');
    return { ok: true };
  });
  const records = () => lines.map((line) => JSON.parse(line) as { Severity: number; Fields: Record<string, unknown> });
  return { app, records };
}

describe('request loggers', () => {
  it('write the request id in the fields of every record a request logs, at the levels enabled', async () => {
    const { app, records } = appWithLogs('warn');
    await app.inject({ method: 'GET', url: '/loud', headers: { 'x-request-id': 'rid-loud' } });
    await app.inject({ method: 'GET', url: '/loud' });
    const logged = records().filter((record) => record.Fields.msg === 'something odd');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ Severity: 4, Fields: { reason: 'probe', rid: 'rid-loud' } });
    expect(logged[1].Fields.rid).toMatch(/^[0-9a-f-]{36}$/);
    expect(records().some((record) => record.Fields.msg === 'below the level')).toBe(false);
    await app.close();
  });

  it('make no pino child for a request that logs nothing', async () => {
    const { app } = appWithLogs('warn');
    await app.ready();
    const child = vi.spyOn(Object.getPrototypeOf(app.log) as { child: () => unknown }, 'child');
    await app.inject({ method: 'GET', url: '/quiet' });
    expect(child).not.toHaveBeenCalled();
    await app.inject({ method: 'GET', url: '/loud' });
    expect(child).toHaveBeenCalledTimes(1);
    child.mockRestore();
    await app.close();
  });
});
