import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../core/app.ts';
import type { ResourceEvent } from '../../../core/events.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { client, type Client } from '../../../test/helpers/app.ts';
import { ACCOUNTS_INI, basicAuth, iniWith, makeAccountsApp } from '../../accounts/test/helpers.ts';

const hmac = (secret: string, message: string) => createHmac('sha256', secret).update(message).digest('hex');
const asUuid = (hex: string) => hex.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5');
/** The basicauth user id of `user:secret` with the test INI's `userid_hmac_secret`. */
const basicUserId = (user: string) => `basicauth:${hmac('a-long-random-secret', `${user}:secret`)}`;
/** Bucket id of a user: `default_bucket_hmac_secret` is '' unless configured, as in Kinto. */
const bucketOf = (userId: string, secret = '') => asUuid(hmac(secret, userId));
const RECORD = { data: { name: 'Hulled Barley', type: 'Whole Grain' } };

describe('default bucket', () => {
  let app: FastifyInstance;
  let mat: Client;
  let events: ResourceEvent[];
  const matBucket = bucketOf(basicUserId('mat'));

  beforeEach(async () => {
    app = await buildApp(loadConfig({ iniText: ACCOUNTS_INI, env: {} }));
    events = [];
    app.kinto.events.subscribe({ phase: 'commit', handle: async (batch) => void events.push(...batch) });
    await app.ready();
    mat = client(app, basicAuth('mat', 'secret'));
  });
  afterEach(() => app.close());

  it('shows the bucket id in the hello view and the capability', async () => {
    const hello = (await mat.get('/')).json();
    expect(hello.user.bucket).toBe(matBucket);
    expect(hello.capabilities.default_bucket.url).toBe(
      'https://kinto.readthedocs.io/en/latest/api/1.x/buckets.html#personal-bucket-default',
    );
    expect((await client(app).get('/')).json().user).toBeUndefined();
  });

  it('creates the bucket on GET, owned by the user, once', async () => {
    const first = await mat.get('/buckets/default');
    expect(first.statusCode).toBe(200);
    expect(first.json().data.id).toBe(matBucket);
    expect(first.json().permissions.write).toEqual([basicUserId('mat')]);
    expect((await mat.get('/buckets/default')).statusCode).toBe(200);
    expect(events.map((e) => [e.payload.resource_name, e.payload.action])).toEqual([['bucket', 'create']]);
    expect(events[0].payload).toMatchObject({ uri: `/buckets/${matBucket}`, bucket_id: matBucket, user_id: basicUserId('mat') });
  });

  it('creates bucket and collection on a record POST, visible through the real bucket id', async () => {
    const created = await mat.post('/buckets/default/collections/tasks/records', RECORD);
    expect(created.statusCode).toBe(201);
    const id = created.json().data.id;
    const real = await mat.get(`/buckets/${matBucket}/collections/tasks/records/${id}`);
    expect(real.statusCode).toBe(200);
    expect(real.json().data).toMatchObject(RECORD.data);
    const collection = await mat.get(`/buckets/${matBucket}/collections/tasks`);
    expect(collection.json().permissions.write).toEqual([basicUserId('mat')]);
    expect(events.map((e) => e.payload.resource_name)).toEqual(['bucket', 'collection', 'record']);
    expect(events[1].payload).toMatchObject({ bucket_id: matBucket, collection_id: 'tasks', uri: `/buckets/${matBucket}/collections/tasks` });
    expect(events[2].payload).toMatchObject({ uri: `/buckets/${matBucket}/collections/tasks/records` });
    expect(events[2].impacted[0].new?.id).toBe(id);
  });

  it('answers exactly as the real bucket path', async () => {
    await mat.post('/buckets/default/collections/tasks/records', RECORD);
    const viaDefault = await mat.get('/buckets/default/collections/tasks/records?_sort=name');
    const viaReal = await mat.get(`/buckets/${matBucket}/collections/tasks/records?_sort=name`);
    expect(viaDefault.statusCode).toBe(200);
    expect(viaDefault.json()).toEqual(viaReal.json());
    expect(viaDefault.headers.etag).toBe(viaReal.headers.etag);
    expect(viaDefault.headers['content-type']).toBe(viaReal.headers['content-type']);
    const etag = String(viaReal.headers.etag);
    expect((await mat.get('/buckets/default/collections/tasks/records', { 'if-none-match': etag })).statusCode).toBe(304);
    const head = await mat.head('/buckets/default/collections/tasks/records');
    expect(head.headers['total-objects']).toBe('1');
    expect(head.body).toBe('');
    expect((await mat.get('/buckets/default/collections/tasks/records?_since=invalid')).statusCode).toBe(400);
    const notAllowed = await mat.post('/buckets/default/collections/tasks', {});
    expect(notAllowed.statusCode).toBe(405);
    expect(notAllowed.json()).toMatchObject({ errno: 115, message: 'Method not allowed on this endpoint.' });
  });

  it('refuses anonymous callers with 401', async () => {
    const response = await client(app).get('/buckets/default/collections/tasks/records');
    expect(response.statusCode).toBe(401);
    expect(response.json().message).toBe('Please authenticate yourself to use this endpoint.');
    expect(events).toEqual([]);
  });

  it('gives every user a different bucket', async () => {
    const bob = client(app, basicAuth('bob', 'secret'));
    const created = await bob.post('/buckets/default/collections/tasks/records', RECORD);
    const id = created.json().data.id;
    expect((await mat.get(`/buckets/default/collections/tasks/records/${id}`)).statusCode).toBe(404);
    expect((await mat.get('/buckets/default')).json().data.id).not.toBe((await bob.get('/buckets/default')).json().data.id);
    expect((await bob.get(`/buckets/${matBucket}`)).statusCode).toBe(403);
  });

  it('can still be created explicitly, with "default" as body id', async () => {
    const put = await mat.put('/buckets/default', { data: { id: 'default' }, permissions: { read: ['system.Everyone'] } });
    expect(put.statusCode).toBe(201);
    expect(put.json().data.id).toBe(matBucket);
    expect(put.json().permissions.read).toEqual(['system.Everyone']);
    const collection = await mat.put('/buckets/default/collections/tasks', { data: { synced: true } });
    expect(collection.statusCode).toBe(201);
    expect((await mat.get('/buckets/default/collections/tasks')).json().data.synced).toBe(true);
    expect((await client(app, basicAuth('bob', 'secret')).put('/buckets/default')).statusCode).toBe(201);
  });

  it('validates the collection id of the path', async () => {
    expect((await mat.get('/buckets/default/collections/__files__/records')).statusCode).toBe(400);
    const unicode = await mat.get('/buckets/default/collections/%E8%A6%8B/records');
    expect(unicode.statusCode).toBe(400);
    expect(unicode.json().details[0]).toMatchObject({ location: 'path', description: 'Invalid collection id' });
  });

  it('redirects trailing slashes to the default bucket path', async () => {
    for (const path of ['/buckets/default/', '/buckets/default/collections/foo/records/']) {
      const response = await mat.get(path);
      expect(response.statusCode).toBe(307);
      expect(response.headers.location).toBe(`/v1${path.slice(0, -1)}`);
    }
  });

  it('creates bucket and collection once in a batch', async () => {
    const requests = Array.from({ length: 5 }, () => ({ method: 'POST', path: '/buckets/default/collections/tasks/records', body: RECORD }));
    const batch = await mat.post('/batch', { requests });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().responses.map((r: { status: number }) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const list = await mat.get(`/buckets/${matBucket}/collections/tasks/records`);
    expect(list.json().data).toHaveLength(5);
    expect(events.filter((e) => e.payload.resource_name !== 'record').map((e) => e.impacted.length)).toEqual([1, 1]);
  });

  it('serves the bucket of an account user', async () => {
    await client(app).put('/accounts/alice', { data: { password: 'pw' } });
    const alice = client(app, basicAuth('alice', 'pw'));
    const hello = (await alice.get('/')).json();
    expect(hello.user.bucket).toBe(bucketOf('account:alice'));
    expect((await alice.get('/buckets/default')).json().data.id).toBe(hello.user.bucket);
  });
});

describe('default bucket settings', () => {
  it('matches the bucket id Kinto computes (empty secrets)', async () => {
    const app = await makeAccountsApp(iniWith({ 'kinto.userid_hmac_secret': '' }));
    const hello = (await client(app, basicAuth('mat', 'secret')).get('/')).json();
    expect(hello.user.id).toBe('basicauth:8a931a10fc88ab2f6d1cc02a07d3a81b5d4768f6f13e85c5d8d4180419acb1b4');
    expect(hello.user.bucket).toBe('ddaf8694-fa9e-2949-ed0e-77198a7907fb');
    await app.close();
  });

  it('uses default_bucket_hmac_secret when configured', async () => {
    const app = await makeAccountsApp(iniWith({ 'kinto.default_bucket_hmac_secret': 'bucket_id_salt' }));
    const hello = (await client(app, basicAuth('mat', 'secret')).get('/')).json();
    expect(hello.user.bucket).toBe(bucketOf(basicUserId('mat'), 'bucket_id_salt'));
    await app.close();
  });

  it('answers 405 in readonly mode', async () => {
    const app = await makeAccountsApp(iniWith({ 'kinto.readonly': 'true' }));
    const response = await client(app, basicAuth('mat', 'secret')).get('/buckets/default');
    expect(response.statusCode).toBe(405);
    expect(response.json().errno).toBe(115);
    await app.close();
  });
});
