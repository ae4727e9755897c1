/**
 * The elasticsearch plugin, driven over HTTP (`app.inject`), talking over real HTTP to a
 * FAKE Elasticsearch (fake-es.ts): no Elasticsearch server can be installed on this machine,
 * so the fake implements the part of the ES REST API the plugin uses. What is checked here
 * is what the plugin sends and how it answers; ES's own search semantics are only imitated.
 */
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALICE, BOB, client, makeApp, type Client } from '../../../test/helpers/app.ts';
import { FakeElasticsearch } from './fake-es.ts';

const COLLECTION = '/buckets/b/collections/c';
const RECORDS = `${COLLECTION}/records`;
const SEARCH = `${COLLECTION}/search`;
const INDEX = 'kinto-b-c';

let fake: FakeElasticsearch;
let app: FastifyInstance | undefined;

beforeAll(async () => {
  fake = await FakeElasticsearch.start();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.indices.clear();
  fake.requests.length = 0;
  fake.failWith = null;
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function esIni(settings: Record<string, string> = {}): string {
  const all = { 'kinto.includes': 'kinto.plugins.flush kinto_elasticsearch', 'elasticsearch.hosts': fake.host, ...settings };
  return Object.entries(all).map(([key, value]) => `${key} = ${value}\n`).join('');
}

async function start(settings: Record<string, string> = {}): Promise<Client> {
  app = await makeApp(esIni({ 'elasticsearch.force_refresh': 'true', ...settings }));
  return client(app, ALICE);
}

/** Alice's bucket `b` and collection `c` (so the index `kinto-b-c`), with records. */
async function withRecords(alice: Client, records: Record<string, unknown>[] = []): Promise<void> {
  expect((await alice.put('/buckets/b')).statusCode).toBe(201);
  expect((await alice.put(COLLECTION)).statusCode).toBe(201);
  for (const record of records) expect((await alice.put(`${RECORDS}/${record.id}`, { data: record })).statusCode).toBe(201);
}

const indexed = (name = INDEX) => fake.indices.get(name)?.documents;
const hitIds = (body: { hits: { hits: { _id: string }[] } }) => body.hits.hits.map((hit) => hit._id);

/** A port nothing listens on: an Elasticsearch that is down. */
async function deadHost(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

describe('elasticsearch: indexing', () => {
  it('indexes created and updated records (_id = record id, _source = record) and removes deleted ones', async () => {
    const alice = await start();
    await withRecords(alice, [{ id: 'r1', title: 'hello' }]);
    const stored = (await alice.get(`${RECORDS}/r1`)).json().data;
    expect(indexed()!.get('r1')).toEqual(stored);
    const patched = await alice.patch(`${RECORDS}/r1`, { data: { title: 'bonjour' } });
    expect(indexed()!.get('r1')).toEqual(patched.json().data);
    const posted = (await alice.post(RECORDS, { data: { title: 'new' } })).json().data;
    expect(indexed()!.get(posted.id)).toEqual(posted);
    expect((await alice.delete(`${RECORDS}/r1`)).statusCode).toBe(200);
    expect([...indexed()!.keys()]).toEqual([posted.id]);
    expect((await alice.delete(RECORDS)).statusCode).toBe(200);
    expect(indexed()!.size).toBe(0);
  });

  it('sends one bulk request per write, refreshing only with force_refresh', async () => {
    const alice = await start({ 'elasticsearch.force_refresh': 'false' });
    await withRecords(alice, [{ id: 'r1', title: 'hello' }]);
    expect(fake.requests.filter((line) => line.startsWith('POST /_bulk'))).toEqual(['POST /_bulk?refresh=false']);
    // Near real-time: not searchable before Elasticsearch refreshes the index.
    expect((await alice.get(SEARCH)).json().hits.total.value).toBe(0);
    fake.refresh();
    expect(hitIds((await alice.get(SEARCH)).json())).toEqual(['r1']);
  });

  it('creates the index with the collection, its mapping from `index:schema`', async () => {
    const alice = await start();
    await alice.put('/buckets/b');
    const schema = { properties: { title: { type: 'text' }, year: { type: 'integer' } } };
    await alice.put(COLLECTION, { data: { 'index:schema': schema } });
    expect(fake.indices.get(INDEX)!.mappings).toEqual(schema);
    await alice.put('/buckets/b/collections/plain');
    expect(fake.indices.get('kinto-b-plain')!.mappings).toEqual({});
  });

  it('puts the mapping when `index:schema` changes, and only then', async () => {
    const alice = await start();
    await withRecords(alice);
    await alice.patch(COLLECTION, { data: { 'index:schema': { properties: { title: { type: 'keyword' } } } } });
    expect(fake.indices.get(INDEX)!.mappings).toEqual({ properties: { title: { type: 'keyword' } } });
    await alice.patch(COLLECTION, { data: { 'index:schema': { properties: { year: { type: 'integer' } } } } });
    expect(fake.indices.get(INDEX)!.mappings.properties).toEqual({ title: { type: 'keyword' }, year: { type: 'integer' } });
    fake.requests.length = 0;
    await alice.patch(COLLECTION, { data: { other: 1 } });
    expect(fake.requests.filter((line) => line.includes('_mapping'))).toEqual([]);
  });

  it('deletes the index with its collection, and every index of a deleted bucket', async () => {
    const alice = await start();
    await withRecords(alice, [{ id: 'r1' }]);
    await alice.put('/buckets/b/collections/d');
    await alice.put('/buckets/b2');
    await alice.put('/buckets/b2/collections/c');
    expect((await alice.delete(COLLECTION)).statusCode).toBe(200);
    expect([...fake.indices.keys()].sort()).toEqual(['kinto-b-d', 'kinto-b2-c']);
    expect((await alice.delete('/buckets/b')).statusCode).toBe(200);
    expect([...fake.indices.keys()]).toEqual(['kinto-b2-c']);
  });

  it('deletes every index of the prefix on POST /__flush__, not the others', async () => {
    const alice = await start();
    await withRecords(alice, [{ id: 'r1' }]);
    await fetch(`${fake.url}/unrelated`, { method: 'PUT' });
    expect((await alice.post('/__flush__')).statusCode).toBe(202);
    expect([...fake.indices.keys()]).toEqual(['unrelated']);
  });

  it('names indices with elasticsearch.index_prefix', async () => {
    const alice = await start({ 'elasticsearch.index_prefix': 'custom' });
    await withRecords(alice, [{ id: 'r1' }]);
    expect([...fake.indices.keys()]).toEqual(['custom-b-c']);
    expect(indexed('custom-b-c')!.has('r1')).toBe(true);
  });

  it('never fails a write when Elasticsearch refuses it or is down: the failure is only logged', async () => {
    const alice = await start();
    await withRecords(alice);
    const logged = vi.spyOn(app!.log, 'error');
    fake.failWith = 500;
    expect((await alice.put(`${RECORDS}/r1`, { data: { title: 'x' } })).statusCode).toBe(201);
    expect((await alice.put('/buckets/b/collections/other')).statusCode).toBe(201);
    expect(logged.mock.calls.map(([, message]) => message)).toEqual([
      'Failed to index record changes',
      'Failed to index collection changes',
    ]);
    await app!.close();
    app = await makeApp(esIni({ 'elasticsearch.hosts': await deadHost() }));
    const down = client(app, ALICE);
    expect((await down.put('/buckets/b')).statusCode).toBe(201);
    expect((await down.put(COLLECTION)).statusCode).toBe(201);
    expect((await down.put(`${RECORDS}/r2`, { data: { title: 'y' } })).statusCode).toBe(201);
    expect((await down.delete(`${RECORDS}/r2`)).statusCode).toBe(200);
    expect((await down.delete('/buckets/b')).statusCode).toBe(200);
  });
});

describe('elasticsearch: search', () => {
  const RECORDS_DATA = [
    { id: 'r1', title: 'Hello world', year: 2001, tag: 'a' },
    { id: 'r2', title: 'Goodbye world', year: 1999, tag: 'b' },
    { id: 'r3', title: 'Hello again', year: 2010, tag: 'a' },
  ];

  it('answers GET ?q= with the raw Elasticsearch response', async () => {
    const alice = await start();
    await withRecords(alice, RECORDS_DATA);
    const response = await alice.get(`${SEARCH}?q=title:hello`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['_shards', 'hits', 'timed_out', 'took']);
    expect(body.hits.total).toEqual({ value: 2, relation: 'eq' });
    expect(hitIds(body).sort()).toEqual(['r1', 'r3']);
    expect(body.hits.hits[0]._source).toEqual((await alice.get(`${RECORDS}/${body.hits.hits[0]._id}`)).json().data);
    expect(hitIds((await alice.get(SEARCH)).json()).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(hitIds((await alice.get(`${SEARCH}?q=goodbye`)).json())).toEqual(['r2']);
  });

  it('answers POST with the query DSL of the body', async () => {
    const alice = await start();
    await withRecords(alice, RECORDS_DATA);
    const search = async (body: unknown) => (await alice.post(SEARCH, body)).json();
    expect(hitIds(await search({ query: { match: { title: 'world' } } })).sort()).toEqual(['r1', 'r2']);
    expect(hitIds(await search({ query: { term: { tag: 'a' } }, sort: [{ year: 'desc' }] }))).toEqual(['r3', 'r1']);
    expect(hitIds(await search({ query: { match_all: {} }, sort: ['year'] }))).toEqual(['r2', 'r1', 'r3']);
    expect(hitIds(await search({ query: { query_string: { query: 'tag:b' } } }))).toEqual(['r2']);
    expect(hitIds((await alice.post(SEARCH)).json()).sort()).toEqual(['r1', 'r2', 'r3']);
  });

  it('limits the hits to paginate_by / storage_max_fetch_size, keeping a smaller size of the body', async () => {
    const alice = await start({ 'kinto.paginate_by': '2' });
    await withRecords(alice, RECORDS_DATA);
    expect((await alice.get(SEARCH)).json().hits.hits).toHaveLength(2);
    expect(fake.requests.at(-1)).toBe(`GET /${INDEX}/_search?size=2`);
    expect((await alice.post(SEARCH, { size: 10 })).json().hits.hits).toHaveLength(2);
    expect(fake.requests.at(-1)).toBe(`POST /${INDEX}/_search?size=2`);
    expect((await alice.post(SEARCH, { size: 1 })).json().hits.hits).toHaveLength(1);
    expect(fake.requests.at(-1)).toBe(`POST /${INDEX}/_search`);
    await app!.close();
    fake.indices.clear();
    const capped = await start({ 'kinto.storage_max_fetch_size': '1', 'kinto.paginate_by': '5' });
    await withRecords(capped, RECORDS_DATA);
    expect((await capped.get(SEARCH)).json().hits.hits).toHaveLength(1);
    expect(fake.requests.at(-1)).toBe(`GET /${INDEX}/_search?size=1`);
  });

  it('creates a missing index (plugin included after the collection) and searches it', async () => {
    const alice = await start();
    await withRecords(alice, [{ id: 'r1' }]);
    fake.indices.delete(INDEX);
    const response = await alice.get(SEARCH);
    expect(response.statusCode).toBe(200);
    expect(response.json().hits.total.value).toBe(0);
    expect(fake.indices.has(INDEX)).toBe(true);
  });

  it('answers 400 errno 107 with what Elasticsearch said about a malformed query', async () => {
    const alice = await start();
    await withRecords(alice, RECORDS_DATA);
    const unknown = await alice.post(SEARCH, { query: { foo: {} } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toEqual({
      code: 400,
      errno: 107,
      error: 'Bad Request',
      message: 'unknown query [foo]',
      details: { type: 'parsing_exception', reason: 'unknown query [foo]' },
    });
    const syntax = await alice.get(`${SEARCH}?q=${encodeURIComponent('title:')}`);
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json()).toMatchObject({
      errno: 107,
      message: 'all shards failed',
      details: { type: 'query_shard_exception', reason: 'Failed to parse query [title:]' },
    });
    for (const body of [[1, 2], { size: -1 }, { query: 'x' }]) {
      const response = await alice.post(SEARCH, body);
      expect(response.statusCode).toBe(400);
      expect(response.json().errno).toBe(107);
    }
  });

  it('answers 400 errno 107, not 500, for a collection ES cannot name an index after', async () => {
    const alice = await start();
    await alice.put('/buckets/b');
    expect((await alice.put('/buckets/b/collections/Upper')).statusCode).toBe(201);
    const response = await alice.get('/buckets/b/collections/Upper/search');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ errno: 107, details: { type: 'invalid_index_name_exception' } });
  });

  it('answers 200 {} when Elasticsearch fails otherwise or is down', async () => {
    const alice = await start();
    await withRecords(alice, RECORDS_DATA);
    const logged = vi.spyOn(app!.log, 'error');
    fake.failWith = 500;
    const failing = await alice.get(SEARCH);
    expect(failing.statusCode).toBe(200);
    expect(failing.json()).toEqual({});
    expect(logged).toHaveBeenCalledWith(expect.objectContaining({ err: expect.any(Error) }), 'Index query failed.');
    await app!.close();
    app = await makeApp(esIni({ 'elasticsearch.hosts': await deadHost() }));
    const down = client(app, ALICE);
    await withRecords(down);
    for (const response of [await down.get(`${SEARCH}?q=x`), await down.post(SEARCH, { query: { match_all: {} } })]) {
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({});
    }
  });

  it('answers 405 to other methods', async () => {
    const alice = await start();
    await withRecords(alice);
    expect((await alice.put(SEARCH, {})).statusCode).toBe(405);
    expect((await alice.delete(SEARCH)).json().errno).toBe(115);
  });
});

describe('elasticsearch: search permissions', () => {
  it('requires read on the records: 401 anonymous, 403 without it, results with it', async () => {
    const alice = await start();
    await withRecords(alice, [{ id: 'r1', title: 'secret' }]);
    const anonymous = await client(app!).get(SEARCH);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().errno).toBe(104);
    const bob = client(app!, BOB);
    expect((await bob.get(SEARCH)).statusCode).toBe(403);
    expect((await bob.post(SEARCH, { query: { match_all: {} } })).json().errno).toBe(121);
    const bobId = (await bob.get('/')).json().user.id;
    await alice.patch(COLLECTION, { permissions: { read: [bobId] } });
    const allowed = await bob.get(SEARCH);
    expect(allowed.statusCode).toBe(200);
    expect(hitIds(allowed.json())).toEqual(['r1']);
  });

  it('grants search through the bucket, but not through one readable record', async () => {
    const alice = await start();
    await withRecords(alice, [{ id: 'r1' }, { id: 'r2' }]);
    const bob = client(app!, BOB);
    const bobId = (await bob.get('/')).json().user.id;
    await alice.patch(`${RECORDS}/r1`, { permissions: { read: [bobId] } });
    expect((await bob.get(`${RECORDS}`)).statusCode).toBe(200);
    expect((await bob.get(SEARCH)).statusCode).toBe(403);
    await alice.patch('/buckets/b', { permissions: { read: [bobId] } });
    expect(hitIds((await bob.get(SEARCH)).json()).sort()).toEqual(['r1', 'r2']);
  });

  it('answers unknown buckets and collections as the records endpoint does', async () => {
    const alice = await start();
    await withRecords(alice);
    for (const path of ['/buckets/nope/collections/c', '/buckets/b/collections/nope']) {
      const records = await alice.get(`${path}/records`);
      const search = await alice.get(`${path}/search`);
      expect([search.statusCode, search.json()]).toEqual([records.statusCode, records.json()]);
    }
    expect((await alice.get('/buckets/b/collections/nope/search')).statusCode).toBe(404);
    expect(fake.indices.has('kinto-b-nope')).toBe(false);
  });
});

describe('elasticsearch: heartbeat and capability', () => {
  it('advertises the elasticsearch capability', async () => {
    const alice = await start();
    expect((await alice.get('/')).json().capabilities.elasticsearch).toEqual({
      description: 'Index and search records using ElasticSearch.',
      url: 'https://github.com/Kinto/kinto-elasticsearch',
      version: expect.any(String),
    });
  });

  it('reports the elasticsearch heartbeat: true when it answers, false when down', async () => {
    const alice = await start();
    const up = await alice.get('/__heartbeat__');
    expect(up.statusCode).toBe(200);
    expect(up.json().elasticsearch).toBe(true);
    await app!.close();
    app = await makeApp(esIni({ 'elasticsearch.hosts': await deadHost() }));
    const down = await client(app).get('/__heartbeat__');
    expect(down.statusCode).toBe(503);
    expect(down.json().elasticsearch).toBe(false);
  });

  it('refuses a host that is not host:port or a URL at start-up', async () => {
    await expect(makeApp(esIni({ 'elasticsearch.hosts': 'http://[bad' }))).rejects.toThrow(/elasticsearch\.hosts/);
  });
});
