import { createRequire } from 'node:module';
import { snapshot, spent } from './cpu.ts';
import { RssSampler, type Served } from './procs.ts';

/** What one autocannon request may be: static, or built per request from shared state. */
export interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: LoadRequest, context: Record<string, unknown>) => LoadRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void;
}

interface Histogram {
  average: number;
  p50: number;
  p99: number;
  max: number;
}

interface AutocannonResult {
  requests: Histogram & { total: number };
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonOptions {
  url: string | string[];
  connections: number;
  duration?: number;
  timeout?: number;
  headers?: Record<string, string>;
  requests?: LoadRequest[];
}

type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult> & { stop(): void };

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadSpec {
  /** Requests each connection loops over (autocannon's `requests`). */
  requests: LoadRequest[];
  headers?: Record<string, string>;
  connections: number;
  /** Seconds measured, after `warmup` seconds of unmeasured load. */
  duration: number;
  warmup: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Responses that were not 2xx (304 excluded) plus connection errors and timeouts. */
  failures: number;
  statuses: Record<string, number>;
  peakRssMb: number;
  peakRssTotalMb: number;
  seconds: number;
  /** CPU milliseconds per request: the server's processes, and PostgreSQL's backends. */
  cpuServerMs: number;
  cpuPgMs: number;
}

/** The PostgreSQL backends serving the benchmark database (their CPU is part of a request's cost). */
export type BackendPids = () => Promise<number[]>;

async function drive(served: Served, spec: LoadSpec, seconds: number): Promise<AutocannonResult> {
  return autocannon({
    url: served.urls.length === 1 ? served.urls[0] : served.urls,
    connections: spec.connections,
    duration: seconds,
    timeout: 30,
    headers: spec.headers,
    requests: spec.requests,
  });
}

/** Warms the server up, then measures throughput, latency and the server's peak RSS. */
export async function measure(served: Served, spec: LoadSpec, backends: BackendPids): Promise<LoadResult> {
  if (spec.warmup > 0) await drive(served, spec, spec.warmup);
  const sampler = new RssSampler(served);
  sampler.start();
  const cpuBefore = { server: snapshot(served.pids()), pg: snapshot(await backends()) };
  const started = performance.now();
  const result = await drive(served, spec, spec.duration);
  const seconds = (performance.now() - started) / 1000;
  const cpuServer = spent(cpuBefore.server, snapshot(served.pids()));
  const cpuPg = spent(cpuBefore.pg, snapshot(await backends()));
  const memory = sampler.stop();
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
  const bad = Object.entries(statuses).filter(([code]) => Number(code) >= 400).reduce((n, [, count]) => n + count, 0);
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failures: bad + result.errors + result.timeouts,
    statuses,
    peakRssMb: memory.peakProcessMb,
    peakRssTotalMb: memory.peakTotalMb,
    seconds,
    cpuServerMs: cpuServer / Math.max(1, result.requests.total),
    cpuPgMs: cpuPg / Math.max(1, result.requests.total),
  };
}
