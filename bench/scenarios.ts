import type { LoadRequest } from './lib/load.ts';
import { collectionPath, recordData } from './lib/seed.ts';
import { COLLECTIONS, type Fixture } from './lib/setup.ts';

/** One measured workload: the requests each connection loops over, and who sends them. */
export interface Scenario {
  name: string;
  description: string;
  /**
   * `ceiling` scenarios hit the ceiling server, the others the Kinto server; `kinto-uncached`
   * one whose listing cache is off (every listing read from PostgreSQL, finding 25).
   */
  target: 'kinto' | 'kinto-uncached' | 'ceiling';
  /** Connections when not the run's (`--connections`). */
  connections?: number;
  build(fixture: Fixture): { requests: LoadRequest[]; headers: Record<string, string> };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

/**
 * A listing whose connections follow `Next-Page`: a next page seen in a response is queued,
 * and the next request takes a queued page, or starts over at the first page.
 */
export function paginated(firstPage: string): LoadRequest {
  const pending: string[] = [];
  return {
    method: 'GET',
    setupRequest(request) {
      return { ...request, path: pending.pop() ?? firstPage };
    },
    onResponse(_status, _body, _context, headers) {
      const next = headers['next-page'];
      if (next) {
        const url = new URL(next);
        pending.push(url.pathname + url.search);
      }
    },
  };
}

let created = 0;

export function newRecord(): Record<string, unknown> {
  created += 1;
  return recordData(created);
}

const records = (cid: string) => `/v1${collectionPath(cid)}/records`;

/** The list queries: one equality filter (25% of the records) and a sort, on the timestamp or on a data field. */
export const LIST_QUERIES = {
  byTime: 'category=tech&_sort=-last_modified&_limit=100',
  byField: 'category=tech&_sort=-score&_limit=100',
} as const;

/** The ceiling's scenario name; its repetition starts with it. */
export const SELECT_CEILING = 'ceiling: one SELECT';

const oneSelect: Scenario['build'] = (f) => ({
  headers: {},
  requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/db/${pick(f.ids[COLLECTIONS.list])}` }) }],
});

const since: Scenario['build'] = (f) => ({
  headers: { authorization: f.ownerAuth },
  requests: [{ method: 'GET', path: `${records(COLLECTIONS.since)}?_since=${f.since}` }],
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'ceiling: bare JSON',
    description: 'fastify route returning the JSON of a record GET, no I/O',
    target: 'ceiling',
    build: (f) => ({
      headers: {},
      requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/hello/${pick(f.ids[COLLECTIONS.list])}` }) }],
    }),
  },
  {
    name: SELECT_CEILING,
    description: 'the same route doing one parameterised SELECT of the record through a pg pool (10)',
    target: 'ceiling',
    build: oneSelect,
  },
  {
    name: 'GET one record',
    description: 'GET a random record of the 10k collection, basic auth (bucket owner)',
    target: 'kinto',
    build: (f) => ({
      headers: { authorization: f.ownerAuth },
      requests: [
        {
          method: 'GET',
          setupRequest: (r) => ({ ...r, path: `${records(COLLECTIONS.list)}/${pick(f.ids[COLLECTIONS.list])}` }),
        },
      ],
    }),
  },
  {
    // Ratios use the mean of both: GET one, the target closest to the ceiling, is bracketed.
    name: `${SELECT_CEILING}, again`,
    description: 'the SELECT ceiling measured again after GET one (the machine drifts)',
    target: 'ceiling',
    build: oneSelect,
  },
  {
    name: 'list 10k filter, sort by time',
    description: `GET ?${LIST_QUERIES.byTime} on the 10k collection, following Next-Page`,
    target: 'kinto',
    build: (f) => ({ headers: { authorization: f.ownerAuth }, requests: [paginated(`${records(COLLECTIONS.list)}?${LIST_QUERIES.byTime}`)] }),
  },
  {
    name: 'list 10k filter, sort by field',
    description: `GET ?${LIST_QUERIES.byField} on the 10k collection, following Next-Page (no index on the field)`,
    target: 'kinto',
    build: (f) => ({ headers: { authorization: f.ownerAuth }, requests: [paginated(`${records(COLLECTIONS.list)}?${LIST_QUERIES.byField}`)] }),
  },
  {
    name: 'list 10k filter, sort by time, uncached',
    description: `the same with the listing cache off: every page read from PostgreSQL`,
    target: 'kinto-uncached',
    build: (f) => ({ headers: { authorization: f.ownerAuth }, requests: [paginated(`${records(COLLECTIONS.list)}?${LIST_QUERIES.byTime}`)] }),
  },
  {
    name: '_since on 100k',
    description: 'GET ?_since=<before 10 changes> on the 100k collection (8 updates, 2 tombstones)',
    target: 'kinto',
    build: since,
  },
  {
    name: '_since on 100k, uncached',
    description: 'the same with the listing cache off',
    target: 'kinto-uncached',
    build: since,
  },
  {
    name: 'POST record',
    description: 'POST a new record (~350 bytes) into one collection',
    target: 'kinto',
    build: (f) => ({
      headers: { authorization: f.ownerAuth, ...JSON_HEADERS },
      requests: [
        {
          method: 'POST',
          path: records(COLLECTIONS.post),
          setupRequest: (r) => ({ ...r, body: JSON.stringify({ data: newRecord() }) }),
        },
      ],
    }),
  },
  {
    name: 'batch 25 creates',
    description: 'POST /batch of 25 record creations into one collection (one transaction), 4 connections',
    target: 'kinto',
    // One collection's writers are serialised by its timestamp lock: more connections only queue
    // (at 32, no batch completes within the measured seconds on a loaded 2-core machine).
    connections: 4,
    build: (f) => ({
      headers: { authorization: f.ownerAuth, ...JSON_HEADERS },
      requests: [batchOfCreates(COLLECTIONS.batch)],
    }),
  },
  {
    name: 'monitor changeset',
    description: 'GET /buckets/monitor/collections/changes/changeset (plugins/changes)',
    target: 'kinto',
    build: () => ({
      headers: {},
      requests: [{ method: 'GET', path: '/v1/buckets/monitor/collections/changes/changeset?_expected=0' }],
    }),
  },
  {
    name: 'list as member of 50 groups',
    description: 'GET ?_limit=100 following Next-Page on 10k records with per-record read ACLs (5k visible)',
    target: 'kinto',
    build: (f) => ({ headers: { authorization: f.readerAuth }, requests: [paginated(`${records(COLLECTIONS.acl)}?_limit=100`)] }),
  },
];

/** One batch of 25 creations; a sub-response that is not a 2xx is counted in `batchFailures`. */
export function batchOfCreates(cid: string): LoadRequest {
  return {
    method: 'POST',
    path: '/v1/batch',
    setupRequest(request) {
      const body = {
        defaults: { method: 'POST', path: collectionPath(cid) + '/records' },
        requests: Array.from({ length: 25 }, () => ({ body: { data: newRecord() } })),
      };
      return { ...request, body: JSON.stringify(body) };
    },
    onResponse(status, body) {
      if (status !== 200) return;
      const parsed = JSON.parse(body) as { responses: { status: number }[] };
      batchFailures += parsed.responses.filter((r) => r.status >= 300).length;
    },
  };
}

export let batchFailures = 0;
