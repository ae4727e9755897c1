// `kinto start --workers N` as operators run it: a real primary and real workers on one
// PostgreSQL database, real signals, clients sending requests all along.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../helpers/databases.ts';
import { basicAuth, slowRequest, startLoad } from '../helpers/load.ts';
import {
  childPids,
  eventually,
  freePort,
  isAlive,
  postgresIni,
  runKinto,
  sleep,
  spawnKinto,
  waitUntilServing,
  type KintoProcess,
} from '../helpers/processes.ts';

// Workers start in seconds on an idle machine, in tens of seconds on a busy one.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const ALICE = basicAuth('alice');
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let iniPath: string;
let base: string;
let server: KintoProcess;

function json(body: unknown): RequestInit {
  return { method: 'POST', headers: { ...ALICE, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

beforeAll(async () => {
  database = await createTestDatabase();
  iniPath = join(mkdtempSync(join(tmpdir(), 'kinto-workers-')), 'kinto.ini');
  writeFileSync(iniPath, postgresIni(database.url));
  const migrated = await runKinto(['migrate', '--ini', iniPath]);
  expect(migrated.code, migrated.stderr).toBe(0);
  const port = await freePort();
  base = `http://127.0.0.1:${port}/v1`;
  server = spawnKinto(['start', '--ini', iniPath, '--port', String(port), '--workers', '2', '--graceful-timeout', '20']);
  await waitUntilServing(`${base}/__lbheartbeat__`, server);
  await eventually(() => childPids(server.pid).length === 2, 'two workers');
  await fetch(`${base}/buckets/b`, { method: 'PUT', headers: ALICE });
  await fetch(`${base}/buckets/b/collections/c`, { method: 'PUT', headers: ALICE });
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe('kinto start --workers 2', () => {
  it('refuses the embedded engine: workers need shared backends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kinto-workers-'));
    writeFileSync(join(dir, 'embedded.ini'), '[app:main]\nkinto.storage_backend = pglite\n');
    const result = await runKinto(['start', '--ini', join(dir, 'embedded.ini'), '--workers', '2']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('start --workers needs shared backends');
  });

  it('replaces a worker killed with SIGKILL while the service keeps answering', async () => {
    const [victim, survivor] = childPids(server.pid);
    const load = startLoad(4, () => fetch(`${base}/buckets/b/collections/c/records`, { headers: ALICE }));
    await sleep(500);
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    await eventually(() => childPids(server.pid).length === 2 && !childPids(server.pid).includes(victim), 'a replacement worker');
    await sleep(500);
    const outcomes = await load.stop();

    // Only requests in flight on the killed worker may fail; those sent a moment later are served.
    expect(outcomes.filter((o) => o.status !== 200).length).toBeLessThanOrEqual(4);
    expect(outcomes.filter((o) => o.at > killedAt + 1_000).every((o) => o.status === 200)).toBe(true);
    const after = await Promise.all(
      Array.from({ length: 12 }, () => fetch(`${base}/buckets/b/collections/c/records`, { headers: ALICE })),
    );
    expect(after.map((response) => response.status)).toEqual(Array(12).fill(200));
    expect(isAlive(survivor)).toBe(true);
    expect(childPids(server.pid)).toContain(survivor);
  });

  it('reloads the configuration on SIGHUP without refusing or failing a single request', async () => {
    const before = childPids(server.pid);
    writeFileSync(iniPath, postgresIni(database.url, 'kinto.project_name = reloaded'));
    // A write in flight on one of the old workers, completed only once they are draining.
    const inFlight = slowRequest(`${base}/buckets/b/collections/c/records`, 'POST', { data: { slow: true } }, ALICE);
    await sleep(300);
    const load = startLoad(6, (loop, n) =>
      loop % 2 ? fetch(`${base}/buckets/b/collections/c/records`, json({ data: { loop, n } })) : fetch(`${base}/`, { headers: ALICE }),
    );
    await sleep(500);
    process.kill(server.pid, 'SIGHUP');
    await eventually(() => server.stderr().includes('reloaded (pids'), 'the new workers to take over', 180_000);
    inFlight.finish();
    await eventually(() => before.every((pid) => !isAlive(pid)), 'the old workers to exit');
    await sleep(500);
    const outcomes = await load.stop();

    expect((await inFlight.response).status).toBe(201);
    const failures = outcomes.filter((o) => o.status !== 200 && o.status !== 201);
    expect(failures).toEqual([]);
    const names = outcomes.filter((o) => o.status === 200).map((o) => (o.body as { project_name?: string }).project_name);
    expect(names).toContain('kinto');
    expect(names.at(-1)).toBe('reloaded');
    const after = childPids(server.pid);
    expect(after).toHaveLength(2);
    expect(after.some((pid) => before.includes(pid))).toBe(false);
  });

  it('keeps the previous workers when the new configuration is invalid', async () => {
    const before = childPids(server.pid);
    writeFileSync(iniPath, postgresIni(database.url, 'kinto.readonly = maybe'));
    process.kill(server.pid, 'SIGHUP');
    await eventually(() => server.stderr().includes('reload aborted'), 'the reload to be refused');
    expect(childPids(server.pid).sort()).toEqual(before.sort());
    expect((await fetch(`${base}/`)).status).toBe(200);
    // Valid for one process, not for several: a per-process cache is refused on reload as at start.
    writeFileSync(iniPath, postgresIni(database.url).replace(/^kinto\.cache_backend = .*$/m, 'kinto.cache_backend = kinto.core.cache.memory'));
    process.kill(server.pid, 'SIGHUP');
    await eventually(() => server.stderr().includes('start --workers needs shared backends: cache_backend'), 'the memory cache to be refused');
    expect(childPids(server.pid).sort()).toEqual(before.sort());
    writeFileSync(iniPath, postgresIni(database.url));
  });

  it('drains on SIGTERM: the request in flight completes, then the primary exits 0', async () => {
    const workers = childPids(server.pid);
    const inFlight = slowRequest(`${base}/buckets/b/collections/c/records`, 'POST', { data: { last: true } }, ALICE);
    await sleep(500);
    server.child.kill('SIGTERM');
    await sleep(1_000);
    expect(isAlive(server.pid)).toBe(true);
    inFlight.finish();
    const answer = await inFlight.response;
    expect(answer.status).toBe(201);
    expect(answer.headers.connection).toBe('close');
    expect(await server.exited).toBe(0);
    expect(workers.some(isAlive)).toBe(false);
    await expect(fetch(`${base}/__lbheartbeat__`)).rejects.toThrow();
  });
});
