// Mozilla's own HTTP client (kinto-http 5.3.0) against a real listening server:
// server information, CRUD on every resource, permissions and batch requests.
// Listing features (pagination, since, filters, safe writes) are in kinto-http-lists.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KintoClient, basicAuth, failure, startServer } from './server.ts';
import type { KintoClientInstance, RunningServer } from './server.ts';

type Rec = { id: string; last_modified: number; [key: string]: unknown };
type BatchResponse = { status: number; path: string; body: { data?: Rec & { deleted?: boolean } } };
type Aggregate = { published: unknown[]; conflicts: { type: string; local: unknown; remote: Rec }[]; errors: unknown[]; skipped: unknown[] };

let server: RunningServer;
let remote: string;

function connect(user: string): KintoClientInstance {
  return new KintoClient(remote, { headers: basicAuth(user) });
}

beforeAll(async () => {
  server = await startServer();
  remote = server.remote;
});
afterAll(() => server.app.close());

describe('kinto-http: server information', () => {
  it('reads the hello view, capabilities and the current user', async () => {
    const alice = connect('alice');
    const info = await alice.fetchServerInfo();
    expect(info.project_name).toBe('kinto');
    expect(info.url).toBe(`${remote}/`);
    expect(info.settings.batch_max_requests).toBe(25);
    expect(Object.keys(info.capabilities)).toEqual(expect.arrayContaining(['permissions_endpoint', 'basicauth']));
    expect(await alice.fetchHTTPApiVersion()).toMatch(/^1\.\d+$/);
    expect((await alice.fetchServerSettings()).readonly).toBe(false);
    const user = await alice.fetchUser();
    expect(user?.id).toMatch(/^basicauth:[0-9a-f]{64}$/);
    expect(user?.principals).toEqual(expect.arrayContaining([user?.id, 'system.Authenticated', 'system.Everyone']));
    const anonymous = new KintoClient(remote);
    expect(await anonymous.fetchUser()).toBeUndefined();
  });
});

