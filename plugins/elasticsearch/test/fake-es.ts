/**
 * A FAKE Elasticsearch server for the tests: no Elasticsearch can be installed on the test
 * machines (none in Debian, the npm "local server" packages download it at run time, no
 * Docker), so this small fastify app speaks the part of the ES REST API the plugin uses,
 * over real HTTP, to the real `@elastic/elasticsearch` client:
 *
 * - `HEAD /` (ping), `HEAD|PUT|DELETE /{index}` (DELETE takes lists and wildcards),
 *   `PUT /{index}/_mapping`, `POST [/{index}]/_bulk` (NDJSON), `POST [/{index}]/_refresh`,
 *   `GET|POST /{index}/_search` (`q`, `size`, `from`, `sort`; see fake-es-query.ts);
 * - near real-time like ES: written documents are searchable after a refresh (`_refresh`, or
 *   `?refresh=true` on the write);
 * - ES-shaped errors (`{"error": {"root_cause": [...], "type", "reason"}, "status"}`).
 *
 * State is in memory and inspectable (`indices`); `failWith` makes every request fail.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { compareSortValues, matches, parseSort, QueryError, queryStringMatches, sortValues, type Doc } from './fake-es-query.ts';

export interface FakeIndex {
  mappings: Doc;
  /** The latest version of every document, as written. */
  documents: Map<string, Doc>;
  /** What searches see: the documents as of the last refresh. */
  searchable: Map<string, Doc>;
}

class EsError extends Error {
  readonly status: number;
  readonly body: Doc;
  constructor(status: number, type: string, reason: string, extra: Doc = {}, rootCause?: Doc) {
    super(reason);
    this.status = status;
    this.body = { error: { root_cause: [rootCause ?? { type, reason, ...extra }], type, reason, ...extra }, status };
  }
}

