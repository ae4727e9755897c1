/**
 * `kinto elasticsearch-reindex`, run directly (as the CLI runs plugin commands) against the
 * backends of an app, and a FAKE Elasticsearch (fake-es.ts): no Elasticsearch server can be
 * installed on this machine.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PluginCommandContext } from '../../../core/plugin.ts';
import { ALICE, client, makeApp } from '../../../test/helpers/app.ts';
import { parseReindexArgs, REINDEX_COMMAND, REINDEX_EXIT } from '../reindex.ts';
import { FakeElasticsearch } from './fake-es.ts';

const SCHEMA = { properties: { title: { type: 'text' } } };

let fake: FakeElasticsearch;
let app: FastifyInstance | undefined;
let stdout: string[];
let stderr: string[];

beforeAll(async () => {
  fake = await FakeElasticsearch.start();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.indices.clear();
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((text) => Boolean(stdout.push(String(text))));
  vi.spyOn(process.stderr, 'write').mockImplementation((text) => Boolean(stderr.push(String(text))));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
});

async function appWith(includes: string): Promise<FastifyInstance> {
  app = await makeApp(`kinto.includes = ${includes}\nelasticsearch.hosts = ${fake.host}\nelasticsearch.force_refresh = true\n`);
  return app;
}

/** What the CLI hands a plugin command: the configuration (plugin settings resolved) and the backends. */
function contextOf(server: FastifyInstance): PluginCommandContext {
  const { storage, permission, cache } = server.kinto;
  return { config: { ...server.kinto.config, settings: server.kinto.settings }, openBackends: async () => ({ storage, permission, cache }) };
}

const reindex = (server: FastifyInstance, ...argv: string[]) => REINDEX_COMMAND.run(argv, contextOf(server));

describe('kinto elasticsearch-reindex', () => {
  it('recreates the index from `index:schema` and reindexes every record', async () => {
    const server = await appWith('kinto_elasticsearch');
    const alice = client(server, ALICE);
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/collections/c', { data: { 'index:schema': SCHEMA } });
    for (const id of ['r1', 'r2', 'r3']) await alice.put(`/buckets/b/collections/c/records/${id}`, { data: { title: id } });
    // An index out of date: a stale document, a lost one, a changed mapping.
    const index = fake.indices.get('kinto-b-c')!;
    index.documents.delete('r2');
    index.documents.set('stale', { id: 'stale' });
    index.mappings = {};
    expect(await reindex(server, '-b', 'b', '-c', 'c')).toBe(0);
    const rebuilt = fake.indices.get('kinto-b-c')!;
    expect(rebuilt.mappings).toEqual(SCHEMA);
    expect([...rebuilt.documents.keys()].sort()).toEqual(['r1', 'r2', 'r3']);
    expect(rebuilt.documents.get('r2')).toEqual((await alice.get('/buckets/b/collections/c/records/r2')).json().data);
    expect(stdout.join('')).toBe("Old index 'kinto-b-c' deleted.\nNew index 'kinto-b-c' created.\n.\n3 records reindexed.\n");
    expect(await reindex(server, '--bucket=b', '--collection', 'c')).toBe(0);
  });

  it('exits 62 when the plugin is not included', async () => {
    const server = await appWith('kinto.plugins.flush');
    expect(await reindex(server, '-b', 'b', '-c', 'c')).toBe(REINDEX_EXIT.notIncluded);
    expect(REINDEX_EXIT.notIncluded).toBe(62);
    expect(stderr.join('')).toMatch(/kinto-elasticsearch not available/);
  });

  it('exits 63 when the collection does not exist, 64 when it has no `index:schema`', async () => {
    const server = await appWith('kinto_elasticsearch');
    const alice = client(server, ALICE);
    await alice.put('/buckets/b');
    await alice.put('/buckets/b/collections/plain');
    expect(await reindex(server, '-b', 'b', '-c', 'nope')).toBe(63);
    expect(await reindex(server, '-b', 'nope', '-c', 'plain')).toBe(63);
    expect(stderr.join('')).toMatch(/No collection 'nope' in bucket 'b'/);
    expect(await reindex(server, '-b', 'b', '-c', 'plain')).toBe(64);
    expect(stderr.join('')).toMatch(/No `index:schema` attribute/);
  });

  it('exits 2 with a usage message on missing or unknown arguments', async () => {
    const server = await appWith('kinto_elasticsearch');
    expect(await reindex(server, '-b', 'b')).toBe(2);
    expect(await reindex(server, '-b', 'b', '-c', 'c', '--force')).toBe(2);
    expect(stderr.join('')).toMatch(/Usage: kinto elasticsearch-reindex -b BUCKET -c COLLECTION/);
    expect(parseReindexArgs(['-c', 'c', '-b'])).toMatch(/Missing value of -b/);
  });

  it('is a command of the plugin', async () => {
    const plugin = (await import('../index.ts')).default;
    expect(plugin.cli?.map((command) => command.name)).toEqual(['elasticsearch-reindex']);
  });
});