describe('kinto-http: buckets, collections, groups and records', () => {
  it('creates, lists, reads, updates and deletes buckets', async () => {
    const alice = connect('alice');
    const created = await alice.createBucket('hb-blog', { data: { title: 'Blog' } });
    expect(created.data).toMatchObject({ id: 'hb-blog', title: 'Blog' });
    expect(created.permissions.write).toEqual([(await alice.fetchUser())?.id]);
    await alice.createBucket('hb-other');
    const listed = await alice.listBuckets();
    expect(listed.data.map((b) => b.id)).toEqual(expect.arrayContaining(['hb-blog', 'hb-other']));
    expect(Number(listed.last_modified)).toBeGreaterThan(0);
    const bucket = alice.bucket('hb-blog');
    expect(await bucket.getData<{ title: string }>()).toMatchObject({ id: 'hb-blog', title: 'Blog' });
    await bucket.setData({ description: 'mine' }, { patch: true });
    expect(await bucket.getData()).toMatchObject({ title: 'Blog', description: 'mine' });
    await bucket.setData({ title: 'Replaced' });
    const replaced = await bucket.getData<Record<string, unknown>>();
    expect(replaced.title).toBe('Replaced');
    expect(replaced.description).toBeUndefined();
    // safe creation of an existing bucket is refused with 412
    const conflict = await failure(alice.createBucket('hb-other', { safe: true }));
    expect(conflict.response.status).toBe(412);
    const deleted = await alice.deleteBucket('hb-other');
    expect(deleted.data).toMatchObject({ id: 'hb-other', deleted: true });
    const gone = await failure(alice.bucket('hb-other').getData());
    expect(gone.response.status).toBe(403); // Kinto hides missing buckets from non-admins
  });

  it('manages collections and their timestamps', async () => {
    const alice = connect('alice');
    await alice.createBucket('hb-coll');
    const bucket = alice.bucket('hb-coll');
    const before = await bucket.getCollectionsTimestamp();
    const created = await bucket.createCollection('posts', { data: { color: 'blue' } });
    expect(created.data).toMatchObject({ id: 'posts', color: 'blue' });
    const generated = await bucket.createCollection();
    expect(generated.data.id).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_-]{7}$/); // Kinto's NameGenerator
    const after = await bucket.getCollectionsTimestamp();
    expect(after).toMatch(/^"\d+"$/);
    expect(after).not.toBe(before);
    const listed = await bucket.listCollections({ sort: 'id' });
    expect(listed.data.map((c) => c.id)).toEqual([generated.data.id, 'posts'].sort());
    const posts = bucket.collection('posts');
    expect(await posts.getData()).toMatchObject({ id: 'posts', color: 'blue' });
    await posts.setData({ color: 'red', size: 3 }, { patch: true });
    expect(await posts.getData()).toMatchObject({ color: 'red', size: 3 });
    const deleted = await bucket.deleteCollection(generated.data.id);
    expect(deleted.data.deleted).toBe(true);
    expect((await bucket.listCollections()).data.map((c) => c.id)).toEqual(['posts']);
  });

  it('manages groups', async () => {
    const alice = connect('alice');
    const bob = (await connect('bob').fetchUser())!.id;
    await alice.createBucket('hb-groups');
    const bucket = alice.bucket('hb-groups');
    const group = await bucket.createGroup('editors', [bob], { data: { label: 'Editors' } });
    expect(group.data).toMatchObject({ id: 'editors', members: [bob], label: 'Editors' });
    await bucket.createGroup('readers');
    expect((await bucket.listGroups({ sort: 'id' })).data.map((g) => g.id)).toEqual(['editors', 'readers']);
    expect(await bucket.getGroupsTimestamp()).toMatch(/^"\d+"$/);
    const fetched = await bucket.getGroup('editors');
    expect(fetched.data.members).toEqual([bob]);
    const updated = await bucket.updateGroup({ id: 'readers', members: ['system.Authenticated'] });
    expect(updated.data.members).toEqual(['system.Authenticated']);
    const patched = await bucket.updateGroup({ id: 'editors' }, { data: { label: 'Renamed' }, patch: true });
    expect(patched.data).toMatchObject({ members: [bob], label: 'Renamed' });
    expect((await bucket.deleteGroup('readers')).data.deleted).toBe(true);
    expect((await bucket.listGroups()).data.map((g) => g.id)).toEqual(['editors']);
  });

  it('creates, reads, updates and deletes records', async () => {
    const alice = connect('alice');
    await alice.createBucket('hb-records');
    await alice.bucket('hb-records').createCollection('posts');
    const posts = alice.bucket('hb-records').collection('posts');
    const created = await posts.createRecord({ title: 'first', tags: ['a'] });
    const id = created.data.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.data).toMatchObject({ title: 'first', tags: ['a'] });
    const named = await posts.createRecord({ id: 'named', title: 'second' });
    expect(named.data.id).toBe('named');
    const fetched = await posts.getRecord<Rec>(id);
    expect(fetched.data).toMatchObject({ id, title: 'first', last_modified: created.data.last_modified });
    const partial = await posts.getRecord<Rec>(id, { fields: ['title'] });
    expect(partial.data).toEqual({ id, title: 'first', last_modified: created.data.last_modified });
    const replaced = await posts.updateRecord({ id, title: 'replaced' });
    expect(replaced.data).toMatchObject({ id, title: 'replaced' });
    expect((replaced.data as unknown as Rec).tags).toBeUndefined();
    const patched = await posts.updateRecord({ id, done: true }, { patch: true });
    expect(patched.data).toMatchObject({ id, title: 'replaced', done: true });
    expect(await posts.getTotalRecords()).toBe(2);
    const deleted = await posts.deleteRecord('named');
    expect(deleted.data).toMatchObject({ id: 'named', deleted: true });
    const missing = await failure(posts.getRecord('named'));
    expect(missing.response.status).toBe(404);
    expect(missing.data).toMatchObject({ code: 404, errno: 110, error: 'Not Found' });
    expect((await posts.listRecords()).data.map((r) => r.id)).toEqual([id]);
  });
});

