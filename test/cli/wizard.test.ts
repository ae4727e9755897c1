// `kinto dump` / `kinto load`: a server's structure kept as a kinto-wizard YAML file, and
// applied again (idempotently) to another server, in this process or over HTTP.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildApp } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { client } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { basicAuth } from '../helpers/load.ts';
import { freePort, postgresIni, runKinto, spawnKinto, waitUntilServing } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const AUTH = ['--auth', 'alice:secret'];
let source: Awaited<ReturnType<typeof createTestDatabase>>;
let target: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let sourceIni: string;
let targetIni: string;
let aliceId: string;

type Tree = { buckets: Record<string, any> };

function withoutTimestamps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimestamps);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'last_modified').map(([k, v]) => [k, withoutTimestamps(v)]));
  }
  return value;
}

async function dump(ini: string, ...flags: string[]): Promise<Tree> {
  const result = await runKinto(['dump', '--ini', ini, ...AUTH, ...flags]);
  expect(result.code, result.stderr).toBe(0);
  return parse(result.stdout) as Tree;
}

async function load(ini: string, file: string, ...flags: string[]): Promise<string> {
  const result = await runKinto(['load', file, '--ini', ini, ...AUTH, ...flags]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

beforeAll(async () => {
  [source, target] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  dir = mkdtempSync(join(tmpdir(), 'kinto-wizard-'));
  sourceIni = join(dir, 'source.ini');
  targetIni = join(dir, 'target.ini');
  writeFileSync(sourceIni, postgresIni(source.url));
  writeFileSync(targetIni, postgresIni(target.url));
  for (const ini of [sourceIni, targetIni]) expect((await runKinto(['migrate', '--ini', ini])).code).toBe(0);

  const app = await buildApp(loadConfig({ iniPath: sourceIni, env: {} }));
  const alice = client(app, basicAuth('alice'));
  aliceId = (await alice.get('/')).json().user.id;
  const bobId = (await client(app, basicAuth('bob')).get('/')).json().user.id;
  await alice.put('/buckets/main', { data: { title: 'Main' }, permissions: { read: ['system.Everyone'] } });
  await alice.put('/buckets/main/groups/editors', { data: { members: [bobId, aliceId], role: 'edit' } });
  await alice.put('/buckets/main/collections/articles', { data: { sort: 'title' }, permissions: { 'record:create': [bobId] } });
  await alice.put('/buckets/main/collections/articles/records/a1', { data: { title: 'One' } });
  await alice.put('/buckets/main/collections/articles/records/a2', { data: { title: 'Two' } });
  await alice.put('/buckets/empty', {});
  await app.close();
});

afterAll(async () => {
  await Promise.all([source?.drop(), target?.drop()]);
});

describe('kinto dump', () => {
  it("writes buckets, groups, collections and permissions in kinto-wizard's layout", async () => {
    const tree = await dump(sourceIni);
    expect(Object.keys(tree.buckets).sort()).toEqual(['empty', 'main']);
    const main = tree.buckets.main;
    expect(main.data).toMatchObject({ id: 'main', title: 'Main' });
    expect(main.permissions).toEqual({ read: ['system.Everyone'], write: [aliceId] });
    expect(main.groups.editors.data.members).toHaveLength(2);
    expect(main.groups.editors.data.role).toBe('edit');
    expect(main.collections.articles.data).toMatchObject({ id: 'articles', sort: 'title' });
    expect(main.collections.articles.permissions['record:create']).toHaveLength(1);
    expect(main.collections.articles.records).toBeUndefined();
  });

  it('adds the records with --records, and keeps only what is asked (--permissions)', async () => {
    const full = await dump(sourceIni, '--full');
    expect(full.buckets.main.collections.articles.records.a1.data).toMatchObject({ id: 'a1', title: 'One' });
    const permissionsOnly = await dump(sourceIni, '--permissions', '--bucket', 'main');
    expect(Object.keys(permissionsOnly.buckets)).toEqual(['main']);
    expect(permissionsOnly.buckets.main.data).toBeUndefined();
    expect(permissionsOnly.buckets.main.permissions.read).toEqual(['system.Everyone']);
    // Groups keep their members even without --data: a group is its members.
    expect(permissionsOnly.buckets.main.groups.editors.data).toEqual({ members: expect.any(Array) });
  });
});

describe('kinto load', () => {
  it('recreates the structure on another server, then changes nothing when loaded again', async () => {
    const file = join(dir, 'structure.yaml');
    writeFileSync(file, stringify(await dump(sourceIni, '--full')));
    expect(await load(targetIni, file)).toBe('Loaded: 6 created, 0 updated, 0 deleted, 0 unchanged.');
    const copied = await dump(targetIni, '--full');
    expect(withoutTimestamps(copied)).toEqual(withoutTimestamps(await dump(sourceIni, '--full')));

    expect(await load(targetIni, file)).toBe('Loaded: 0 created, 0 updated, 0 deleted, 6 unchanged.');
    // Nothing was written: every timestamp is the same.
    expect(await dump(targetIni, '--full')).toEqual(copied);
  });

  it('applies only the differences, and deletes the records the file drops with --delete-records', async () => {
    const file = join(dir, 'changed.yaml');
    const tree = await dump(targetIni, '--full');
    tree.buckets.main.collections.articles.data.sort = 'date';
    tree.buckets.main.permissions.read = [];
    delete tree.buckets.main.collections.articles.records.a2;
    tree.buckets.main.collections.articles.records.a3 = { data: { id: 'a3', title: 'Three' } };
    writeFileSync(file, stringify(tree));

    const before = await dump(targetIni, '--full');
    const planned = await load(targetIni, file, '--dry-run', '--delete-records', '--force');
    expect(planned.split('\n').filter((line) => line.startsWith('would '))).toEqual(
      expect.arrayContaining(['would PATCH /buckets/main/collections/articles', 'would DELETE /buckets/main/collections/articles/records/a2']),
    );
    expect(planned.split('\n').at(-1)).toBe('Would have 1 created, 2 updated, 1 deleted, 3 unchanged.');
    expect(await dump(targetIni, '--full')).toEqual(before);

    expect(await load(targetIni, file, '--delete-records', '--force')).toBe('Loaded: 1 created, 2 updated, 1 deleted, 3 unchanged.');
    const after = await dump(targetIni, '--full');
    expect(after.buckets.main.collections.articles.data.sort).toBe('date');
    expect(after.buckets.main.permissions.read).toBeUndefined();
    expect(Object.keys(after.buckets.main.collections.articles.records).sort()).toEqual(['a1', 'a3']);
  });

  it('refuses to delete records without --force when no one can confirm', async () => {
    const file = join(dir, 'fewer.yaml');
    const tree = await dump(targetIni, '--full');
    delete tree.buckets.main.collections.articles.records.a1;
    writeFileSync(file, stringify(tree));
    const refused = await runKinto(['load', file, '--ini', targetIni, ...AUTH, '--delete-records']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('1 records would be deleted: confirm with --force.');
  });

  it('works against a running server (--server), as kinto-wizard does', async () => {
    const port = await freePort();
    const server = spawnKinto(['start', '--ini', targetIni, '--port', String(port)]);
    try {
      await waitUntilServing(`http://127.0.0.1:${port}/v1/__lbheartbeat__`, server);
      const remote = await runKinto(['dump', '--server', `http://127.0.0.1:${port}/v1`, ...AUTH, '--full']);
      expect(remote.code, remote.stderr).toBe(0);
      expect(parse(remote.stdout)).toEqual(await dump(targetIni, '--full'));
      const file = join(dir, 'remote.yaml');
      writeFileSync(file, remote.stdout);
      const loaded = await runKinto(['load', file, '--server', `http://127.0.0.1:${port}/v1`, ...AUTH]);
      expect(loaded.stdout.trim()).toMatch(/0 created, 0 updated, 0 deleted/);
    } finally {
      await server.stop();
    }
  });

  it('reports a file that is not a kinto-wizard tree', async () => {
    const file = join(dir, 'wrong.yaml');
    writeFileSync(file, 'collections: []\n');
    const result = await runKinto(['load', file, '--ini', targetIni]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`${file} has no 'buckets' mapping (kinto-wizard format expected)`);
    expect(readFileSync(file, 'utf8')).toBe('collections: []\n');
  });
});
