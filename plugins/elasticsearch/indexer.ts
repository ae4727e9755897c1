import { Client, errors, type estypes } from '@elastic/elasticsearch';
import { SettingsError } from '../../core/settings/ini.ts';

/** A document of the bulk request: indexed (`_source` = the record) or removed. */
export type BulkOperation =
  | { readonly action: 'index'; readonly index: string; readonly id: string; readonly source: Record<string, unknown> }
  | { readonly action: 'delete'; readonly index: string; readonly id: string };

export interface IndexerOptions {
  readonly hosts: readonly string[];
  readonly prefix: string;
  readonly forceRefresh: boolean;
}

/** Search arguments: `?q=` of a GET, or the raw query DSL of a POST (undefined when empty). */
export interface SearchRequest {
  readonly q?: string;
  readonly body?: unknown;
  /** Sent as the `size` URL parameter, which takes precedence over the body's. */
  readonly size?: number;
}

/**
 * As the Python client (elasticsearch-py 6): 3 retries on connection errors, at once rather
 * than with the JS client's back-off of up to seconds, since indexing runs before the
 * request that wrote answers; 10 s per attempt.
 */
const REQUEST_OPTIONS = { retryBackoff: () => 0 };
const CLIENT_OPTIONS = { maxRetries: 3, requestTimeout: 10_000 };

/** Python's client accepted `host:port`; the JS client wants URLs. */
export function nodeUrl(host: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `http://${host}`;
  try {
    new URL(url);
  } catch {
    throw new SettingsError(`elasticsearch.hosts: '${host}' is not a host:port or a URL`);
  }
  return url;
}

/** A failed bulk item that is a real failure: deleting a document already gone is not one. */
function failedItems(response: estypes.BulkResponse): unknown[] {
  return response.items.flatMap((item) =>
    Object.entries(item)
      .filter(([action, result]) => result?.error !== undefined && !(action === 'delete' && result.status === 404))
      .map(([, result]) => result),
  );
}

/** Thrown when some documents of a bulk request were refused; the others went through. */
export class BulkIndexError extends Error {
  readonly failures: unknown[];
  constructor(failures: unknown[]) {
    super(`${failures.length} document(s) failed to index`);
    this.failures = failures;
  }
}

/** kinto-elasticsearch's `Indexer`: one index per collection, named `{prefix}-{bid}-{cid}`. */
export class Indexer {
  readonly client: Client;
  private readonly prefix: string;
  private readonly forceRefresh: boolean;

  constructor(options: IndexerOptions) {
    this.client = new Client({ nodes: options.hosts.map(nodeUrl), ...CLIENT_OPTIONS });
    this.prefix = options.prefix;
    this.forceRefresh = options.forceRefresh;
  }

  indexName(bucketId: string, collectionId: string): string {
    return `${this.prefix}-${bucketId}-${collectionId}`;
  }

  /** Creates the index (with `schema` as its mapping), or updates the mapping of an existing one. */
  async createIndex(bucketId: string, collectionId: string, schema?: unknown): Promise<void> {
    const index = this.indexName(bucketId, collectionId);
    if (await this.client.indices.exists({ index }, REQUEST_OPTIONS)) {
      await this.updateIndex(bucketId, collectionId, schema);
      return;
    }
    // As Python's `if schema:`, an empty mapping is no mapping.
    const empty = !schema || (typeof schema === 'object' && Object.keys(schema).length === 0);
    const mappings = empty ? {} : { mappings: schema as estypes.MappingTypeMapping };
    await this.client.indices.create({ index, ...mappings }, REQUEST_OPTIONS);
  }

  /** Puts the mapping; a removed schema puts an empty one (ES cannot drop mapped fields). */
  async updateIndex(bucketId: string, collectionId: string, schema?: unknown): Promise<void> {
    const index = this.indexName(bucketId, collectionId);
    const mapping = schema == null ? { properties: {} } : schema;
    // Sent as written: the collection's `index:schema` is an ES mapping, checked by ES.
    await this.client.indices.putMapping({ index, body: JSON.stringify(mapping) }, REQUEST_OPTIONS);
  }

  /** Deletes one collection's index, or every index of the bucket when `collectionId` is omitted. */
  async deleteIndex(bucketId: string, collectionId = '*'): Promise<void> {
    await this.client.indices.delete({ index: this.indexName(bucketId, collectionId) }, { ...REQUEST_OPTIONS, ignore: [404] });
  }

  /** After `POST /__flush__`: every index of this server. */
  async flush(): Promise<void> {
    await this.client.indices.delete({ index: `${this.prefix}-*` }, { ...REQUEST_OPTIONS, ignore: [404] });
  }

  /** The raw ES response. */
  async search(bucketId: string, collectionId: string, request: SearchRequest): Promise<estypes.SearchResponse> {
    const querystring: Record<string, string | number> = {};
    if (request.q !== undefined) querystring.q = request.q;
    if (request.size !== undefined) querystring.size = request.size;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    return this.client.search({ index: this.indexName(bucketId, collectionId), querystring, body }, REQUEST_OPTIONS);
  }

  async bulk(operations: readonly BulkOperation[]): Promise<void> {
    if (operations.length === 0) return;
    const lines = operations.flatMap((operation) =>
      operation.action === 'index'
        ? [{ index: { _index: operation.index, _id: operation.id } }, operation.source]
        : [{ delete: { _index: operation.index, _id: operation.id } }],
    );
    const response = await this.client.bulk({ operations: lines, refresh: this.forceRefresh }, REQUEST_OPTIONS);
    const failures = response.errors ? failedItems(response) : [];
    if (failures.length) throw new BulkIndexError(failures);
  }

  /** The heartbeat: false (never an exception) when ES cannot be reached. */
  async ping(): Promise<boolean> {
    try {
      return await this.client.ping(undefined, { maxRetries: 0 });
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** ES refused the request (bad query, bad index name...): Python's `RequestError`. */
export function isRequestError(error: unknown): error is errors.ResponseError {
  return error instanceof errors.ResponseError && error.statusCode === 400;
}

export function isNotFoundError(error: unknown): error is errors.ResponseError {
  return error instanceof errors.ResponseError && error.statusCode === 404;
}