describe('kinto-http: permissions', () => {
  it('sets, adds and removes permissions, and shares a record with a second user', async () => {
    const alice = connect('alice');
    const bobClient = connect('bob');
    const bob = (await bobClient.fetchUser())!.id;
    const aliceId = (await alice.fetchUser())!.id;
    await alice.createBucket('hb-perms');
    const bucket = alice.bucket('hb-perms');
    await bucket.createCollection('notes');
    const notes = bucket.collection('notes');
    const shared = await notes.createRecord({ title: 'shared' }, { permissions: { read: [bob] } });
    expect(shared.permissions.read).toEqual([bob]);
    const secret = await notes.createRecord({ title: 'secret' });

    const bobNotes = bobClient.bucket('hb-perms').collection('notes');
    expect((await bobNotes.getRecord(shared.data.id as string)).data).toMatchObject({ title: 'shared' });
    const forbidden = await failure(bobNotes.getRecord(secret.data.id as string));
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.data).toMatchObject({ errno: 121, error: 'Forbidden' });
    const cannotWrite = await failure(bobNotes.updateRecord({ id: shared.data.id as string, title: 'hacked' }));
    expect(cannotWrite.response.status).toBe(403);
    // bob only sees what he may read in the list
    expect((await bobNotes.listRecords()).data.map((r) => r.title)).toEqual(['shared']);

    // setPermissions replaces, addPermissions merges, removePermissions removes
    await bucket.setPermissions({ read: [bob] });
    expect(await bucket.getPermissions()).toEqual({ read: [bob], write: [aliceId] });
    await notes.addPermissions({ write: [bob] });
    expect((await notes.getPermissions()).write?.sort()).toEqual([aliceId, bob].sort());
    const bobUpdate = await bobNotes.updateRecord({ id: secret.data.id as string, title: 'edited by bob' });
    expect(bobUpdate.data).toMatchObject({ title: 'edited by bob' });
    await notes.removePermissions({ write: [bob] });
    expect((await notes.getPermissions()).write).toEqual([aliceId]);
    // as in Kinto, whoever writes a record becomes one of its writers
    expect((await notes.getRecord(secret.data.id as string)).permissions.write?.sort()).toEqual([aliceId, bob].sort());
    expect((await failure(bobNotes.deleteRecord(shared.data.id as string))).response.status).toBe(403);
    // bucket read still lets bob read everything
    expect((await bobNotes.listRecords()).data).toHaveLength(2);
  });

  it('grants access through a group', async () => {
    const alice = connect('alice');
    const carolClient = connect('carol');
    const carol = (await carolClient.fetchUser())!.id;
    await alice.createBucket('hb-gperm');
    const bucket = alice.bucket('hb-gperm');
    await bucket.createCollection('docs');
    await bucket.collection('docs').createRecord({ id: 'doc1', n: 1 });
    const carolDocs = carolClient.bucket('hb-gperm').collection('docs');
    expect((await failure(carolDocs.listRecords())).response.status).toBe(403);
    await bucket.createGroup('team', [carol]);
    await bucket.collection('docs').setPermissions({ read: ['/buckets/hb-gperm/groups/team'] });
    expect((await carolDocs.listRecords()).data.map((r) => r.id)).toEqual(['doc1']);
  });

  it('lists the permissions of the current user', async () => {
    const dave = connect('dave');
    await dave.createBucket('hb-dave');
    await dave.bucket('hb-dave').createCollection('c');
    await dave.bucket('hb-dave').collection('c').createRecord({ id: 'r1' });
    const result = await dave.listPermissions({ pages: Infinity });
    const byUri = Object.fromEntries(result.data.map((entry) => [entry.uri, entry]));
    expect(byUri['/buckets/hb-dave']).toMatchObject({ resource_name: 'bucket', id: 'hb-dave', bucket_id: 'hb-dave' });
    expect(byUri['/buckets/hb-dave'].permissions).toEqual(
      expect.arrayContaining(['read', 'write', 'collection:create', 'group:create']),
    );
    expect(byUri['/buckets/hb-dave/collections/c']).toMatchObject({ resource_name: 'collection', collection_id: 'c' });
    expect(byUri['/buckets/hb-dave/collections/c'].permissions).toEqual(expect.arrayContaining(['read', 'write', 'record:create']));
    expect(byUri['/buckets/hb-dave/collections/c/records/r1']).toMatchObject({ resource_name: 'record', id: 'r1' });
    expect(byUri['/buckets/hb-dave/collections/c/records/r1'].permissions.sort()).toEqual(['read', 'write']);
    expect(byUri['/buckets/hb-blog']).toBeUndefined(); // alice's bucket is not dave's business
  });
});

