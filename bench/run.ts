/**
 * `npm run bench`: the server on PostgreSQL with realistic data, driven by autocannon on
 * loopback, each scenario compared with ceilings measured in the same run. See bench/README.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runIssue3 } from './issue3.ts';
import { measure, type BackendPids } from './lib/load.ts';
import type { Served } from './lib/procs.ts';
import { addRatios, formatIssue3, formatTable, writeJson, type Issue3Result, type Row } from './lib/report.ts';
import { ADMIN_URL, backendWatcher, benchIni, collectionPath, createDatabase, migrateDatabase, withClient } from './lib/seed.ts';
import { cliHasWorkers, startCeiling, startKinto } from './lib/servers.ts';
import { COLLECTIONS, sampleRecordJson, setUp, type Fixture } from './lib/setup.ts';
import { SCENARIOS, batchFailures, type Scenario } from './scenarios.ts';
import { BUILTIN_PLUGINS } from '../plugins/catalog.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The monitor changeset needs the changes plugin (another issue): measured only when it ships. */
const HAS_CHANGES = BUILTIN_PLUGINS.some((p) => p.name === 'changes');

const USAGE = `Usage: node bench/run.ts [options]
  --duration S       measured seconds per scenario (5)
  --warmup S         unmeasured seconds before each scenario (1)
  --connections N    concurrent connections (32)
  --workers LIST     server worker counts to run, e.g. 1,2 (1,<CPU count>)
  --only NAMES       comma-separated scenario name fragments (all); "issue3" runs the insert
  --insert N         records of the issue-3 insert benchmark, 0 to skip (100000)
  --insert-connections N  concurrent batches of that insert (4)
  --insert-budget S  seconds after which that insert stops (240; the rest is bulk-loaded)
  --list-size N      records of the list and ACL collections (10000)
  --since-size N     records of the _since collection (100000)
  --cpu-prof DIR     write V8 CPU profiles of the server processes to DIR (the ceilings' to DIR/ceiling)
  --server-root DIR  measure the server of another checkout (e.g. a copy before a fix)
  --json FILE        where to write the results (bench/results/latest.json)
  --keep-db          do not drop the benchmark database at the end`;

interface Options {
  duration: number;
  warmup: number;
  connections: number;
  workers: number[];
  only: string[] | null;
  insert: number;
  insertConnections: number;
  insertBudget: number;
  listSize: number;
  sinceSize: number;
  cpuProf: string | undefined;
  serverRoot: string | undefined;
  json: string;
  keepDb: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '32' },
      workers: { type: 'string', default: `1,${availableParallelism()}` },
      only: { type: 'string' },
      insert: { type: 'string', default: '100000' },
      'insert-connections': { type: 'string', default: '4' },
      'insert-budget': { type: 'string', default: '240' },
      'list-size': { type: 'string', default: '10000' },
      'since-size': { type: 'string', default: '100000' },
      'cpu-prof': { type: 'string' },
      'server-root': { type: 'string' },
      json: { type: 'string', default: join(ROOT, 'bench/results/latest.json') },
      'keep-db': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
    workers: [...new Set(values.workers.split(',').map(Number).filter((n) => n > 0))],
    only: values.only ? values.only.split(',').map((s) => s.trim().toLowerCase()) : null,
    insert: Number(values.insert),
    insertConnections: Number(values['insert-connections']),
    insertBudget: Number(values['insert-budget']),
    listSize: Number(values['list-size']),
    sinceSize: Number(values['since-size']),
    cpuProf: values['cpu-prof'],
    serverRoot: values['server-root'],
    json: values.json,
    keepDb: values['keep-db'],
  };
}

