import net from 'node:net';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from '../app.ts';
import { loggerOptions } from '../http/logging.ts';
import type { LoadedConfig } from '../settings/load.ts';
import { loadCliConfig } from './common.ts';

/** What `kinto start` (one process) and every cluster worker are started with. */
export interface ServerOptions {
  iniPath?: string;
  port?: number;
  host?: string;
  /** Log level (`-q` → fatal, `-v` → debug), as `LOG_LEVEL` would set it. */
  logLevel?: string;
}

export interface RunningServer {
  app: FastifyInstance;
  config: LoadedConfig;
  /** `http://host:port` the server listens on. */
  address: string;
  /**
   * Stops accepting connections, lets requests in flight finish, then closes the app and its
   * backends. Connections still open after `timeoutMs` are cut.
   */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * Seconds an idle keep-alive connection is kept. Node's default, rather than fastify's 72 s
 * (meant for AWS load balancers): a draining process waits for idle connections to expire,
 * and clients stop reusing a connection before the `Keep-Alive: timeout` they are told.
 */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * The logger of the server process; the single place where logging is configured: MozLog
 * JSON (text on a terminal), `-q`/`-v` over `LOG_LEVEL` over the INI logging sections.
 */
export function serverLogger(options: ServerOptions, config: LoadedConfig): FastifyServerOptions['logger'] {
  return loggerOptions(config, { ...process.env, LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL });
}

/** Builds the app from the INI file and listens; used by `kinto start` and by each worker. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const config = loadCliConfig(options.iniPath);
  const app = await buildApp(config, { logger: serverLogger(options, config) });
  const drain = registerDrain(app);
  app.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const port = options.port ?? config.server.port;
  const host = options.host ?? config.server.host;
  const address = await app.listen({ port, host });
  return { app, config, address, drain };
}

/**
 * Graceful stop without refusing anything. Node's `http.Server.close()` also closes idle
 * keep-alive connections at once, and a client may be sending its next request on one of them
 * at that very moment: that request would fail. So only the listening socket is closed (the
 * plain `net.Server` close); responses sent from then on carry `Connection: close`, and idle
 * connections end when their keep-alive timeout expires, which clients anticipate.
 */
function registerDrain(app: FastifyInstance): (timeoutMs: number) => Promise<void> {
  let draining: Promise<void> | null = null;
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('Connection', 'close');
    done(null, payload);
  });
  return (timeoutMs) => {
    draining ??= (async () => {
      await stopListening(app, timeoutMs);
      await app.close();
    })();
    return draining;
  };
}

function stopListening(app: FastifyInstance, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => app.server.closeAllConnections(), timeoutMs);
    net.Server.prototype.close.call(app.server, () => {
      clearTimeout(deadline);
      resolve();
    });
  });
}

/**
 * `kinto start` in a single process: SIGTERM/SIGINT drain and exit. Reloading the settings
 * needs a second process to take over the port: that is what `--workers` provides.
 */
export async function serveSingleProcess(options: ServerOptions, gracefulTimeoutMs: number): Promise<void> {
  const server = await startServer(options);
  const stop = () => {
    server.drain(gracefulTimeoutMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('SIGHUP', () => {
    server.app.log.warn('SIGHUP ignored: reloading the configuration needs `kinto start --workers N`');
  });
}