describe('kinto-http: batch requests', () => {
  it('runs several operations through client.batch and bucket.batch', async () => {
    const alice = connect('alice');
    const responses = (await alice.batch((batch: KintoClientInstance) => {
      batch.createBucket('hb-batch');
      batch.bucket('hb-batch').createCollection('items');
      batch.bucket('hb-batch').collection('items').createRecord({ id: 'x', n: 1 });
      batch.bucket('hb-batch').collection('items').createRecord({ id: 'y', n: 2 });
    })) as unknown as BatchResponse[];
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(responses[2].path).toBe('/v1/buckets/hb-batch/collections/items/records/x');
    expect(responses[3].body.data).toMatchObject({ id: 'y', n: 2 });

    const bucketResponses = (await alice.bucket('hb-batch').batch((batch) => {
      batch.createCollection('more');
      batch.collection('items').updateRecord({ id: 'x', n: 10 });
      batch.collection('items').deleteRecord('y');
      batch.collection('more').createRecord({ id: 'z' });
    })) as unknown as BatchResponse[];
    expect(bucketResponses.map((r) => r.status)).toEqual([201, 200, 200, 201]);
    expect(bucketResponses[1].body.data).toMatchObject({ id: 'x', n: 10 });
    expect(bucketResponses[2].body.data).toMatchObject({ id: 'y', deleted: true });
    const items = alice.bucket('hb-batch').collection('items');
    expect((await items.listRecords()).data).toEqual([expect.objectContaining({ id: 'x', n: 10 })]);
  });

  it('aggregates published records, conflicts and skipped deletions', async () => {
    const alice = connect('alice');
    await alice.createBucket('hb-agg');
    await alice.bucket('hb-agg').createCollection('c');
    const coll = alice.bucket('hb-agg').collection('c');
    await coll.createRecord({ id: 'exists', v: 'server' });
    const result = (await coll.batch(
      (batch) => {
        batch.createRecord({ id: 'new', v: 1 });
        batch.createRecord({ id: 'exists', v: 'client' }); // safe create: If-None-Match: *
        batch.deleteRecord({ id: 'missing', last_modified: 123 });
      },
      { safe: true, aggregate: true },
    )) as unknown as Aggregate;
    expect(result.published).toEqual([expect.objectContaining({ data: expect.objectContaining({ id: 'new', v: 1 }) })]);
    expect(result.conflicts).toHaveLength(1);
    expect(result.conflicts[0]).toMatchObject({ type: 'outgoing', remote: { id: 'exists', v: 'server' } });
    expect(result.skipped).toEqual([expect.objectContaining({ id: 'missing' })]);
    expect(result.errors).toEqual([]);
  });

  it('splits batches larger than batch_max_requests', async () => {
    const alice = connect('alice');
    await alice.createBucket('hb-big');
    await alice.bucket('hb-big').createCollection('c');
    const coll = alice.bucket('hb-big').collection('c');
    const responses = (await coll.batch((batch) => {
      for (let i = 0; i < 30; i++) batch.createRecord({ id: `r${i}`, i });
    })) as unknown as BatchResponse[];
    expect(responses).toHaveLength(30);
    expect(responses.every((r) => r.status === 201)).toBe(true);
    expect(await coll.getTotalRecords()).toBe(30);
  });
});
