// Real `kinto` processes for the operations tests: spawn the CLI, wait for it to answer,
// find its workers, send it signals.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** Node 24 (the test runner's own), whatever `node` the machine has. */
export const NODE = process.execPath;
export const CLI = resolve(ROOT, 'core/cli.ts');

/** The environment without the variables that would change what the server reads. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const kept = Object.entries(process.env).filter(
    ([name]) => !/^(KINTO_|LOG_|SENTRY_|PORT$|WEB_CONCURRENCY$|VITEST|NODE_OPTIONS$)/.test(name),
  );
  return { ...(Object.fromEntries(kept) as Record<string, string>), LOG_LEVEL: 'warn', ...extra };
}

/** A port the OS just handed out (and released): nothing else listens on it. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface KintoProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

export function spawnKinto(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): KintoProcess {
  const child = spawn(NODE, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: options.env ?? cleanEnv(), stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Runs a command to completion (`kinto migrate`, `kinto dump`...). */
export async function runKinto(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const process = spawnKinto(args, options);
  process.child.stdin!.end(options.input ?? '');
  const code = await process.exited;
  return { code, stdout: process.stdout(), stderr: process.stderr() };
}

/** Polls `url` until it answers 200; fails early when the process died. */
export async function waitUntilServing(url: string, server?: KintoProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) {
      throw new Error(`The server exited (${await server.exited}):\n${server.stderr()}\n${server.stdout()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time:\n${server?.stderr() ?? ''}`);
    await sleep(200);
  }
}

/** The direct children of a process (cluster workers), from the OS. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((value) => value > 0);
  } catch {
    return []; // ps exits 1 when there is none.
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Waits until `check` holds (polling), or fails with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** An INI for the PostgreSQL backends on `url`, basic auth, plus `extra` lines. */
export function postgresIni(url: string, extra = ''): string {
  return `[app:main]
kinto.userid_hmac_secret = operations-test
multiauth.policies = basicauth
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
kinto.bucket_create_principals = system.Authenticated
kinto.storage_backend = kinto.core.storage.postgresql
kinto.storage_url = ${url}
kinto.permission_backend = kinto.core.permission.postgresql
kinto.permission_url = ${url}
kinto.cache_backend = kinto.core.cache.postgresql
kinto.cache_url = ${url}
${extra}
[server:main]
host = 127.0.0.1
`;
}
