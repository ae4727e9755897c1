import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { combine, freePort, startProcess, type Served } from './procs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CEILING = `${ROOT}bench/ceiling.ts`;

/** The `kinto` CLI of a checkout (this one by default; `--server-root` compares another). */
const cliOf = (root = ROOT) => join(root, 'core/cli.ts');

const hasWorkers = new Map<string, boolean>();

/** Whether `kinto start` knows `--workers N` (node:cluster); otherwise we run N processes. */
export function cliHasWorkers(root = ROOT): boolean {
  if (!hasWorkers.has(root)) {
    let known = false;
    try {
      known = execFileSync(process.execPath, [cliOf(root), 'start', '--help'], { encoding: 'utf8' }).includes('--workers');
    } catch {
      known = false;
    }
    hasWorkers.set(root, known);
  }
  return hasWorkers.get(root)!;
}

export interface KintoOptions {
  iniPath: string;
  workers: number;
  /** Directory for `--cpu-prof` profiles of the server processes. */
  cpuProfDir?: string;
  /** Another checkout whose server is measured (before/after comparisons). */
  root?: string;
}

/** An `ENV` value of the distribution image (its Dockerfile's `NAME=value`), or undefined. */
function imageEnv(root: string, name: string): string | undefined {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  return new RegExp(`^\\s*(?:ENV\\s+)?${name}=(\\S+)`, 'm').exec(dockerfile)?.[1];
}

/** The node flags of the image's `ENTRYPOINT ["node", …flags, "core/cli.ts"]` (none before finding 26). */
function entrypointFlags(root: string): string | undefined {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!entrypoint) return undefined;
  const flags = (JSON.parse(entrypoint) as string[]).filter((arg) => arg.startsWith('--'));
  return flags.length ? flags.join(' ') : undefined;
}

/**
 * Node flags for the server processes only: `$BENCH_SERVER_NODE_OPTIONS` (may be empty), or the
 * image's (its ENTRYPOINT's, or its NODE_OPTIONS in trees before finding 26).
 */
function serverNodeFlags(root: string): string[] {
  const flags = process.env.BENCH_SERVER_NODE_OPTIONS ?? entrypointFlags(root) ?? imageEnv(root, 'NODE_OPTIONS') ?? '';
  return flags.split(/\s+/).filter(Boolean);
}

/** The server's environment: quiet logs, and the image's malloc arenas (unless set here). */
function serverEnv(root: string): Record<string, string> {
  const arenas = process.env.MALLOC_ARENA_MAX ?? imageEnv(root, 'MALLOC_ARENA_MAX');
  return { LOG_LEVEL: 'warn', ...(arenas ? { MALLOC_ARENA_MAX: arenas } : {}) };
}

function nodeFlags(options: KintoOptions): string[] {
  const profile = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  return [...serverNodeFlags(options.root ?? ROOT), ...profile];
}

/** `kinto start` with N workers: one clustered process, or N processes on N ports. */
export async function startKinto(options: KintoOptions): Promise<Served> {
  const base = [...nodeFlags(options), cliOf(options.root), 'start', '--ini', options.iniPath, '--host', '127.0.0.1'];
  if (options.workers === 1 || cliHasWorkers(options.root)) {
    const port = await freePort();
    const workers = options.workers > 1 ? ['--workers', String(options.workers)] : [];
    return startProcess({
      args: [...base, '--port', String(port), ...workers],
      env: serverEnv(options.root ?? ROOT),
      ports: [port],
      readyPath: '/v1/__lbheartbeat__',
      label: 'kinto',
    });
  }
  const parts: Served[] = [];
  for (let i = 0; i < options.workers; i++) {
    const port = await freePort();
    parts.push(
      await startProcess({
        args: [...base, '--port', String(port)],
        env: serverEnv(options.root ?? ROOT),
        ports: [port],
        readyPath: '/v1/__lbheartbeat__',
        label: `kinto #${i + 1}`,
      }),
    );
  }
  return combine(parts);
}

/** The ceiling server (bench/ceiling.ts), clustered like the server. */
export async function startCeiling(dbUrl: string, parent: string, workers: number, json: string, cpuProfDir?: string): Promise<Served> {
  const port = await freePort();
  const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, 'ceiling')}`] : [];
  return startProcess({
    args: [...profile, CEILING, '--port', String(port), '--db', dbUrl, '--parent', parent, '--workers', String(workers)],
    env: { BENCH_CEILING_JSON: json },
    ports: [port],
    readyPath: '/hello/x',
    label: 'ceiling',
  });
}
