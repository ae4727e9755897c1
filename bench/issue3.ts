/**
 * Issue 3's benchmark: insert N records (100,000) through the server on PostgreSQL, in
 * batches of 25 creations, then list them with a filter, a sort and pagination.
 */
import { measure, type BackendPids, type LoadResult } from './lib/load.ts';
import type { Served } from './lib/procs.ts';
import type { Issue3Result } from './lib/report.ts';
import { bulkRecords, collectionPath, withClient } from './lib/seed.ts';
import { startKinto } from './lib/servers.ts';
import { COLLECTIONS, type Fixture } from './lib/setup.ts';
import { LIST_QUERIES, newRecord, paginated } from './scenarios.ts';

export interface Issue3Options {
  iniPath: string;
  workers: number;
  fixture: Fixture;
  records: number;
  /** Concurrent batches: one collection's writers are serialised, more only queue. */
  connections: number;
  /** Seconds after which the insert stops, whatever was inserted (reported as such). */
  budget: number;
  dbUrl: string;
  opts: { connections: number; duration: number; warmup: number; cpuProf?: string; serverRoot?: string };
  backends: BackendPids;
}

interface InsertResult {
  inserted: number;
  seconds: number;
  latencies: number[];
  failures: number;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0);

async function postBatch(base: string, auth: string): Promise<number> {
  const body = {
    defaults: { method: 'POST', path: `${collectionPath(COLLECTIONS.insert)}/records` },
    requests: Array.from({ length: 25 }, () => ({ body: { data: newRecord() } })),
  };
  const response = await fetch(`${base}/v1/batch`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) return 0;
  const parsed = (await response.json()) as { responses: { status: number }[] };
  return parsed.responses.filter((r) => r.status === 201).length;
}

/** `connections` loops posting batches until `records` are in or the budget is spent. */
async function insert(served: Served, options: Issue3Options): Promise<InsertResult> {
  const result: InsertResult = { inserted: 0, seconds: 0, latencies: [], failures: 0 };
  const started = performance.now();
  const deadline = started + options.budget * 1000;
  let claimed = 0;
  const loop = async (index: number) => {
    const base = served.urls[index % served.urls.length];
    while (claimed < options.records && performance.now() < deadline) {
      claimed += 25;
      const sent = performance.now();
      const created = await postBatch(base, options.fixture.ownerAuth).catch(() => 0);
      result.latencies.push(performance.now() - sent);
      result.inserted += created;
      result.failures += 25 - created;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => loop(i)));
  result.seconds = (performance.now() - started) / 1000;
  result.latencies.sort((a, b) => a - b);
  return result;
}

async function list(served: Served, options: Issue3Options, query: string): Promise<LoadResult & { query: string }> {
  const { opts, fixture } = options;
  const path = `/v1${collectionPath(COLLECTIONS.insert)}/records?${query}`;
  const spec = { headers: { authorization: fixture.ownerAuth }, requests: [paginated(path)], ...opts };
  return { ...(await measure(served, spec, options.backends)), query };
}

export async function runIssue3(options: Issue3Options): Promise<Issue3Result> {
  const { iniPath, workers, opts } = options;
  const kinto = await startKinto({ iniPath, workers, cpuProfDir: opts.cpuProf, root: opts.serverRoot });
  try {
    const inserted = await insert(kinto, options);
    // Past the budget, the rest is bulk-loaded so that the listing runs on the full collection;
    // then VACUUM ANALYZE, as autovacuum would after that many inserts.
    const toppedUp = Math.max(0, options.records - inserted.inserted);
    await withClient(options.dbUrl, async (client) => {
      if (toppedUp) await bulkRecords(client, COLLECTIONS.insert, toppedUp);
      await client.query('VACUUM ANALYZE objects');
    });
    return {
      toppedUp,
      records: inserted.inserted,
      target: options.records,
      seconds: inserted.seconds,
      recordsPerSecond: inserted.inserted / inserted.seconds,
      batchP50: percentile(inserted.latencies, 0.5),
      batchP99: percentile(inserted.latencies, 0.99),
      insertFailures: inserted.failures,
      connections: options.connections,
      lists: [await list(kinto, options, LIST_QUERIES.byTime), await list(kinto, options, LIST_QUERIES.byField)],
    };
  } finally {
    await kinto.stop();
  }
}
