import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../helpers/app.ts';
import { RECORDS, createCollection, createRecords, etagOf, expectInvalid, ids, userIdOf } from '../helpers/protocol.ts';

const MERGE = { 'content-type': 'application/merge-patch+json' };
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

let app: FastifyInstance;
let alice: Client;
let me: string;
let url: string;

beforeEach(async () => {
  app = await makeApp();
  alice = client(app, ALICE);
  me = await userIdOf(alice);
  await createCollection(alice);
  const created = await alice.post(RECORDS, {
    data: { title: 'hello', grain: { one: 1 }, list: ['a', 'b'] },
    permissions: { read: ['alice', 'carla'], write: ['bob'] },
  });
  url = `${RECORDS}/${created.json().data.id}`;
});
afterEach(() => app.close());

describe('PUT', () => {
  it('replaces the whole object', async () => {
    const response = await alice.put(url, { data: { other: true } });
    expect(response.statusCode).toBe(200);
    const { id: _id, last_modified: _lm, ...rest } = response.json().data;
    expect(rest).toEqual({ other: true });
  });

  it('without data keeps the object and replaces only permissions (others reset)', async () => {
    const response = await alice.put(url, { permissions: { read: ['zoe'] } });
    expect(response.json().data).toMatchObject({ title: 'hello' });
    expect(response.json().permissions).toEqual({ read: ['zoe'], write: [me] });
  });

  it('without permissions keeps the ACL', async () => {
    const response = await alice.put(url, { data: { title: 'bye' } });
    const perms = response.json().permissions;
    expect(perms.read.sort()).toEqual(['alice', 'carla']);
    expect(perms.write.sort()).toEqual(['bob', me].sort());
  });

  it('always bumps last_modified, even with identical data', async () => {
    const before = (await alice.get(url)).json().data;
    const { id: _id, last_modified: _lm, ...data } = before;
    const after = await alice.put(url, { data });
    expect(after.json().data.last_modified).toBeGreaterThan(before.last_modified);
  });
});

describe('PATCH application/json', () => {
  it('merges data shallowly and keeps nulls', async () => {
    const response = await alice.patch(url, { data: { grain: { two: 2 }, title: null, extra: 1 } });
    expect(response.statusCode).toBe(200);
    expect(response.json().data).toMatchObject({ grain: { two: 2 }, title: null, extra: 1, list: ['a', 'b'] });
    expect(etagOf(response)).toBe(response.json().data.last_modified);
  });

  it('always bumps last_modified, even without changes', async () => {
    const before = (await alice.get(url)).json().data;
    const after = await alice.patch(url, { data: { title: before.title } });
    expect(after.json().data.last_modified).toBeGreaterThan(before.last_modified);
  });

  it('requires data or permissions', async () => {
    const body = expectInvalid(await alice.patch(url, {}), 'body', 'data');
    expect(body.message).toBe('Provide at least one of data or permissions');
    const empty = await app.inject({ method: 'PATCH', url: `/v1${url}`, headers: ALICE });
    expectInvalid(empty, 'body');
  });

  it('replaces mentioned ACEs only, and ignores null ones', async () => {
    const response = await alice.patch(url, { permissions: { read: ['fxa:user'], write: null } });
    const perms = response.json().permissions;
    expect(perms.read).toEqual(['fxa:user']);
    expect(perms.write.sort()).toEqual(['bob', me].sort());
  });

  it('rejects a different id and a non-mapping data', async () => {
    expectInvalid(await alice.patch(url, { data: { id: 'other' } }), 'body', 'id');
    expectInvalid(await alice.patch(url, { data: [1] }), 'body', 'data');
  });

  it('ignores an invalid last_modified', async () => {
    const response = await alice.patch(url, { data: { last_modified: 'abc' } });
    expect(Number.isInteger(response.json().data.last_modified)).toBe(true);
  });
});

describe('Response-Behavior', () => {
  it('full (default) returns the whole object', async () => {
    const response = await alice.patch(url, { data: { title: 'x' } }, { 'response-behavior': 'full' });
    expect(response.json().data).toMatchObject({ title: 'x', grain: { one: 1 } });
  });

  it('light returns only the changed fields', async () => {
    const response = await alice.patch(url, { data: { title: 'x', list: ['a', 'b'] } }, { 'response-behavior': 'light' });
    expect(response.json().data).toEqual({ title: 'x' });
    expect(response.json().permissions).toBeDefined();
  });

  it('diff returns changed fields whose stored value differs from the one sent', async () => {
    const response = await alice.patch(url, { data: { title: 'x' } }, { 'response-behavior': 'diff' });
    expect(response.json().data).toEqual({});
  });

  it('rejects other values, even on a missing object', async () => {
    expectInvalid(await alice.patch(url, { data: {} }, { 'response-behavior': 'partial' }), 'header', 'Response-Behavior');
    expectInvalid(await alice.patch(`${RECORDS}/nope`, { data: {} }, { 'response-behavior': 'partial' }), 'header');
  });
});

describe('PATCH application/merge-patch+json', () => {
  it('merges recursively and removes null keys', async () => {
    const response = await alice.patch(url, { data: { grain: { two: 2 }, title: null } }, MERGE);
    const data = response.json().data;
    expect(data.grain).toEqual({ one: 1, two: 2 });
    expect(data).not.toHaveProperty('title');
    const removed = await alice.patch(url, { data: { grain: { one: null } } }, MERGE);
    expect(removed.json().data.grain).toEqual({ two: 2 });
    const falsy = await alice.patch(url, { data: { zero: 0, no: false, obj: {} } }, MERGE);
    expect(falsy.json().data).toMatchObject({ zero: 0, no: false, obj: {} });
  });

  it('null removes an ACE; permissions not mentioned are cleared', async () => {
    const response = await alice.patch(url, { permissions: { read: null, write: ['good_guys'] } }, MERGE);
    expect(response.json().permissions).toEqual({ write: ['good_guys', me].sort() });
    const added = await alice.patch(url, { permissions: { read: ['bad_guys'] } }, MERGE);
    expect(added.json().permissions.read).toEqual(['bad_guys']);
  });
});

