import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp } from '../helpers/app.ts';

describe('smoke', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await makeApp();
  });
  afterAll(() => app.close());

  it('serves hello and a full record lifecycle', async () => {
    const alice = client(app, ALICE);
    const hello = await alice.get('/');
    expect(hello.statusCode).toBe(200);
    expect(hello.json().user.id).toMatch(/^basicauth:[0-9a-f]{64}$/);
    expect((await alice.put('/buckets/b', {})).statusCode).toBe(201);
    expect((await alice.put('/buckets/b/collections/c', {})).statusCode).toBe(201);
    const created = await alice.post('/buckets/b/collections/c/records', { data: { title: 'hello' } });
    expect(created.statusCode).toBe(201);
    const id = created.json().data.id;
    const list = await alice.get('/buckets/b/collections/c/records');
    expect(list.json().data.map((r: { id: string }) => r.id)).toEqual([id]);
    const patched = await alice.patch(`/buckets/b/collections/c/records/${id}`, { data: { done: true } });
    expect(patched.json().data).toMatchObject({ title: 'hello', done: true });
    const deleted = await alice.delete(`/buckets/b/collections/c/records/${id}`);
    expect(deleted.json().data).toMatchObject({ id, deleted: true });
  });
});