function selected(opts: Options): Scenario[] {
  if (!opts.only) return SCENARIOS;
  // The ceilings are always measured: ratios need them.
  return SCENARIOS.filter((s) => s.target === 'ceiling' || opts.only!.some((o) => s.name.toLowerCase().includes(o)));
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface Context {
  iniPath: string;
  /** The same settings with the listing cache off. */
  uncachedIniPath: string;
  dbUrl: string;
  fixture: Fixture;
  /** The sample record's GET body, returned by the ceiling routes. */
  json: string;
  backends: BackendPids;
  /** Waits for the requests a scenario left in flight (autocannon stops, the server does not). */
  drain: () => Promise<void>;
  opts: Options;
}

type Servers = Record<Scenario['target'], Served>;

async function runScenario(scenario: Scenario, servers: Servers, ctx: Context) {
  const served = servers[scenario.target];
  const failuresBefore = batchFailures;
  const connections = scenario.connections ?? ctx.opts.connections;
  const spec = { ...scenario.build(ctx.fixture), connections, duration: ctx.opts.duration, warmup: ctx.opts.warmup };
  const result = await measure(served, spec, ctx.backends);
  await ctx.drain();
  result.failures += batchFailures - failuresBefore;
  return result;
}

async function runWorkers(workers: number, ctx: Context) {
  const rows: Row[] = [];
  const ceiling = await startCeiling(ctx.dbUrl, collectionPath(COLLECTIONS.list), workers, ctx.json, ctx.opts.cpuProf);
  const kinto = await startKinto({ iniPath: ctx.iniPath, workers, cpuProfDir: ctx.opts.cpuProf, root: ctx.opts.serverRoot });
  const started = [ceiling, kinto];
  // Started only when a selected scenario needs it (its memory is not the other's).
  const uncached = selected(ctx.opts).some((s) => s.target === 'kinto-uncached')
    ? await startKinto({ iniPath: ctx.uncachedIniPath, workers, root: ctx.opts.serverRoot })
    : kinto;
  if (uncached !== kinto) started.push(uncached);
  try {
    for (const scenario of selected(ctx.opts)) {
      const connections = scenario.connections ?? ctx.opts.connections;
      const row: Row = { workers, scenario: scenario.name, description: scenario.description, connections, result: null };
      if (scenario.name === 'monitor changeset' && !HAS_CHANGES) {
        row.note = 'n/a (plugins/changes absent)';
      } else {
        log(`${workers} worker(s): ${scenario.name}`);
        row.result = await runScenario(scenario, { kinto, ceiling, 'kinto-uncached': uncached }, ctx);
      }
      rows.push(row);
    }
  } finally {
    await Promise.all(started.map((server) => server.stop()));
  }
  return rows;
}

async function machine(dbUrl: string, opts: Options) {
  const version = await withClient(dbUrl, async (client) => {
    return (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
  });
  const workersFlag = cliHasWorkers(opts.serverRoot);
  return { cpus: availableParallelism(), node: process.version, postgresql: version, workersFlag, serverRoot: opts.serverRoot ?? ROOT };
}

async function main(): Promise<void> {
  const opts = options();
  const db = await createDatabase();
  const tmp = mkdtempSync(join(tmpdir(), 'kinto-bench-'));
  try {
    const iniText = benchIni(db.url, HAS_CHANGES);
    const iniPath = join(tmp, 'bench.ini');
    writeFileSync(iniPath, iniText);
    const uncachedIniPath = join(tmp, 'bench-uncached.ini');
    writeFileSync(uncachedIniPath, `${iniText}kinto.listing_cache_max_size_bytes = 0\n`);
    await migrateDatabase(iniText);
    log(`database ${db.url.replace(ADMIN_URL.replace(/\/[^/]*$/, ''), '')}; seeding`);
    const setupServer = await startKinto({ iniPath, workers: 1, root: opts.serverRoot });
    let fixture: Fixture;
    let json: string;
    const seeding = performance.now();
    try {
      fixture = await setUp(setupServer.urls[0], db.url, { listSize: opts.listSize, sinceSize: opts.sinceSize });
      json = await sampleRecordJson(setupServer.urls[0], fixture);
    } finally {
      await setupServer.stop();
    }
    log(`seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
    const watcher = await backendWatcher(db.url);
    const ctx: Context = { iniPath, uncachedIniPath, dbUrl: db.url, fixture, json, backends: watcher.pids, drain: () => watcher.drain(), opts };
    const rows: Row[] = [];
    let issue3: Issue3Result | null = null;
    try {
      for (const workers of opts.workers) rows.push(...(await runWorkers(workers, ctx)));
      addRatios(rows);
      if (opts.insert > 0 && (!opts.only || opts.only.includes('issue3'))) {
        const workers = Math.max(...opts.workers);
        log(`issue 3: inserting ${opts.insert} records with ${workers} worker(s)`);
        issue3 = await runIssue3({
          iniPath, workers, fixture, records: opts.insert, connections: opts.insertConnections,
          budget: opts.insertBudget, dbUrl: db.url, opts, backends: watcher.pids,
        });
      }
    } finally {
      await watcher.close();
    }
    console.log(formatTable(rows, opts.connections));
    if (issue3) console.log(`\nIssue 3 (PostgreSQL):\n${formatIssue3(issue3)}`);
    const payload = { generatedAt: new Date().toISOString(), machine: await machine(db.url, opts), options: opts, rows, issue3 };
    writeJson(opts.json, payload);
    log(`results written to ${opts.json}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (opts.keepDb) log(`kept database ${db.url}`);
    else await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
