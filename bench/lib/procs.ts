import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A server we started: its process, the URLs to load, and its processes' RSS sampler. */
export interface Served {
  readonly child: ChildProcess;
  readonly urls: string[];
  /** All processes serving (the children too, for a node:cluster primary). */
  pids(): number[];
  stop(): Promise<void>;
}

/** A port the kernel says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers (any status) or the deadline passes. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before listening on ${url}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`server did not answer on ${url} within ${timeoutMs} ms`);
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Resident set size of one process in bytes (0 when it is gone). */
export function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every process of a tree rooted at `pid`. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i]));
  return all;
}

export interface SpawnSpec {
  args: string[];
  env?: Record<string, string>;
  /** Ports served by this spec (one per process when we run the processes ourselves). */
  ports: number[];
  /** Path polled until the server answers. */
  readyPath: string;
  label: string;
}

/** Starts a Node 24 process (the one running the benchmark) and waits until it answers. */
export async function startProcess(spec: SpawnSpec): Promise<Served> {
  const child = spawn(process.execPath, spec.args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const urls = spec.ports.map((port) => `http://127.0.0.1:${port}`);
  try {
    for (const url of urls) await waitForHttp(`${url}${spec.readyPath}`, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${spec.label}: ${(error as Error).message}\n${stderr}`);
  }
  return {
    child,
    urls,
    pids: () => (child.pid === undefined ? [] : processTree(child.pid)),
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Several servers driven as one (N processes on N ports when the CLI has no --workers). */
export function combine(parts: Served[]): Served {
  return {
    child: parts[0].child,
    urls: parts.flatMap((p) => p.urls),
    pids: () => parts.flatMap((p) => p.pids()),
    stop: async () => {
      await Promise.all(parts.map((p) => p.stop()));
    },
  };
}

/** Samples the RSS of a server's processes; `peak()` is the largest single-process value seen. */
export class RssSampler {
  private readonly served: Served;
  private timer: NodeJS.Timeout | null = null;
  private maxProcess = 0;
  private maxTotal = 0;

  constructor(served: Served) {
    this.served = served;
  }

  start(intervalMs = 100): void {
    this.maxProcess = 0;
    this.maxTotal = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const values = this.served.pids().map(rssOf);
    this.maxProcess = Math.max(this.maxProcess, ...values);
    this.maxTotal = Math.max(this.maxTotal, values.reduce((a, b) => a + b, 0));
  }

  stop(): { peakProcessMb: number; peakTotalMb: number } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return { peakProcessMb: this.maxProcess / 2 ** 20, peakTotalMb: this.maxTotal / 2 ** 20 };
  }
}
