/**
 * Logging as Kinto does it in production: MozLog JSON lines on stdout (plain text on a
 * terminal), and one `request.summary` record per request (`subrequest.summary` for each
 * request of a batch). Credentials never reach the logs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { KintoCore } from '../context.ts';
import type { LoadedConfig } from '../settings/load.ts';
import { mozlogOptions, pinoLevel, textDestination } from './log-format.ts';
import { currentBatchParent, requestUser } from './request-context.ts';

const SUMMARY_LOGGER = 'request.summary';
const SUBREQUEST_LOGGER = 'subrequest.summary';
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const MAX_REQUEST_ID_LENGTH = 200;

const PINO_ORDER = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The stricter of two pino levels. */
function stricter(a: string, b: string): string {
  return PINO_ORDER.indexOf(a) >= PINO_ORDER.indexOf(b) ? a : b;
}

/**
 * The root level of the INI `[logger_root]` section, bounded by the most permissive
 * handler (a record must pass both in Python's logging); null without logging sections.
 */
export function iniRootLevel(config: LoadedConfig): string | null {
  const logging = config.logging;
  if (!logging?.level) return null;
  const handlers = Object.values(logging.handlers ?? {});
  if (!handlers.length) return logging.level;
  const mostPermissive = handlers.reduce((a, b) => (PINO_ORDER.indexOf(a) <= PINO_ORDER.indexOf(b) ? a : b));
  return stricter(logging.level, mostPermissive);
}

export interface Stdout {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

/** `LOG_FORMAT` (env) or `log_format` (INI) when json/text, else text on a terminal and JSON otherwise. */
export function logFormat(config: LoadedConfig, env: Record<string, string | undefined>, stdout: Stdout): 'json' | 'text' {
  const chosen = (env.LOG_FORMAT || config.settings.str('log_format', '')).toLowerCase();
  if (chosen === 'json' || chosen === 'text') return chosen;
  return stdout.isTTY ? 'text' : 'json';
}

/** Request ids by request logger, written in every record of that request (Dockerflow's `rid`). */
const requestIds = new WeakMap<object, string>();

/** The fastify `logger` option of the server: level from `LOG_LEVEL`, else the INI logging sections, else info. */
export function loggerOptions(
  config: LoadedConfig,
  env: Record<string, string | undefined>,
  stdout: Stdout = process.stdout,
): FastifyServerOptions['logger'] {
  const level = (env.LOG_LEVEL && pinoLevel(env.LOG_LEVEL)) || iniRootLevel(config) || 'info';
  const mozlog = mozlogOptions({
    loggerName: config.settings.str('project_name', '') || 'kinto',
    defaultType: 'kinto',
    context: (logger) => {
      const rid = requestIds.get(logger);
      return rid ? { rid } : {};
    },
  });
  const text = logFormat(config, env, stdout) === 'text';
  return { ...mozlog, level, ...(text ? { stream: textDestination(stdout) } : {}) } as FastifyServerOptions['logger'];
}

/** fastify's own per-request lines are replaced by `request.summary`; its error lines stay. */
class SummaryLogController extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(): void {}
}

type Logger = FastifyBaseLogger;
type Bindings = Parameters<Logger['child']>[0];
type ChildOptions = Parameters<Logger['child']>[1];
type Variadic = (...args: unknown[]) => void;

const LOG_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Its log methods are defined below, on its prototype, all alike. */
interface RequestLogger extends Pick<Logger, (typeof LOG_METHODS)[number]> {}

/**
 * A request's logger, made a pino child on its first use: most requests log nothing (fastify's
 * own request lines are off), and a child per request cost ~1% of a GET (bench/README.md #30).
 */
class RequestLogger implements Logger {
  private made: Logger | undefined;
  private readonly parent: Logger;
  private readonly bindings: Bindings;
  private readonly options: ChildOptions;

  constructor(parent: Logger, bindings: Bindings, options: ChildOptions) {
    this.parent = parent;
    this.bindings = bindings;
    this.options = options;
  }

