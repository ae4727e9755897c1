import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../helpers/app.ts';
import { expectInvalid, ids } from '../helpers/protocol.ts';

const BUCKET = '/buckets/blog';
const COLLECTION = `${BUCKET}/collections/articles`;
const RECORDS = `${COLLECTION}/records`;
const GROUPS = `${BUCKET}/groups`;

const SCHEMA = {
  title: 'Blog post schema',
  type: 'object',
  properties: {
    title: { type: 'string' },
    body: { type: 'string' },
    file: { type: 'object', properties: { size: { type: 'number' }, name: { type: 'string' } } },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['title'],
};
const VALID = { title: 'About us', body: '<h1>About</h1>' };

let app: FastifyInstance;
let alice: Client;

async function start(validation = true): Promise<void> {
  app = await makeApp('', validation ? {} : { KINTO_EXPERIMENTAL_COLLECTION_SCHEMA_VALIDATION: 'false' });
  alice = client(app, ALICE);
  await alice.put(BUCKET, {});
  await alice.put(COLLECTION, {});
}
afterEach(() => app.close());

describe('schema definitions', () => {
  it('must be valid JSON schemas, even with validation off', async () => {
    await start(false);
    const bad = { ...SCHEMA, type: 'Washmachine' };
    for (const [url, body] of [
      [COLLECTION, { data: { schema: bad } }],
      [BUCKET, { data: { 'record:schema': bad } }],
      [BUCKET, { data: { 'collection:schema': bad } }],
      [BUCKET, { data: { 'group:schema': bad } }],
    ] as const) {
      const response = await alice.put(url, body);
      expectInvalid(response, 'body');
      expect(response.json().message).toContain("'Washmachine' is not valid under any of the given schemas");
    }
    expectInvalid(await alice.put(COLLECTION, { data: { schema: 'not a schema' } }), 'body');
  });

  it('are not enforced when validation is off', async () => {
    await start(false);
    await alice.put(COLLECTION, { data: { schema: SCHEMA } });
    const created = await alice.post(RECORDS, { data: { body: 'no title' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().data).not.toHaveProperty('schema');
    await alice.put(BUCKET, { data: { 'group:schema': { type: 'object', required: ['phone'] } } });
    expect((await alice.put(`${GROUPS}/g`, { data: { phone: 42 } })).statusCode).toBe(201);
  });

  it('advertise the schema capability only when enabled', async () => {
    await start(false);
    expect((await alice.get('/')).json().capabilities).not.toHaveProperty('schema');
    await app.close();
    await start();
    expect((await alice.get('/')).json().capabilities.schema).toMatchObject({ description: expect.any(String), url: expect.any(String) });
  });
});

describe('collection schema', () => {
  it('accepts any record when the collection has no schema', async () => {
    await start();
    expect((await alice.post(RECORDS, { data: { author: { age: 32 } } })).statusCode).toBe(201);
  });

  it('validates records on POST, PUT and PATCH', async () => {
    await start();
    const collection = (await alice.put(COLLECTION, { data: { schema: SCHEMA } })).json().data;
    const created = await alice.post(RECORDS, { data: VALID });
    expect(created.statusCode).toBe(201);
    expect(created.json().data.schema).toBe(collection.last_modified);
    const url = `${RECORDS}/${created.json().data.id}`;
    expectInvalid(await alice.post(RECORDS, { data: {} }), 'body');
    expectInvalid(await alice.post(RECORDS, { data: { ...VALID, tags: [0] } }), 'body');
    expectInvalid(await alice.put(url, { data: { body: 'no title' } }), 'body');
    expectInvalid(await alice.patch(url, { data: { title: 3.14 } }), 'body');
  });

  it('reports the failing field in details and message', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: SCHEMA } });
    const missing = expectInvalid(await alice.post(RECORDS, { data: { body: 'x' } }), 'body', 'title');
    expect(missing.message).toBe("'title' is a required property");
    const nested = expectInvalid(await alice.post(RECORDS, { data: { title: 't', file: { size: 'hi!' } } }), 'body', 'size');
    expect(nested.message).toBe("size in body: 'hi!' is not of type 'number'");
  });

  it('rejects additional properties when the schema says so', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: { ...SCHEMA, additionalProperties: false } } });
    const record = await alice.put(`${RECORDS}/abc`, { data: VALID });
    expect(record.statusCode).toBe(201);
    const patched = await alice.patch(`${RECORDS}/abc`, { data: { ...record.json().data, title: 'hey' } });
    expect(patched.statusCode).toBe(200);
    const extra = await alice.put(`${RECORDS}/abc`, { data: { ...VALID, extra: 'blah!' } });
    expect(expectInvalid(extra, 'body').message).toContain("'extra' was unexpected)");
  });

  it('ignores id, schema and last_modified in required, validates id only when declared', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: { ...SCHEMA, required: ['id', 'schema', 'last_modified'] } } });
    expect((await alice.post(RECORDS, { data: {} })).statusCode).toBe(201);
    expect((await alice.post(RECORDS, { data: { id: 'abc', last_modified: 1234, schema: 42, title: 'b' } })).statusCode).toBe(201);
    expectInvalid(await alice.post(RECORDS, { data: { id: 'abd', body: 2 } }), 'body');
    await alice.put(COLLECTION, { data: { schema: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-7]$' } } } } });
    expect((await alice.post(RECORDS, { data: { id: '1' } })).statusCode).toBe(201);
    expectInvalid(await alice.post(RECORDS, { data: { id: 'a' } }), 'body');
  });

  it('an unknown required property fails every time, without crashing', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: { ...SCHEMA, required: ['unknown'] } } });
    for (let i = 0; i < 2; i += 1) {
      const response = await alice.post(RECORDS, { data: { title: 'bug 1243' } });
      expect(expectInvalid(response, 'body').message).toBe("'unknown' is a required property");
    }
  });

  it('unresolvable $ref is a 400', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: { properties: { title: { $ref: '#/definitions/title' } } } } });
    expectInvalid(await alice.post(RECORDS, { data: { title: 'b' } }), 'body');
  });

  it('records can be filtered by schema version', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: SCHEMA } });
    await alice.post(RECORDS, { data: VALID });
    const version = (await alice.put(COLLECTION, { data: { schema: SCHEMA } })).json().data.last_modified;
    const newer = await alice.post(RECORDS, { data: VALID });
    expect(ids(await alice.get(`${RECORDS}?min_schema=${version}`))).toEqual([newer.json().data.id]);
  });

  it('accepts numbers beyond 64 bits', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: SCHEMA } });
    const response = await alice.post(RECORDS, '{"data": {"title": "big", "file": {"size": 36893488147419103232}}}');
    expect(response.statusCode).toBe(201);
  });

  it('does not affect collections of other buckets', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: SCHEMA } });
    await alice.put('/buckets/cms', {});
    await alice.put('/buckets/cms/collections/articles', {});
    expect((await alice.post('/buckets/cms/collections/articles/records', { data: { body: 'x' } })).statusCode).toBe(201);
  });
});

