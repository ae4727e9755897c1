import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp } from '../../../test/helpers/app.ts';

let app: FastifyInstance;
afterEach(() => app.close());

const WITH_COUNTERS = 'kinto.includes = kinto.plugins.counters kinto.plugins.history\n';

describe('counters endpoint', () => {
  it('is absent unless included', async () => {
    app = await makeApp();
    expect((await client(app).get('/__counters__')).statusCode).toBe(404);
    expect((await client(app).get('/')).json().capabilities).not.toHaveProperty('counters_endpoint');
  });

  it('advertises its capability', async () => {
    app = await makeApp(WITH_COUNTERS);
    expect((await client(app).get('/')).json().capabilities.counters_endpoint).toEqual({
      description: 'The __counters__ endpoint exposes how many objects are stored.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/counters.html',
    });
  });

  it('counts objects and tombstones of every kind, publicly, leaving zeros out', async () => {
    app = await makeApp(WITH_COUNTERS);
    const alice = client(app, ALICE);
    expect((await client(app).get('/__counters__')).json()).toEqual({ objects: {}, tombstones: {} });
    for (const bid of ['a', 'b', 'c', 'd']) {
      await alice.put(`/buckets/${bid}`);
      for (const cid of ['e', 'f', 'g']) {
        await alice.put(`/buckets/${bid}/collections/${cid}`);
        for (let i = 0; i < 3; i += 1) {
          const created = (await alice.post(`/buckets/${bid}/collections/${cid}/records`, { data: {} })).json().data;
          if (i % 2 !== 0) await alice.delete(`/buckets/${bid}/collections/${cid}/records/${created.id}`);
        }
      }
    }
    const response = await client(app).get('/__counters__');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      objects: { bucket: 4, collection: 12, record: 24, history: 64 },
      tombstones: { record: 12 },
    });
  });
});