  /** The pino child, made now if it is not yet. */
  logger(): Logger {
    if (this.made === undefined) {
      this.made = this.parent.child(this.bindings, this.options);
      if (typeof this.bindings.rid === 'string') requestIds.set(this.made, this.bindings.rid);
    }
    return this.made;
  }

  get level(): string {
    return this.logger().level;
  }
  set level(level: string) {
    this.logger().level = level;
  }
  child(bindings: Bindings, options?: ChildOptions): Logger {
    return this.logger().child(bindings, options);
  }
}

for (const method of LOG_METHODS) {
  RequestLogger.prototype[method] = function (this: RequestLogger, ...args: unknown[]) {
    const logger = this.logger();
    (logger[method] as Variadic).apply(logger, args);
  };
}

/** Server options: the request id is `X-Request-Id` (generated when absent), known to request loggers. */
export function requestLoggingOptions(): Pick<FastifyServerOptions, 'genReqId' | 'logController' | 'childLoggerFactory'> {
  return {
    genReqId: (raw: IncomingMessage) => {
      const given = raw.headers['x-request-id'];
      return typeof given === 'string' && given ? given.slice(0, MAX_REQUEST_ID_LENGTH) : randomUUID();
    },
    logController: new SummaryLogController({ requestIdLogLabel: 'rid' }),
    childLoggerFactory: (logger, bindings, options) => new RequestLogger(logger, bindings, options),
  };
}

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

function requestPath(request: FastifyRequest): string {
  const path = request.url.split('?')[0];
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function safeHeaders(request: FastifyRequest): Record<string, unknown> {
  return Object.fromEntries(Object.entries(request.headers).filter(([name]) => !SECRET_HEADERS.has(name)));
}

function batchSize(request: FastifyRequest): number | undefined {
  if (request.routeOptions.url !== '/v1/batch') return undefined;
  const requests = (request.body as { requests?: unknown } | undefined)?.requests;
  return Array.isArray(requests) ? requests.length : undefined;
}

const errnos = new WeakMap<FastifyRequest, number>();

/** Kinto error bodies carry the `errno` the summary reports. */
function rememberErrno(request: FastifyRequest, payload: unknown): void {
  if (typeof payload !== 'string' || payload.length > 65536) return;
  try {
    const errno = (JSON.parse(payload) as { errno?: unknown }).errno;
    if (typeof errno === 'number') errnos.set(request, errno);
  } catch {
    // Not a JSON error body.
  }
}

async function summaryFields(core: KintoCore, request: FastifyRequest, reply: FastifyReply, debug: boolean) {
  const parent = currentBatchParent();
  // A subrequest belongs to its batch: same request id and user, as Kinto copies the batch's context.
  const user = await requestUser(core, parent ?? request);
  const query = request.query as Record<string, unknown> | undefined;
  return {
    Type: parent ? SUBREQUEST_LOGGER : SUMMARY_LOGGER,
    agent: header(request, 'user-agent'),
    path: requestPath(request),
    method: request.method,
    lang: header(request, 'accept-language'),
    rid: (parent ?? request).id,
    errno: errnos.get(request) ?? 0,
    ...(user ? { uid: user.id, authn_type: user.policy } : {}),
    ...(query && Object.keys(query).length ? { querystring: query } : {}),
    time: new Date().toISOString(),
    code: reply.statusCode,
    t: Math.round(reply.elapsedTime),
    ...(parent ? {} : { batch_size: batchSize(request) }),
    ...(debug ? { headers: safeHeaders(request) } : {}),
  };
}

/**
 * The summary records, on the `request.summary` logger's level (INI) or the root level.
 * At debug level they also carry the request headers, credentials removed.
 */
export function registerRequestSummary(app: FastifyInstance, core: KintoCore): void {
  const level = core.config.logging?.loggers?.[SUMMARY_LOGGER];
  const log = level ? app.log.child({}, { level }) : app.log;
  const enabled = (log as { isLevelEnabled?: (name: string) => boolean }).isLevelEnabled?.bind(log);
  // fastify's stand-in for a disabled logger has no levels: nothing to summarise.
  if (!enabled?.('info')) return;
  const debug = enabled('debug');
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400) rememberErrno(request, payload);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    log.info(await summaryFields(core, request, reply, debug));
  });
}