describe('PATCH application/json-patch+json', () => {
  const patch = (ops: unknown[]) => alice.patch(url, ops, JSON_PATCH);

  it('applies add, remove, replace, move, copy and test on data', async () => {
    const response = await patch([
      { op: 'test', path: '/data/title', value: 'hello' },
      { op: 'add', path: '/data/c', value: 'ccc' },
      { op: 'add', path: '/data/list/1', value: 'x' },
      { op: 'add', path: '/data/list/-', value: 'z' },
      { op: 'remove', path: '/data/grain' },
      { op: 'replace', path: '/data/title', value: 'bye' },
      { op: 'copy', from: '/data/c', path: '/data/d' },
      { op: 'move', from: '/data/c', path: '/data/e' },
    ]);
    expect(response.statusCode, response.body).toBe(200);
    const { id: _id, last_modified: _lm, ...data } = response.json().data;
    expect(data).toEqual({ title: 'bye', list: ['a', 'x', 'b', 'z'], d: 'ccc', e: 'ccc' });
  });

  it('edits permissions with implicit principal values', async () => {
    const added = await patch([{ op: 'add', path: '/permissions/read/me', value: 'me' }]);
    expect(added.json().permissions.read.sort()).toEqual(['alice', 'carla', 'me']);
    const removed = await patch([{ op: 'remove', path: '/permissions/read/alice' }]);
    expect(removed.json().permissions.read.sort()).toEqual(['carla', 'me']);
    const replaced = await patch([{ op: 'add', path: '/permissions/read', value: ['solo'] }]);
    expect(replaced.json().permissions.read).toEqual(['solo']);
    const moved = await patch([{ op: 'move', from: '/permissions/read/solo', path: '/data/old' }]);
    expect(moved.json().data.old).toBe('solo');
    expect(moved.json().permissions.read ?? []).not.toContain('solo');
  });

  it('fails with 400 "JSON Patch operation failed" on a failed op', async () => {
    for (const ops of [
      [{ op: 'test', path: '/data/title', value: 'nope' }],
      [{ op: 'remove', path: '/data/missing' }],
      [{ op: 'replace', path: '/data/missing', value: 1 }],
      [{ op: 'move', from: '/data/missing', path: '/data/x' }],
      [{ op: 'add', path: '/permissions/destroy/me' }],
    ]) {
      const response = await patch(ops);
      expect(response.statusCode, JSON.stringify(ops)).toBe(400);
      expect(response.json().errno).toBe(107);
    }
    const failed = await patch([{ op: 'test', path: '/data/title', value: 'nope' }]);
    expect(failed.json().message).toMatch(/^body: JSON Patch operation failed: /);
  });

  it('rejects malformed operation lists', async () => {
    for (const body of [{}, [{ op: 'explode', path: '/data/x' }], [{ path: '/data/x' }], ['x'], [{ op: 'add' }]]) {
      const response = await patch(body as unknown[]);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().errno).toBe(107);
    }
  });

  it('a JSON array with application/json is refused', async () => {
    expectInvalid(await alice.patch(url, [{ op: 'add', path: '/data/a', value: 1 }]), 'body');
  });
});

describe('plural DELETE', () => {
  beforeEach(async () => {
    await createRecords(alice, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('deletes matching objects, returns tombstones and keeps them for sync', async () => {
    const deleted = await alice.delete(`${RECORDS}?min_n=2`);
    expect(deleted.statusCode).toBe(200);
    const data = deleted.json().data;
    expect(data).toHaveLength(2);
    for (const tombstone of data) expect(Object.keys(tombstone).sort()).toEqual(['deleted', 'id', 'last_modified']);
    expect(ids(await alice.get(RECORDS))).toHaveLength(2);
    const since = await alice.get(`${RECORDS}?_since=0&deleted=true`);
    expect(ids(since).sort()).toEqual(ids(deleted).sort());
  });

  it('honours _sort and _limit', async () => {
    const deleted = await alice.delete(`${RECORDS}?has_n=true&_sort=n&_limit=1`);
    expect(deleted.json().data).toHaveLength(1);
    expect((await alice.get(`${RECORDS}?n=1`)).json().data).toEqual([]);
  });

  it('with nothing to delete answers an empty list and the list timestamp', async () => {
    const current = etagOf(await alice.get(RECORDS));
    const deleted = await alice.delete(`${RECORDS}?n=999`);
    expect(deleted.json()).toEqual({ data: [] });
    expect(etagOf(deleted)).toBe(current);
  });

  it('removes the permissions of deleted objects', async () => {
    const [first] = (await alice.get(`${RECORDS}?n=1`)).json().data;
    await alice.put(`${RECORDS}/${first.id}`, { data: first, permissions: { read: ['system.Everyone'] } });
    await alice.delete(`${RECORDS}?n=1`);
    await alice.put(`${RECORDS}/${first.id}`, { data: {} });
    expect((await alice.get(`${RECORDS}/${first.id}`)).json().permissions).toEqual({ write: [me] });
  });
});
