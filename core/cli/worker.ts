/**
 * Entry point of one `kinto start --workers N` worker (forked by cluster.ts). It reads the
 * INI file itself, so that a worker forked after SIGHUP runs with the new settings.
 */
import { startServer, type ServerOptions } from './server.ts';

/** Message the primary sends to retire a worker (reload, shutdown). */
export const DRAIN_MESSAGE = 'kinto:drain';
export const WORKER_OPTIONS_ENV = 'KINTO_WORKER_OPTIONS';

interface WorkerOptions extends ServerOptions {
  gracefulTimeoutMs: number;
}

async function runWorker(): Promise<void> {
  const options = JSON.parse(process.env[WORKER_OPTIONS_ENV] ?? '{}') as WorkerOptions;
  const server = await startServer(options);
  let exiting = false;
  const retire = () => {
    if (exiting) return;
    exiting = true;
    server.drain(options.gracefulTimeoutMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (message) => {
    if (message === DRAIN_MESSAGE) retire();
  });
  // Ctrl-C reaches the whole process group: the primary decides, workers wait for its message.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', retire);
  // An orphaned worker (primary killed) finishes its requests and leaves.
  process.on('disconnect', retire);
}

if (process.env[WORKER_OPTIONS_ENV] !== undefined) {
  runWorker().catch((error: unknown) => {
    console.error(`kinto worker ${process.pid} failed to start: ${(error as Error)?.message ?? error}`);
    process.exit(1);
  });
}
