import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, createRecords, etagOf, expectInvalid, ids } from '../helpers/protocol.ts';

let app: FastifyInstance;
let alice: Client;

async function start(extraIni = ''): Promise<void> {
  app = await makeApp(extraIni);
  alice = client(app, ALICE);
  await createCollection(alice);
}
afterEach(() => app.close());

/** Follows Next-Page links from `url`, returning every page's ids and the headers seen. */
async function allPages(url: string, method: 'GET' | 'DELETE' = 'GET'): Promise<{ pages: string[][]; urls: string[] }> {
  const pages: string[][] = [];
  const urls: string[] = [url];
  let next: string | undefined = `/v1${url}`;
  while (next) {
    const response = await app.inject({ method, url: next, headers: ALICE });
    expect(response.statusCode, response.body).toBe(200);
    pages.push(ids(response));
    const header = response.headers['next-page'] as string | undefined;
    next = header ? new URL(header).pathname + new URL(header).search : undefined;
    if (header) urls.push(header);
    expect(pages.length).toBeLessThan(50);
  }
  return { pages, urls };
}

describe('sorting and filtering', () => {
  beforeEach(async () => {
    await start();
    await createRecords(alice, [
      { id: 'a', title: 'Alpha', n: 3, done: true, tags: ['x', 'y'], nested: { v: 2 } },
      { id: 'b', title: 'beta', n: 1, done: false, tags: ['y'], nested: { v: 1 } },
      { id: 'c', title: 'Gamma', n: 2, done: null, tags: [], nested: { v: 3 } },
      { id: 'd', title: 'delta' },
    ]);
  });

  it('default order is -last_modified', async () => {
    expect(ids(await alice.get(RECORDS))).toEqual(['d', 'c', 'b', 'a']);
  });

  it('sorts on one or several fields, ascending or descending, dotted included', async () => {
    expect(ids(await alice.get(`${RECORDS}?_sort=n`))).toEqual(['b', 'c', 'a', 'd']);
    expect(ids(await alice.get(`${RECORDS}?_sort=-n`))).toEqual(['d', 'a', 'c', 'b']);
    expect(ids(await alice.get(`${RECORDS}?_sort=nested.v`))).toEqual(['b', 'a', 'c', 'd']);
    expect(ids(await alice.get(`${RECORDS}?_sort=-done,id`))).toEqual(['d', 'a', 'b', 'c']);
  });

  it('orders mixed types: null < string < number < boolean < array < object < missing', async () => {
    await createRecords(alice, [
      { id: 'm-obj', v: { a: 1 } },
      { id: 'm-num', v: 1 },
      { id: 'm-true', v: true },
      { id: 'm-str', v: 'x' },
      { id: 'm-null', v: null },
      { id: 'm-arr', v: [1] },
      { id: 'm-false', v: false },
    ]);
    const sorted = ids(await alice.get(`${RECORDS}?_sort=v,id&like_id=m-*`));
    expect(sorted).toEqual(['m-null', 'm-str', 'm-num', 'm-false', 'm-true', 'm-arr', 'm-obj']);
    const all = ids(await alice.get(`${RECORDS}?_sort=v,id`));
    expect(all.slice(-4)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('filters with eq, not_, lt_, gt_, min_, max_, in_, exclude_', async () => {
    const check = async (query: string, expected: string[]) =>
      expect(ids(await alice.get(`${RECORDS}?${query}&_sort=id`)), query).toEqual(expected);
    await check('n=3', ['a']);
    await check('not_n=3', ['b', 'c', 'd']);
    await check('lt_n=3', ['b', 'c']);
    await check('gt_n=1', ['a', 'c']);
    await check('min_n=2', ['a', 'c']);
    await check('max_n=2', ['b', 'c']);
    await check('in_id=a,c', ['a', 'c']);
    await check('exclude_id=a,c', ['b', 'd']);
    await check('in_n=1,3', ['a', 'b']);
    await check('done=true', ['a']);
    await check('nested.v=2', ['a']);
    await check('title=beta', ['b']);
  });

  it('filters with like_, has_, contains_, contains_any_', async () => {
    const check = async (query: string, expected: string[]) =>
      expect(ids(await alice.get(`${RECORDS}?${query}&_sort=id`)), query).toEqual(expected);
    await check('like_title=ta', ['b', 'd']);
    await check('like_title=A*', ['a']);
    await check('like_title=*MA', ['c']);
    await check('has_n=true', ['a', 'b', 'c']);
    await check('has_n=false', ['d']);
    await check('has_done=true', ['a', 'b', 'c']);
    await check('contains_tags=y', ['a', 'b']);
    await check('contains_tags=["x","y"]', ['a']);
    await check('contains_any_tags=["x","z"]', ['a']);
  });

  it('rejects filters Kinto refuses with 400 on the querystring', async () => {
    expectInvalid(await alice.get(`${RECORDS}?contains_id=a`), 'querystring');
    expectInvalid(await alice.get(`${RECORDS}?in_last_modified=a,b`), 'querystring');
    expectInvalid(await alice.get(`${RECORDS}?like_n=1`), 'querystring');
    expectInvalid(await alice.get(`${RECORDS}?gt_last_modified=abc`), 'querystring');
    const nul = expectInvalid(await alice.get(`${RECORDS}?title=a%00b`), 'querystring');
    expect(nul.message).toContain('Invalid character 0x00');
  });

  it('ignores unknown _-prefixed parameters', async () => {
    expect(ids(await alice.get(`${RECORDS}?_expected=1&_cachebust=abc`))).toHaveLength(4);
  });

  it('projects _fields, always keeping id and last_modified', async () => {
    const response = await alice.get(`${RECORDS}?_fields=title,nested.v&_sort=id&_limit=1`);
    const [first] = response.json().data;
    expect(Object.keys(first).sort()).toEqual(['id', 'last_modified', 'nested', 'title']);
    expect(first.nested).toEqual({ v: 2 });
    const single = await alice.get(`${RECORDS}/a?_fields=n`);
    expect(Object.keys(single.json().data).sort()).toEqual(['id', 'last_modified', 'n']);
  });

  it('filters never change the ETag', async () => {
    const full = etagOf(await alice.get(RECORDS));
    expect(etagOf(await alice.get(`${RECORDS}?n=1`))).toBe(full);
    expect(etagOf(await alice.get(`${RECORDS}?n=999`))).toBe(full);
  });

  it('validates _limit', async () => {
    expect(ids(await alice.get(`${RECORDS}?_limit=2`))).toHaveLength(2);
    expect(ids(await alice.get(`${RECORDS}?_limit=0`))).toHaveLength(4);
    expectInvalid(await alice.get(`${RECORDS}?_limit=-1`), 'querystring', '_limit');
    expectInvalid(await alice.get(`${RECORDS}?_limit=abc`), 'querystring', '_limit');
  });
});

describe('HEAD on plural endpoints', () => {
  beforeEach(async () => {
    await start();
    await createRecords(alice, [{ n: 1 }, { n: 2 }, { n: 2 }]);
  });

  it('returns Total-Objects and Total-Records with no body', async () => {
    const response = await alice.head(RECORDS);
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
    expect(response.headers['total-objects']).toBe('3');
    expect(response.headers['total-records']).toBe('3');
    expect(etagOf(response)).toBe(etagOf(await alice.get(RECORDS)));
  });

  it('applies filters to the count, never counts tombstones', async () => {
    expect((await alice.head(`${RECORDS}?n=2`)).headers['total-objects']).toBe('2');
    const [first] = (await alice.get(RECORDS)).json().data;
    await alice.delete(`${RECORDS}/${first.id}`);
    expect((await alice.head(`${RECORDS}?_since=0`)).headers['total-objects']).toBe('2');
  });

  it('HEAD on an object behaves as GET without a body', async () => {
    const [first] = (await alice.get(RECORDS)).json().data;
    const response = await alice.head(`${RECORDS}/${first.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
    expect(etagOf(response)).toBe(first.last_modified);
  });
});

describe('timestamps: _since, _before, _to', () => {
  let records: Record<string, unknown>[];
  beforeEach(async () => {
    await start();
    records = await createRecords(alice, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
  const ts = (i: number) => records[i].last_modified as number;

  it('_since excludes the given timestamp; _before is strict too', async () => {
    expect(ids(await alice.get(`${RECORDS}?_since=${ts(0)}`))).toEqual([records[2].id, records[1].id]);
    expect(ids(await alice.get(`${RECORDS}?_before=${ts(2)}`))).toEqual([records[1].id, records[0].id]);
    expect(ids(await alice.get(`${RECORDS}?_since="${ts(1)}"`))).toEqual([records[2].id]);
  });

  it('lists tombstones only with a last_modified filter', async () => {
    await alice.delete(`${RECORDS}/${records[0].id}`);
    expect(ids(await alice.get(RECORDS))).toHaveLength(2);
    const since = await alice.get(`${RECORDS}?_since=${ts(2)}`);
    expect(since.json().data).toEqual([{ id: records[0].id, last_modified: etagOf(since), deleted: true }]);
    expect(ids(await alice.get(`${RECORDS}?gt_last_modified=0`))).toHaveLength(3);
    expect(ids(await alice.get(`${RECORDS}?_since=null`))).toHaveLength(3);
  });

  it('lists tombstones sorted on a data field (the objects and tombstones merged by that field)', async () => {
    await alice.delete(`${RECORDS}/${records[1].id}`);
    const response = await alice.get(`${RECORDS}?_since=0&_sort=-n`);
    expect(response.statusCode).toBe(200);
    // A tombstone has no `n`: it sorts as null, first in a descending order (as Kinto).
    expect(ids(response)).toEqual([records[1].id, records[2].id, records[0].id]);
  });

  it('_to is a deprecated alias of _before that sends a soft-eol Alert', async () => {
    const response = await alice.get(`${RECORDS}?_to=${ts(2)}`);
    expect(ids(response)).toEqual([records[1].id, records[0].id]);
    expect(JSON.parse(String(response.headers.alert))).toEqual({
      code: 'soft-eol',
      message: '_to is now deprecated, you should use _before instead',
      url: 'https://kinto.readthedocs.io/en/2.4.0/api/resource.html#list-of-available-url-parameters',
    });
  });

  it('rejects invalid timestamps', async () => {
    for (const query of ['_since=abc', '_before=-1', `_since=${Date.now() + 2 * 86400000}`]) {
      const body = expectInvalid(await alice.get(`${RECORDS}?${query}`), 'querystring');
      expect(String(body.message)).toMatch(/_since|_before/);
    }
  });
});

describe('pagination', () => {
  beforeEach(async () => {
    await start();
    await createRecords(alice, Array.from({ length: 12 }, (_, i) => ({ n: i % 4, title: `t${i}` })));
  });

  it('gives Next-Page only while more objects remain', async () => {
    const first = await alice.get(`${RECORDS}?_limit=5`);
    const next = new URL(String(first.headers['next-page']));
    expect(next.pathname).toBe(`/v1${RECORDS}`);
    expect(next.searchParams.get('_limit')).toBe('5');
    expect(next.searchParams.get('_token')).toBeTruthy();
    const { pages } = await allPages(`${RECORDS}?_limit=4`);
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4]);
    expect(new Set(pages.flat()).size).toBe(12);
    const exact = await alice.get(`${RECORDS}?_limit=12`);
    expect(exact.headers['next-page']).toBeUndefined();
  });

  it('keeps sort and filters in Next-Page and pages consistently', async () => {
    const expected = ids(await alice.get(`${RECORDS}?_sort=n,-title&min_n=1`));
    const { pages, urls } = await allPages(`${RECORDS}?_sort=n,-title&min_n=1&_limit=2`);
    expect(pages.flat()).toEqual(expected);
    const params = new URL(urls[1]).searchParams;
    expect(params.get('_sort')).toBe('n,-title');
    expect(params.get('min_n')).toBe('1');
  });

  it('the token encodes last_object and offset, and the same page can be fetched twice', async () => {
    const first = await alice.get(`${RECORDS}?_limit=3&_sort=title`);
    const token = new URL(String(first.headers['next-page'])).searchParams.get('_token')!;
    const info = JSON.parse(Buffer.from(token, 'base64').toString());
    const last = first.json().data[2];
    expect(info.last_object).toEqual({ title: last.title, last_modified: last.last_modified });
    // Kinto counts the extra object fetched to detect a next page: limit + 1.
    expect(info.offset).toBe(4);
    expect(info.nonce).toMatch(/^pagination-token-[0-9a-f-]{36}$/);
    const url = `${RECORDS}?_limit=3&_sort=title&_token=${encodeURIComponent(token)}`;
    expect(ids(await alice.get(url))).toEqual(ids(await alice.get(url)));
  });

  it('rejects invalid tokens', async () => {
    for (const token of ['abc', Buffer.from('{"a":1}').toString('base64'), Buffer.from('[]').toString('base64')]) {
      const body = expectInvalid(await alice.get(`${RECORDS}?_token=${encodeURIComponent(token)}`), 'querystring');
      expect(body.message).toBe('querystring: _token has invalid content');
    }
  });

  it('paginate_by bounds _limit', async () => {
    await app.close();
    await start('kinto.paginate_by = 5\n');
    await createRecords(alice, Array.from({ length: 7 }, () => ({})));
    expect(ids(await alice.get(RECORDS))).toHaveLength(5);
    expect(ids(await alice.get(`${RECORDS}?_limit=10`))).toHaveLength(5);
    expect(ids(await alice.get(`${RECORDS}?_limit=3`))).toHaveLength(3);
    const { pages } = await allPages(RECORDS);
    expect(pages.map((p) => p.length)).toEqual([5, 2]);
  });

  it('storage_max_fetch_size bounds every page', async () => {
    await app.close();
    await start('kinto.storage_max_fetch_size = 4\n');
    await createRecords(alice, Array.from({ length: 6 }, () => ({})));
    const response = await alice.get(`${RECORDS}?_limit=100`);
    expect(ids(response)).toHaveLength(4);
    expect(response.headers['next-page']).toBeDefined();
    expect((await allPages(RECORDS)).pages.flat()).toHaveLength(6);
  });

  it('paginates plural DELETE with single-use tokens', async () => {
    const first = await alice.delete(`${RECORDS}?_limit=5`);
    expect(ids(first)).toHaveLength(5);
    const next = String(first.headers['next-page']);
    const nextPath = new URL(next).pathname + new URL(next).search;
    const second = await app.inject({ method: 'DELETE', url: nextPath, headers: ALICE });
    expect(ids(second)).toHaveLength(5);
    const reused = await app.inject({ method: 'DELETE', url: nextPath, headers: ALICE });
    const body = expectInvalid(reused, 'querystring');
    expect(body.message).toBe('querystring: _token was already used or has expired.');
  });
});
