import type { Progress } from '../common.ts';
import { expectStatus, listAll, type Api } from './transport.ts';
import { sortedPermissions, type BucketNode, type CollectionNode, type Data, type ObjectNode, type Permissions, type Selection, type Tree } from './tree.ts';

interface Fetched {
  data: Data;
  permissions: Permissions;
}

/** Bounded concurrency: a dump of a large server must not open hundreds of requests at once. */
const PARALLEL_REQUESTS = 8;

async function mapLimited<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(PARALLEL_REQUESTS, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(runners);
  return results;
}

async function fetchObject(api: Api, path: string): Promise<Fetched | null> {
  const response = await api.request('GET', path);
  if (response.status === 404 || response.status === 403 || response.status === 401) return null;
  expectStatus(response, [200], `GET ${path}`);
  return response.body as Fetched;
}

function describe(object: Fetched, selection: Selection, withObject: boolean): ObjectNode {
  const node: ObjectNode = {};
  if (withObject && selection.data) node.data = object.data;
  if (withObject && selection.permissions) node.permissions = sortedPermissions(object.permissions);
  return node;
}

class Introspection {
  readonly #api: Api;
  readonly #selection: Selection;
  readonly #progress: Progress;

  constructor(api: Api, selection: Selection, bar: Progress) {
    this.#api = api;
    this.#selection = selection;
    this.#progress = bar;
  }

  async server(): Promise<Tree> {
    const ids = this.#selection.bucket ? [this.#selection.bucket] : (await listAll(this.#api, '/buckets')).map((b) => String(b.id));
    const buckets = await mapLimited(ids, (id) => this.bucket(id));
    const tree: Tree = { buckets: {} };
    ids.forEach((id, index) => {
      if (buckets[index]) tree.buckets[id] = buckets[index]!;
    });
    return tree;
  }

  async bucket(bid: string): Promise<BucketNode | null> {
    const object = await fetchObject(this.#api, `/buckets/${bid}`);
    this.#progress.tick();
    if (!object) return null;
    const node: BucketNode = describe(object, this.#selection, this.#selection.buckets);
    if (this.#selection.collections || this.#selection.records) {
      const ids = this.#selection.collection
        ? [this.#selection.collection]
        : (await listAll(this.#api, `/buckets/${bid}/collections`)).map((c) => String(c.id));
      node.collections = await this.#keyed(ids, (cid) => this.collection(bid, cid));
    }
    if (this.#selection.groups && !this.#selection.collection) {
      const ids = (await listAll(this.#api, `/buckets/${bid}/groups`)).map((g) => String(g.id));
      node.groups = await this.#keyed(ids, (gid) => this.group(bid, gid));
    }
    return node;
  }

  async collection(bid: string, cid: string): Promise<CollectionNode | null> {
    const path = `/buckets/${bid}/collections/${cid}`;
    const object = await fetchObject(this.#api, path);
    this.#progress.tick();
    if (!object) return null;
    const node: CollectionNode = describe(object, this.#selection, this.#selection.collections);
    if (this.#selection.records) {
      const records = await listAll(this.#api, `${path}/records`);
      this.#progress.tick(records.length);
      node.records = Object.fromEntries(records.map((record) => [String(record.id), { data: record }]));
    }
    return node;
  }

  /** Groups always keep their members: without them a group means nothing (kinto-wizard). */
  async group(bid: string, gid: string): Promise<ObjectNode | null> {
    const object = await fetchObject(this.#api, `/buckets/${bid}/groups/${gid}`);
    this.#progress.tick();
    if (!object) return null;
    const node = describe(object, this.#selection, true);
    node.data = this.#selection.data ? object.data : { members: object.data.members };
    return node;
  }

  async #keyed<T>(ids: string[], fetch: (id: string) => Promise<T | null>): Promise<Record<string, T>> {
    const values = await mapLimited(ids, fetch);
    const result: Record<string, T> = {};
    ids.forEach((id, index) => {
      if (values[index] !== null) result[id] = values[index]!;
    });
    return result;
  }
}

/** The server's buckets (those the credentials can read) as a kinto-wizard tree. */
export function dumpTree(api: Api, selection: Selection, bar: Progress): Promise<Tree> {
  return new Introspection(api, selection, bar).server();
}
