import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoadResult } from './load.ts';
import { SELECT_CEILING } from '../scenarios.ts';

export interface Row {
  workers: number;
  scenario: string;
  description: string;
  connections: number;
  result: LoadResult | null;
  /** Why there is no result (e.g. the plugin is absent). */
  note?: string;
  /** Throughput as a fraction of the ceilings measured with the same number of workers. */
  vsBare?: number;
  vsSelect?: number;
  /** CPU per request (server + PostgreSQL) of the SELECT ceiling divided by this row's. */
  cpuVsSelect?: number;
}

export interface Issue3Result {
  /** Records inserted, out of `target` (the insert stops at its time budget). */
  records: number;
  target: number;
  /** Records bulk-loaded by SQL after the budget, so that the listing runs on `target` records. */
  toppedUp: number;
  seconds: number;
  recordsPerSecond: number;
  batchP50: number;
  batchP99: number;
  insertFailures: number;
  connections: number;
  lists: (LoadResult & { query: string })[];
}

/** Fills `vsBare` and `vsSelect` from the ceiling rows of the same worker count. */
export function addRatios(rows: Row[]): void {
  for (const row of rows) {
    if (!row.result) continue;
    const same = rows.filter((r) => r.workers === row.workers && r.result);
    const bare = same.find((r) => r.scenario === 'ceiling: bare JSON')?.result?.rps;
    // The SELECT ceiling is measured twice (before and after GET one): ratios use the mean.
    const selects = same.filter((r) => r.scenario.startsWith(SELECT_CEILING)).map((r) => r.result!);
    if (bare) row.vsBare = row.result.rps / bare;
    if (selects.length) {
      const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
      row.vsSelect = row.result.rps / mean(selects.map((r) => r.rps));
      row.cpuVsSelect = mean(selects.map(cpuPerRequest)) / cpuPerRequest(row.result);
    }
  }
}

export const cpuPerRequest = (r: LoadResult) => r.cpuServerMs + r.cpuPgMs;

const pct = (value: number | undefined) => (value === undefined ? '' : `${(value * 100).toFixed(0)}%`);
const fixed = (value: number, digits = 1) => value.toFixed(digits);

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

export function formatTable(rows: Row[], connections: number): string {
  const header = [
    'workers', 'scenario', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'vs bare', 'vs SELECT',
    'CPU ms/req node+pg', 'CPU vs SELECT', 'errors',
  ];
  const body = rows.map((row) => {
    const r = row.result;
    if (!r) return [String(row.workers), row.scenario, '', row.note ?? 'n/a', ...header.slice(4).map(() => '')];
    return [
      String(row.workers),
      row.scenario,
      String(row.connections),
      fixed(r.rps, 0),
      fixed(r.p50),
      fixed(r.p99),
      fixed(r.peakRssMb, 0),
      pct(row.vsBare),
      pct(row.vsSelect),
      `${fixed(r.cpuServerMs, 2)}+${fixed(r.cpuPgMs, 2)}`,
      pct(row.cpuVsSelect),
      String(r.failures),
    ];
  });
  const legend =
    `${connections} connections unless said. RSS: largest server process. vs bare / vs SELECT: req/s over the ceilings' req/s.\n` +
    'CPU: milliseconds of CPU per request in the server processes + the PostgreSQL backends; CPU vs SELECT: the\n' +
    'SELECT ceiling\'s CPU per request over this row\'s (what the req/s ratio tends to on a quiet, CPU-bound machine).';
  return `${legend}\n${pad([header, ...body])}`;
}

export function formatIssue3(result: Issue3Result): string {
  const partial =
    result.records < result.target
      ? ` (of ${result.target}: stopped at the time budget; ${result.toppedUp} more bulk-loaded by SQL for the listing)`
      : '';
  const lines = [
    `Insert ${result.records} records${partial} in batches of 25, ${result.connections} concurrent: ` +
      `${fixed(result.recordsPerSecond, 0)} records/s over ${fixed(result.seconds)} s, ` +
      `batch p50 ${fixed(result.batchP50)} ms, p99 ${fixed(result.batchP99)} ms, ${result.insertFailures} records failed`,
  ];
  for (const l of result.lists) {
    lines.push(
      `List them (?${l.query}, following Next-Page): ${fixed(l.rps, 0)} req/s, p50 ${fixed(l.p50)} ms, ` +
        `p99 ${fixed(l.p99)} ms, CPU ${fixed(l.cpuServerMs, 2)}+${fixed(l.cpuPgMs, 2)} ms/req, ` +
        `peak RSS ${fixed(l.peakRssMb, 0)} MB, ${l.failures} errors`,
    );
  }
  return lines.join('\n');
}

export function writeJson(path: string, payload: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(payload, null, 2)}\n`);
}
