import { BUCKET, OWNER, READER, READER_GROUPS, basicAuth, bulkRecords, collectionPath, recordData, withClient } from './seed.ts';

/** Everything the scenarios need to know about the data set. */
export interface Fixture {
  ownerAuth: string;
  readerAuth: string;
  /** Sample record ids per collection. */
  ids: Record<string, string[]>;
  /** The `c100k` collection timestamp before its 10 changes. */
  since: number;
  /** Sizes of the seeded collections, for the report. */
  sizes: Record<string, number>;
}

export const COLLECTIONS = {
  list: 'c10k',
  since: 'c100k',
  acl: 'acl',
  post: 'posts',
  batch: 'bulk',
  insert: 'i3',
} as const;

async function http(base: string, method: string, path: string, auth: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${base}/v1${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

async function userId(base: string, auth: string): Promise<string> {
  const hello = (await (await http(base, 'GET', '/', auth)).json()) as { user?: { id: string } };
  if (!hello.user) throw new Error('basic auth is not enabled on the benchmarked server');
  return hello.user.id;
}

/** 2N groups: the reader belongs to the first N, a stranger to the others (4 batches of 25). */
async function createGroups(base: string, ownerAuth: string, readerId: string): Promise<void> {
  const requests = Array.from({ length: READER_GROUPS * 2 }, (_, n) => ({
    method: 'PUT',
    path: `/buckets/${BUCKET}/groups/g${n}`,
    body: { data: { members: [n < READER_GROUPS ? readerId : 'basicauth:stranger'] } },
  }));
  for (let i = 0; i < requests.length; i += 25) {
    await http(base, 'POST', '/batch', ownerAuth, { requests: requests.slice(i, i + 25) });
  }
}

/** 8 updates and 2 deletions on the 100k collection; returns its timestamp before them. */
async function tenChanges(base: string, ownerAuth: string, ids: string[]): Promise<number> {
  const path = `${collectionPath(COLLECTIONS.since)}/records`;
  const head = await http(base, 'GET', `${path}?_limit=1`, ownerAuth);
  const since = Number(head.headers.get('etag')?.replace(/"/g, ''));
  for (let i = 0; i < 8; i++) await http(base, 'PATCH', `${path}/${ids[i]}`, ownerAuth, { data: { score: -i } });
  for (let i = 8; i < 10; i++) await http(base, 'DELETE', `${path}/${ids[i]}`, ownerAuth);
  return since;
}

/**
 * Builds the data set: bucket, collections and groups over HTTP (so that permissions are
 * what the server writes), records and per-record ACLs by bulk SQL (seconds, not minutes).
 */
export async function setUp(base: string, dbUrl: string, options: { listSize: number; sinceSize: number }): Promise<Fixture> {
  const ownerAuth = basicAuth(OWNER);
  const readerAuth = basicAuth(READER);
  const ownerId = await userId(base, ownerAuth);
  const readerId = await userId(base, readerAuth);
  await http(base, 'PUT', `/buckets/${BUCKET}`, ownerAuth, { data: {} });
  for (const cid of Object.values(COLLECTIONS)) await http(base, 'PUT', collectionPath(cid), ownerAuth, { data: {} });
  await createGroups(base, ownerAuth, readerId);
  const sizes = { [COLLECTIONS.list]: options.listSize, [COLLECTIONS.since]: options.sinceSize, [COLLECTIONS.acl]: options.listSize };
  const ids = await withClient(dbUrl, async (client) => {
    const result: Record<string, string[]> = {};
    result[COLLECTIONS.list] = await bulkRecords(client, COLLECTIONS.list, options.listSize);
    result[COLLECTIONS.since] = await bulkRecords(client, COLLECTIONS.since, options.sinceSize);
    result[COLLECTIONS.acl] = await bulkRecords(client, COLLECTIONS.acl, options.listSize, { owner: ownerId });
    // As autovacuum leaves a table: statistics, and the GIN pending list merged into the index.
    await client.query('VACUUM ANALYZE');
    return result;
  });
  const since = await tenChanges(base, ownerAuth, ids[COLLECTIONS.since]);
  return { ownerAuth, readerAuth, ids, since, sizes };
}

/** A sample record's GET body, for the ceiling routes to return the same JSON. */
export async function sampleRecordJson(base: string, fixture: Fixture): Promise<string> {
  const id = fixture.ids[COLLECTIONS.list][0];
  const response = await http(base, 'GET', `${collectionPath(COLLECTIONS.list)}/records/${id}`, fixture.ownerAuth);
  return await response.text();
}

export { recordData };