const noSuchIndex = (index: string) =>
  new EsError(404, 'index_not_found_exception', `no such index [${index}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': index,
    index,
  });

function checkIndexName(index: string): void {
  const invalid = (why: string) => new EsError(400, 'invalid_index_name_exception', `Invalid index name [${index}], ${why}`, { index });
  if (index !== index.toLowerCase()) throw invalid('must be lowercase');
  if (/[\\/*?"<>| ,#:]/.test(index) || /^[-_+]/.test(index)) {
    throw invalid('must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]');
  }
}

function parseJson(text: string | undefined): unknown {
  if (!text || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new EsError(400, 'x_content_parse_exception', 'Failed to parse the request body as JSON');
  }
}

const wildcardRegExp = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

const SEARCH_KEYS = new Set(['query', 'size', 'from', 'sort', '_source', 'track_total_hits']);

export class FakeElasticsearch {
  readonly indices = new Map<string, FakeIndex>();
  /** When set, every request is answered with this status (a broken cluster). */
  failWith: number | null = null;
  /** Every request received, as `METHOD /path?query`. */
  readonly requests: string[] = [];
  private readonly app: FastifyInstance;
  url = '';

  private constructor() {
    this.app = Fastify();
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    this.app.addHook('onRequest', async (request) => {
      this.requests.push(`${request.method} ${request.url}`);
      if (this.failWith !== null) throw new EsError(this.failWith, 'exception', 'the fake cluster is failing');
    });
    this.app.addHook('onSend', async (_request, reply) => {
      reply.header('x-elastic-product', 'Elasticsearch');
    });
    this.app.setErrorHandler((error, _request, reply) => {
      if (error instanceof EsError) return reply.code(error.status).send(error.body);
      if (error instanceof QueryError) return reply.code(400).send(queryErrorBody(error));
      return reply.code(500).send({ error: { type: 'exception', reason: String(error) }, status: 500 });
    });
    this.routes();
  }

  /** Starts on a free port of 127.0.0.1. */
  static async start(): Promise<FakeElasticsearch> {
    const fake = new FakeElasticsearch();
    fake.url = await fake.app.listen({ host: '127.0.0.1', port: 0 });
    return fake;
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /** The `host:port` to write in `elasticsearch.hosts`. */
  get host(): string {
    return this.url.replace(/^http:\/\//, '');
  }

  /** Makes every written document searchable (`POST /_refresh`). */
  refresh(names: Iterable<string> = this.indices.keys()): void {
    for (const name of names) {
      const index = this.indices.get(name);
      if (index) index.searchable = new Map(index.documents);
    }
  }

  private create(name: string, mappings: Doc = {}): FakeIndex {
    checkIndexName(name);
    const index: FakeIndex = { mappings, documents: new Map(), searchable: new Map() };
    this.indices.set(name, index);
    return index;
  }

  /** Concrete names of `a,b,pre-*`: a wildcard matching nothing is fine, a missing name is not. */
  private resolve(expression: string): string[] {
    const names = new Set<string>();
    for (const part of expression.split(',')) {
      if (part.includes('*')) {
        for (const name of this.indices.keys()) if (wildcardRegExp(part).test(name)) names.add(name);
      } else if (this.indices.has(part)) names.add(part);
      else throw noSuchIndex(part);
    }
    return [...names];
  }

  private existing(name: string): FakeIndex {
    const index = this.indices.get(name);
    if (!index) throw noSuchIndex(name);
    return index;
  }

  private routes(): void {
    const app = this.app;
    app.head('/', async () => '');
    app.get('/', async () => ({ name: 'fake', cluster_name: 'fake', version: { number: '9.0.0' }, tagline: 'You Know, for Search' }));
    app.head('/:index', async (request, reply) => reply.code(this.indices.has(indexOf(request)) ? 200 : 404).send());
    app.put('/:index', async (request) => this.createIndex(indexOf(request), parseJson(request.body as string)));
    app.delete('/:index', async (request) => {
      for (const name of this.resolve(indexOf(request))) this.indices.delete(name);
      return { acknowledged: true };
    });
    for (const method of ['PUT', 'POST'] as const) {
      app.route({ method, url: '/:index/_mapping', handler: async (request) => this.putMapping(indexOf(request), parseJson(request.body as string)) });
    }
    app.get('/:index/_mapping', async (request) => {
      const name = indexOf(request);
      return { [name]: { mappings: this.existing(name).mappings } };
    });
    app.post('/_bulk', async (request) => this.bulk(request, undefined));
    app.post('/:index/_bulk', async (request) => this.bulk(request, indexOf(request)));
    app.post('/_refresh', async () => this.refreshed([...this.indices.keys()]));
    app.post('/:index/_refresh', async (request) => this.refreshed(this.resolve(indexOf(request))));
    for (const method of ['GET', 'POST'] as const) {
      app.route({ method, url: '/:index/_search', handler: async (request) => this.search(request) });
    }
  }

  private createIndex(name: string, body: unknown): Doc {
    if (this.indices.has(name)) {
      throw new EsError(400, 'resource_already_exists_exception', `index [${name}/fake] already exists`, { index: name });
    }
    const mappings = (body as Doc | undefined)?.mappings ?? {};
    if (typeof mappings !== 'object' || Array.isArray(mappings)) {
      throw new EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping: mappings must be an object');
    }
    this.create(name, mappings as Doc);
    return { acknowledged: true, shards_acknowledged: true, index: name };
  }

  private putMapping(name: string, body: unknown): Doc {
    const index = this.existing(name);
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping: the mapping must be an object');
    }
    const { properties, ...rest } = body as Doc;
    const merged = { ...(index.mappings.properties as Doc | undefined), ...(properties as Doc | undefined) };
    index.mappings = { ...index.mappings, ...rest, properties: merged };
    return { acknowledged: true };
  }

  private refreshed(names: string[]): Doc {
    this.refresh(names);
    return { _shards: { total: names.length, successful: names.length, failed: 0 } };
  }

  private bulk(request: FastifyRequest, defaultIndex: string | undefined): Doc {
    const lines = String(request.body ?? '').split('\n').filter((line) => line.trim() !== '');
    const items: Record<string, Doc>[] = [];
    const touched = new Set<string>();
    for (let position = 0; position < lines.length; position++) {
      const action = parseJson(lines[position]) as Record<string, Doc> | undefined;
      const [type, meta] = Object.entries(action ?? {})[0] ?? [];
      if (!['index', 'create', 'delete'].includes(type ?? '')) {
        throw new EsError(400, 'illegal_argument_exception', `Malformed action/metadata line [${position + 1}]`);
      }
      const source = type === 'delete' ? undefined : (parseJson(lines[++position]) as Doc);
      const name = String(meta._index ?? defaultIndex);
      items.push({ [type]: this.bulkItem(type, name, String(meta._id), source) });
      touched.add(name);
    }
    const query = request.query as Record<string, string | undefined>;
    if (query.refresh === 'true' || query.refresh === '' || query.refresh === 'wait_for') this.refresh(touched);
    return { took: 1, errors: items.some((item) => Object.values(item)[0].error !== undefined), items };
  }

  private bulkItem(type: string, name: string, id: string, source: Doc | undefined): Doc {
    let index = this.indices.get(name);
    try {
      if (!index && type !== 'delete') index = this.create(name); // ES creates indices on first write.
    } catch (error) {
      return { _index: name, _id: id, status: 400, error: (error as EsError).body.error };
    }
    if (type === 'delete') {
      const found = index?.documents.delete(id) ?? false;
      return { _index: name, _id: id, status: found ? 200 : 404, result: found ? 'deleted' : 'not_found' };
    }
    const existed = index!.documents.has(id);
    index!.documents.set(id, source ?? {});
    return { _index: name, _id: id, status: existed ? 200 : 201, result: existed ? 'updated' : 'created' };
  }

  private search(request: FastifyRequest): Doc {
    const names = this.resolve(indexOf(request));
    const { selected, size, from, sort } = searchOptions(request);
    const hits = names.flatMap((name) =>
      [...this.indices.get(name)!.searchable].filter(([, doc]) => selected(doc)).map(([_id, doc]) => ({ _index: name, _id, doc })),
    );
    if (sort.length) hits.sort((a, b) => compareSortValues(sortValues(a.doc, sort), sortValues(b.doc, sort), sort));
    const page = hits.slice(from, from + size).map(({ _index, _id, doc }) => {
      const hit = { _index, _id, _score: sort.length ? null : 1, _source: doc };
      return sort.length ? { ...hit, sort: sortValues(doc, sort) } : hit;
    });
    return {
      took: 1,
      timed_out: false,
      _shards: { total: names.length, successful: names.length, skipped: 0, failed: 0 },
      hits: { total: { value: hits.length, relation: 'eq' }, max_score: hits.length && !sort.length ? 1 : null, hits: page },
    };
  }
}

/** What a search asks, from its URL parameters (which win) and its body. */
function searchOptions(request: FastifyRequest) {
  const query = request.query as Record<string, string | undefined>;
  const body = parseJson(request.body as string | undefined) ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new QueryError('parsing_exception', 'Unknown key for a START_ARRAY in [null].');
  }
  const unknown = Object.keys(body).find((key) => !SEARCH_KEYS.has(key));
  if (unknown) throw new QueryError('parsing_exception', `Unknown key for a START_OBJECT in [${unknown}].`);
  const dsl = body as Doc;
  const q = query.q;
  return {
    selected: (doc: Doc) => (q !== undefined ? queryStringMatches(q, doc) : matches(dsl.query ?? { match_all: {} }, doc)),
    size: integer(query.size ?? dsl.size, 10, 'size'),
    from: integer(query.from ?? dsl.from, 0, 'from'),
    sort: parseSort(query.sort ?? dsl.sort),
  };
}

function indexOf(request: FastifyRequest): string {
  return (request.params as { index: string }).index;
}

function integer(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    throw new QueryError('illegal_argument_exception', `[${name}] parameter cannot be negative or fractional, found [${String(value)}]`);
  }
  return number;
}

/** ES answers query errors as 400s; `q=` syntax errors as a failed search phase. */
function queryErrorBody(error: QueryError): Doc {
  const cause = { type: error.type, reason: error.message };
  if (!error.phaseFailure) return { error: { root_cause: [cause], ...cause }, status: 400 };
  return {
    error: { root_cause: [cause], type: 'search_phase_execution_exception', reason: 'all shards failed', phase: 'query', grouped: true },
    status: 400,
  };
}
