import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../settings/load.ts';
import { CliError, loadCliConfig } from './common.ts';
import type { ServerOptions } from './server.ts';
import { DRAIN_MESSAGE, WORKER_OPTIONS_ENV } from './worker.ts';

export interface ClusterOptions extends ServerOptions {
  workers: number;
  gracefulTimeoutMs: number;
}

interface Member {
  readonly worker: Worker;
  readonly generation: number;
  listening: boolean;
  retiring: boolean;
}

const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Delay before replacing a worker that died before it could listen (no busy crash loop). */
const RESPAWN_DELAY_MS = 1_000;

function log(message: string): void {
  console.error(`kinto[${process.pid}] ${message}`);
}

/**
 * Workers are separate processes: each must see the others' writes, sessions and pagination
 * tokens, so every backend must be a shared server. The embedded engine is single-process.
 */
export function assertSharedBackends(settings: Settings): void {
  for (const kind of ['storage', 'permission', 'cache']) {
    const name = settings.str(`${kind}_backend`, 'pglite');
    if (!/(^|\.)postgresql$/.test(name)) {
      throw new CliError(
        `start --workers needs shared backends: ${kind}_backend is '${name}', use kinto.core.${kind}.postgresql ` +
          '(the embedded and memory backends belong to a single process).',
      );
    }
  }
}

/**
 * The primary of `kinto start --workers N`: keeps N workers listening on one port, replaces
 * a crashed one, reloads on SIGHUP (new workers take over before the old ones drain), and
 * drains everything on SIGTERM/SIGINT.
 */
class Supervisor {
  readonly #options: ClusterOptions;
  readonly #members = new Map<number, Member>();
  #generation = 0;
  /** The generation serving traffic; only its workers are replaced when they die. */
  #active = 0;
  #stopping = false;
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;

  constructor(options: ClusterOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const started = await this.#spawnGeneration();
    if (this.#stopping) return;
    if (!started) throw new CliError('The workers failed to start (see their errors above).');
    log(`${this.#options.workers} workers listening (pids ${this.#pids(this.#active).join(', ')})`);
  }

  /** SIGHUP: a whole new generation must listen before the previous one is retired. */
  reload(): void {
    if (this.#stopping || this.#active === 0) return;
    if (this.#reloading) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloading = this.#reloadOnce().finally(() => {
      this.#reloading = null;
      if (this.#reloadAgain) {
        this.#reloadAgain = false;
        this.reload();
      }
    });
  }

  async #reloadOnce(): Promise<void> {
    try {
      // The new configuration must hold for several processes too (start checked the first one).
      assertSharedBackends(loadCliConfig(this.#options.iniPath).settings);
    } catch (error) {
      log(`reload aborted, the configuration is invalid: ${(error as Error).message}`);
      return;
    }
    const previous = this.#active;
    log('reloading: starting new workers');
    if (!(await this.#spawnGeneration())) {
      log('reload aborted: the new workers failed to start; the previous ones keep serving');
      return;
    }
    for (const member of this.#members.values()) {
      if (member.generation <= previous) this.#retire(member);
    }
    log(`reloaded (pids ${this.#pids(this.#active).join(', ')})`);
  }

  /** SIGTERM/SIGINT: every worker finishes its requests, then the primary exits. */
  async shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    log('shutting down: draining the workers');
    await this.#reloading;
    const exited = [...this.#members.values()].map((member) => {
      this.#retire(member);
      return new Promise<void>((resolve) => member.worker.once('exit', () => resolve()));
    });
    // A worker that cannot drain in time (stuck request) is killed.
    const deadline = setTimeout(() => {
      for (const member of this.#members.values()) member.worker.process.kill('SIGKILL');
    }, this.#options.gracefulTimeoutMs + 5_000);
    await Promise.all(exited);
    clearTimeout(deadline);
  }

  /** Forks a full generation; true once all listen, false (and the rest killed) if one dies first. */
  async #spawnGeneration(): Promise<boolean> {
    const generation = ++this.#generation;
    const members = Array.from({ length: this.#options.workers }, () => this.#fork(generation));
    const results = await Promise.all(members.map((member) => this.#listeningOrDead(member)));
    if (results.every(Boolean) && !this.#stopping) {
      this.#active = generation;
      return true;
    }
    for (const member of members) this.#retire(member);
    return false;
  }

  #fork(generation: number): Member {
    const { workers: _count, ...serverOptions } = this.#options;
    const worker = cluster.fork({ [WORKER_OPTIONS_ENV]: JSON.stringify(serverOptions) });
    const member: Member = { worker, generation, listening: false, retiring: false };
    this.#members.set(worker.id, member);
    worker.once('listening', () => (member.listening = true));
    worker.once('exit', (code, signal) => this.#onExit(member, code, signal));
    return member;
  }

  #listeningOrDead(member: Member): Promise<boolean> {
    return new Promise((resolve) => {
      member.worker.once('listening', () => resolve(true));
      member.worker.once('exit', () => resolve(false));
    });
  }

  #retire(member: Member): void {
    if (member.retiring) return;
    member.retiring = true;
    if (member.worker.isConnected()) member.worker.send(DRAIN_MESSAGE);
    else member.worker.process.kill('SIGTERM');
  }

  /** A worker that leaves without being asked to is replaced, in the current generation. */
  #onExit(member: Member, code: number | null, signal: string | null): void {
    this.#members.delete(member.worker.id);
    if (member.retiring || this.#stopping || member.generation !== this.#active) return;
    log(`worker ${member.worker.process.pid} exited (${signal ?? `code ${code}`}); starting a replacement`);
    const replace = () => {
      if (this.#stopping) return;
      const replacement = this.#fork(this.#active);
      replacement.worker.once('listening', () => log(`worker ${replacement.worker.process.pid} replaces it`));
    };
    if (member.listening) replace();
    else setTimeout(replace, RESPAWN_DELAY_MS);
  }

  #pids(generation: number): number[] {
    return [...this.#members.values()]
      .filter((member) => member.generation === generation)
      .map((member) => member.worker.process.pid ?? 0);
  }
}

export async function runCluster(options: ClusterOptions): Promise<void> {
  assertSharedBackends(loadCliConfig(options.iniPath).settings);
  // Workers accept from one shared socket. With round-robin the primary hands each connection
  // to a worker, and one handed to a worker that dies at that moment hangs for ever; here an
  // unaccepted connection just waits in the kernel queue for another worker.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });
  const supervisor = new Supervisor(options);
  // Installed before the workers start: SIGHUP's default action would kill the primary.
  process.on('SIGHUP', () => supervisor.reload());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      supervisor.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  await supervisor.start();
}
