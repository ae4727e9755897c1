/**
 * Log records in Mozilla's MozLog (Dockerflow) shape, produced by pino itself:
 * `{"Timestamp": ns, "Type": logger, "Logger": project, "Hostname", "EnvVersion": "2.0",
 * "Severity": syslog level, "Pid", "Fields": {…, "msg"?}}`, and a plain-text rendering of
 * the same records for terminals.
 */
import { hostname } from 'node:os';
import { format } from 'node:util';
import type { LoggerOptions } from 'pino';
import { SettingsError } from '../settings/ini.ts';

/** pino level → syslog severity (CRITICAL 2, ERROR 3, WARNING 4, INFO 6, DEBUG 7). */
function severity(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

const SEVERITY_NAMES: Record<number, string> = { 2: 'CRITICAL', 3: 'ERROR', 4: 'WARNING', 6: 'INFO', 7: 'DEBUG' };

/** Python logging names (and numbers) and pino names → pino level; null for `NOTSET` (inherit). */
export function pinoLevel(raw: string): string | null {
  const name = raw.trim().toLowerCase();
  const aliases: Record<string, string | null> = {
    notset: null, '0': null, critical: 'fatal', '50': 'fatal', warning: 'warn', '30': 'warn',
    '40': 'error', '20': 'info', '10': 'debug',
  };
  if (name in aliases) return aliases[name];
  if (['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(name)) return name;
  throw new SettingsError(`Unknown log level '${raw}'`);
}

const MOZLOG_BASE_KEYS = new Set(['Logger', 'Hostname', 'EnvVersion', 'Pid']);

/** Errors as Dockerflow writes them: `error` (the exception) and `traceback`; requests without headers. */
function safeFields(fields: Record<string, unknown>): Record<string, unknown> {
  const { err, req, res, ...rest } = fields;
  if (err instanceof Error) {
    rest.error = `${err.name}: ${err.message}`;
    rest.traceback = err.stack ?? '';
  } else if (err !== undefined) rest.error = String(err);
  // fastify may log its request/reply objects: keep what identifies them, never their headers.
  if (req && typeof req === 'object') rest.req = { method: (req as { method?: unknown }).method, url: (req as { url?: unknown }).url };
  if (res && typeof res === 'object') rest.res = { statusCode: (res as { statusCode?: unknown }).statusCode };
  return rest;
}

/**
 * pino writes a message outside the record's fields; MozLog keeps it in `Fields.msg`, and
 * only when it is not empty. Folding it into the logged object keeps pino from writing it.
 */
function foldMessage(args: unknown[]): Record<string, unknown> {
  const [first, ...rest] = args;
  let fields: Record<string, unknown>;
  let messageArgs: unknown[];
  if (first instanceof Error) [fields, messageArgs] = [{ err: first }, rest];
  else if (typeof first === 'object' && first !== null) [fields, messageArgs] = [{ ...first }, rest];
  else [fields, messageArgs] = [{}, args];
  let message = typeof fields.msg === 'string' ? fields.msg : '';
  if (messageArgs.length) message = format(...messageArgs);
  else if (!message && fields.err instanceof Error) message = fields.err.message;
  // Dockerflow drops empty and JSON-looking messages.
  if (message && !(message.startsWith('{') && message.endsWith('}'))) fields.msg = message;
  else delete fields.msg;
  return fields;
}

/** Per-record fields added by a logger (the request id of request loggers). */
export type RecordContext = (logger: object) => Record<string, unknown>;

export function mozlogOptions(options: { loggerName: string; defaultType: string; context?: RecordContext }): LoggerOptions {
  return {
    base: { Logger: options.loggerName, Hostname: hostname(), EnvVersion: '2.0', Pid: process.pid },
    // Nanoseconds exceed a double's precision: written as text, like Python's int.
    timestamp: () => `,"Timestamp":${Date.now()}000000`,
    messageKey: 'msg',
    mixin: options.context ? (_object, _level, logger) => options.context!(logger) : undefined,
    formatters: {
      level: (_label, number) => ({ Severity: severity(number) }),
      // Child bindings (fastify's request id) would land beside `Fields`: only MozLog's own keys stay.
      bindings: (bindings) => Object.fromEntries(Object.entries(bindings).filter(([key]) => MOZLOG_BASE_KEYS.has(key))),
      log: (record) => {
        const { Type, ...fields } = record;
        return { Type: typeof Type === 'string' ? Type : options.defaultType, Fields: safeFields(fields) };
      },
    },
    hooks: {
      logMethod(args, method) {
        method.call(this, foldMessage(args as unknown[]) as never);
      },
    },
  };
}

function renderValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const SUMMARY_KEYS = new Set(['method', 'path', 'code', 't', 'msg', 'traceback']);

/** One MozLog line as a human reads it: `12:00:01.123 INFO [request.summary] GET /v1/ 200 (3 ms) rid=…`. */
export function renderText(line: string): string {
  let record: { Timestamp?: number; Severity?: number; Type?: string; Fields?: Record<string, unknown> };
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  const fields = record.Fields ?? {};
  const time = new Date(Math.floor(Number(record.Timestamp ?? 0) / 1e6)).toISOString().slice(11, 23);
  const level = (SEVERITY_NAMES[record.Severity ?? 7] ?? 'DEBUG').padEnd(8);
  const head = 'code' in fields ? `${fields.method} ${fields.path} ${fields.code} (${fields.t} ms)` : String(fields.msg ?? '');
  const extra = Object.entries(fields)
    .filter(([key, value]) => !SUMMARY_KEYS.has(key) && value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${renderValue(value)}`);
  const traceback = typeof fields.traceback === 'string' ? `\n${fields.traceback}` : '';
  return `${time} ${level} [${record.Type ?? ''}] ${[head, ...extra].filter(Boolean).join(' ')}${traceback}\n`;
}

/** A pino destination writing the text rendering of each record. */
export function textDestination(out: { write(chunk: string): unknown }): { write(line: string): void } {
  return { write: (line) => void out.write(renderText(line)) };
}