describe('bucket schemas', () => {
  it('record:schema applies to every record of the bucket, also in batch', async () => {
    await start();
    await alice.put(BUCKET, { data: { 'record:schema': SCHEMA } });
    expect((await alice.post(RECORDS, { data: VALID })).statusCode).toBe(201);
    expectInvalid(await alice.post(RECORDS, { data: { body: 'x' } }), 'body');
    const batch = await alice.post('/batch', {
      defaults: { path: RECORDS, method: 'POST' },
      requests: [{ body: { data: VALID } }, { body: { data: { body: 'x' } } }],
    });
    expect(batch.json().responses.map((r: { status: number }) => r.status)).toEqual([201, 400]);
  });

  it('record:schema and collection schema must both pass', async () => {
    await start();
    await alice.put(COLLECTION, { data: { schema: SCHEMA } });
    await alice.put(BUCKET, { data: { 'record:schema': { type: 'object', properties: { filters: { type: 'string' } } } } });
    expect((await alice.post(RECORDS, { data: { filters: '1 == 1', ...VALID } })).statusCode).toBe(201);
    expectInvalid(await alice.post(RECORDS, { data: { body: 'x' } }), 'body');
    expectInvalid(await alice.post(RECORDS, { data: { filters: 42, ...VALID } }), 'body');
  });

  it('collection:schema validates collection metadata', async () => {
    await start();
    const schema = {
      type: 'object',
      required: ['displayFields'],
      properties: { uiSchema: { type: 'object' }, displayFields: { type: 'array', items: { type: 'string' } } },
    };
    await alice.put(BUCKET, { data: { 'collection:schema': schema } });
    expectInvalid(await alice.post(`${BUCKET}/collections`, { data: {} }), 'body');
    expectInvalid(await alice.put(`${BUCKET}/collections/other`, { data: { displayFields: 42 } }), 'body');
    const valid = { uiSchema: { schema: { 'ui:widget': 'hidden' } }, displayFields: ['name'] };
    expect((await alice.put(`${BUCKET}/collections/other`, { data: valid })).statusCode).toBe(201);
  });

  it('group:schema validates groups', async () => {
    await start();
    const schema = { type: 'object', required: ['phone'], properties: { phone: { type: 'string' } } };
    await alice.put(BUCKET, { data: { 'group:schema': schema } });
    expectInvalid(await alice.post(GROUPS, { data: {} }), 'body');
    expectInvalid(await alice.put(`${GROUPS}/nine`, { data: { phone: 42 } }), 'body');
    expect((await alice.put(`${GROUPS}/nine`, { data: { members: ['oidc:x'], phone: '+33' } })).statusCode).toBe(201);
  });

  it('unresolvable $ref in a bucket schema is a 400', async () => {
    await start();
    await alice.put(BUCKET, { data: { 'record:schema': { properties: { title: { $ref: '#/definitions/title' } } } } });
    expectInvalid(await alice.post(RECORDS, { data: { title: 'b' } }), 'body');
  });
});
