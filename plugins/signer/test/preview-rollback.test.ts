import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reviewEventsOf, type ReviewEvent } from '../index.ts';
import { makeSignerFixtures, type SignerFixtures } from './fixtures.ts';
import { expectStatus, localSignerSettings, signerWorld, type Actor, type SignerWorld } from './helpers.ts';

const SOURCE = '/buckets/alice/collections/scid';
const PREVIEW = '/buckets/preview/collections/pcid';
const DESTINATION = '/buckets/alice/collections/dcid';

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

interface World {
  world: SignerWorld;
  owner: Actor;
  other: Actor;
  events: ReviewEvent[];
}

/** Source → preview → destination, review enforced, both users editors and reviewers. */
async function previewWorld(): Promise<World> {
  const world = await signerWorld(localSignerSettings(fixtures), {
    'kinto.signer.resources': `${SOURCE} -> ${PREVIEW} -> ${DESTINATION}`,
    'kinto.signer.to_review_enabled': 'true',
  });
  const events: ReviewEvent[] = [];
  reviewEventsOf(world.app.kinto).subscribe((event) => {
    events.push(event);
  });
  const owner = await world.actor('tarte');
  const other = await world.actor('sam');
  await expectStatus(owner.client.put('/buckets/alice', { permissions: { write: ['system.Authenticated'] } }), 201);
  for (const group of ['scid-editors', 'scid-reviewers']) {
    await owner.client.put(`/buckets/alice/groups/${group}`, { data: { members: [owner.id, other.id] } });
  }
  await expectStatus(owner.client.put(SOURCE, {}), 201);
  await owner.client.post(`${SOURCE}/records`, { data: { title: 'hello' } });
  await owner.client.post(`${SOURCE}/records`, { data: { id: 'in-french', title: 'bonjour' } });
  return { world, owner, other, events };
}

const setStatus = (actor: Actor, value: string, extra: Record<string, unknown> = {}) =>
  expectStatus(actor.client.patch(SOURCE, { data: { status: value, ...extra } }), 200);
const records = async (actor: Actor, uri: string) => (await actor.client.get(`${uri}/records`)).json().data as { id: string; title: string }[];
const metadata = async (actor: Actor, uri: string) => (await actor.client.get(uri)).json().data;

describe('preview collection', () => {
  let w: World;
  beforeEach(async () => {
    w = await previewWorld();
  });
  afterEach(() => w.world.app.close());

  it('receives the changes and a signature on review requests, with the Admin UI fields', async () => {
    await setStatus(w.owner, 'to-review', { displayFields: ['age'], schema: { type: 'object' } });
    const preview = await metadata(w.owner, PREVIEW);
    expect(preview.signatures).toHaveLength(1);
    expect(preview.displayFields).toEqual(['age']);
    expect(preview.schema).toEqual({ type: 'object' });
    expect(await records(w.owner, PREVIEW)).toHaveLength(2);
    expect(await records(w.owner, DESTINATION)).toHaveLength(0);
    const requested = w.events.find((e) => e.type === 'ReviewRequested')!;
    expect(requested.payload).toMatchObject({ changes_count: 2, comment: '', uri: SOURCE, collection_id: 'scid', user_id: w.owner.id });
    expect(requested.payload.changes_size_bytes).toBeGreaterThan(50);
  });

  it('is readable by everyone and written by the signer only', async () => {
    await setStatus(w.owner, 'to-review');
    expect((await w.world.anonymous.get(`${PREVIEW}/records`)).statusCode).toBe(200);
    const write = await expectStatus(w.owner.client.post(`${DESTINATION}/records`, { data: { title: 'sneaky' } }), 403);
    expect(write.json().errno).toBe(121);
    await expectStatus(w.owner.client.patch(PREVIEW, { data: { signature: null } }), 403);
    const deletion = await expectStatus(w.owner.client.delete(DESTINATION), 403);
    expect(deletion.json().message).toBe('Collection is in use.');
  });

  it('counts approved changes in the metrics', async () => {
    const counted: unknown[] = [];
    w.world.app.kinto.metrics.provide('test', { timer() {}, observe() {}, count: (key, options) => counted.push([key, options]) });
    await setStatus(w.owner, 'to-review');
    await setStatus(w.other, 'to-sign');
    expect(counted).toContainEqual([
      'plugins.signer.approved_changes',
      { count: 2, unique: [['bucket_id', 'alice'], ['collection_id', 'dcid']] },
    ]);
  });

  it('goes to the destination on approval, with events', async () => {
    await setStatus(w.owner, 'to-review', { last_editor_comment: 'please check' });
    expect((await metadata(w.owner, SOURCE)).last_editor_comment).toBe('please check');
    await setStatus(w.other, 'to-sign');
    expect((await records(w.owner, DESTINATION)).map((r) => r.title).sort()).toEqual(['bonjour', 'hello']);
    const approved = w.events.find((e) => e.type === 'ReviewApproved')!;
    expect(approved.payload).toMatchObject({ changes_count: 2, user_id: w.other.id });
    expect(approved.resource.destination).toEqual({ bucket: 'alice', collection: 'dcid' });
  });

  it('sends ReviewRejected when a review goes back to work-in-progress', async () => {
    await setStatus(w.owner, 'to-review');
    await setStatus(w.other, 'work-in-progress', { last_reviewer_comment: 'not yet' });
    expect(w.events.map((e) => e.type)).toContain('ReviewRejected');
    expect(w.events.find((e) => e.type === 'ReviewRejected')!.payload.comment).toBe('not yet');
  });

  it('is handled as the reference when the source changes during a review', async () => {
    await setStatus(w.owner, 'to-review');
    await w.owner.client.post(`${SOURCE}/records`, { data: { title: 'late' } });
    expect((await metadata(w.owner, SOURCE)).status).toBe('work-in-progress');
    const refused = await expectStatus(w.other.client.patch(SOURCE, { data: { status: 'to-sign' } }), 400);
    expect(refused.json().message).toBe('Collection not under review');
  });
});

describe('rollback', () => {
  let w: World;
  beforeEach(async () => {
    w = await previewWorld();
    await setStatus(w.owner, 'to-review');
    await setStatus(w.other, 'to-sign');
    await w.owner.client.put(`${SOURCE}/records/r1`, { data: { title: 'Hallo' } });
    await w.owner.client.put(`${SOURCE}/records/r2`, { data: { title: 'Bon dia' } });
  });
  afterEach(() => w.world.app.close());

  it('is refused on a signed collection', async () => {
    await setStatus(w.owner, 'to-review');
    await setStatus(w.other, 'to-sign');
    const refused = await expectStatus(w.owner.client.patch(SOURCE, { data: { status: 'to-rollback' } }), 400);
    expect(refused.json().message).toBe('Collection has no work-in-progress');
  });

  it('resets the source and preview to the destination content, comments and status', async () => {
    const hello = (await records(w.owner, SOURCE)).find((r) => r.title === 'hello')!;
    await w.owner.client.put(`${SOURCE}/records/${hello.id}`, { data: { title: 'Ave' } });
    await w.owner.client.delete(`${SOURCE}/records/in-french`);
    await setStatus(w.owner, 'to-review', { last_editor_comment: 'please check' });
    const before = await metadata(w.owner, SOURCE);
    const previewSignature = (await metadata(w.owner, PREVIEW)).signatures[0].signature;
    await setStatus(w.owner, 'to-rollback');
    const after = await metadata(w.owner, SOURCE);
    expect(after).toMatchObject({ status: 'signed', last_editor_comment: '', last_reviewer_comment: '' });
    expect(after.last_edit_date).not.toBe(before.last_edit_date);
    const expected = (await records(w.owner, DESTINATION)).map((r) => `${r.id}:${r.title}`).sort();
    expect((await records(w.owner, SOURCE)).map((r) => `${r.id}:${r.title}`).sort()).toEqual(expected);
    expect((await records(w.owner, PREVIEW)).map((r) => `${r.id}:${r.title}`).sort()).toEqual(expected);
    expect((await metadata(w.owner, PREVIEW)).signatures[0].signature).not.toBe(previewSignature);
    expect(w.events.find((e) => e.type === 'ReviewCanceled')!.payload.changes_count).toBeGreaterThan(0);
  });

  it('does not bring back records whose deletion was approved', async () => {
    await setStatus(w.owner, 'to-review');
    await setStatus(w.other, 'to-sign');
    await w.owner.client.delete(`${SOURCE}/records/r1`);
    await setStatus(w.owner, 'to-review');
    await setStatus(w.other, 'to-sign');
    await w.owner.client.put(`${SOURCE}/records/r1`, { data: { title: 'Servus' } });
    await setStatus(w.owner, 'to-rollback');
    for (const uri of [SOURCE, PREVIEW, DESTINATION]) await expectStatus(w.owner.client.get(`${uri}/records/r1`), 404);
  });
});

describe('source collection creation and deletion', () => {
  it('needs group:create on the bucket to set up the groups', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), { 'kinto.signer.resources': '/buckets/stage -> /buckets/prod' });
    const owner = await world.actor('owner');
    const writer = await world.actor('writer');
    await owner.client.put('/buckets/stage', { permissions: { 'collection:create': [writer.id] } });
    const refused = await expectStatus(writer.client.put('/buckets/stage/collections/a', {}), 403);
    expect(refused.json().message).toBe(
      "Cannot create collection without `group:create` on bucket 'stage': editors/reviewers groups cannot be set up.",
    );
    await expectStatus(writer.client.get('/buckets/stage/collections/a'), 403);
    await expectStatus(owner.client.put('/buckets/stage/collections/a', {}), 201);
    const editors = (await owner.client.get('/buckets/stage/groups/a-editors')).json();
    expect(editors.data.members).toEqual([owner.id]);
    expect(editors.permissions.write).toEqual([owner.id]);
    expect((await owner.client.get('/buckets/stage/groups/a-reviewers')).json().data.members).toEqual([]);
    const acl = (await owner.client.get('/buckets/stage/collections/a')).json().permissions.write;
    expect(acl).toEqual(expect.arrayContaining(['/buckets/stage/groups/a-editors', '/buckets/stage/groups/a-reviewers']));
    expect((await world.anonymous.get('/buckets/prod/collections/a')).json().data.signature.mode).toBe('p384ecdsa');
    await world.app.close();
  });

  it('empties and re-signs preview and destination, or purges them on hard delete', async () => {
    for (const hard of [false, true]) {
      const world = await signerWorld(localSignerSettings(fixtures), {
        'kinto.signer.resources': '/buckets/stage -> /buckets/preview -> /buckets/prod',
        'kinto.signer.hard_delete_destination_on_source_deletion': String(hard),
        'kinto.changes.resources': '/buckets/preview /buckets/prod',
      });
      const owner = await world.actor('owner');
      await owner.client.put('/buckets/stage', {});
      await owner.client.put('/buckets/stage/collections/a', {});
      for (let i = 0; i < 5; i++) await owner.client.post('/buckets/stage/collections/a/records', { data: { i } });
      await setStatusOn(owner, '/buckets/stage/collections/a', 'to-review');
      await setStatusOn(owner, '/buckets/stage/collections/a', 'to-sign');
      const signature = (await metadata(owner, '/buckets/prod/collections/a')).signatures[0].signature;
      const monitor = '/buckets/monitor/collections/changes/changeset?_expected=0';
      const watched = async () => (await world.anonymous.get(monitor)).json().changes.map((e: { bucket: string }) => e.bucket).sort();
      expect(await watched()).toEqual(['preview', 'prod']);
      await expectStatus(owner.client.delete('/buckets/stage/collections/a'), 200);
      await expectStatus(owner.client.get('/buckets/stage/groups/a-editors'), 404);
      for (const bucket of ['preview', 'prod']) {
        const uri = `/buckets/${bucket}/collections/a`;
        if (hard) {
          await expectStatus(owner.client.get(uri), 404);
          continue;
        }
        expect(await records(owner, uri)).toEqual([]);
        expect((await owner.client.get(`${uri}/records?_since=0`)).json().data).toHaveLength(5);
        expect((await metadata(owner, uri)).signatures[0].signature).not.toBe(signature);
      }
      // A purged collection leaves the monitor; an emptied one stays, with its tombstones.
      expect(await watched()).toEqual(hard ? [] : ['preview', 'prod']);
      await world.app.close();
    }
  });
});

const setStatusOn = (actor: Actor, uri: string, value: string) => expectStatus(actor.client.patch(uri, { data: { status: value } }), 200);

describe('with the history plugin', () => {
  it('records the signer writes, by plugin:remote-settings, in the same transaction', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.includes': 'history kinto_remote_settings',
      'kinto.signer.resources': '/buckets/stage -> /buckets/prod',
    });
    const owner = await world.actor('owner');
    await owner.client.put('/buckets/stage', {});
    await owner.client.put('/buckets/stage/collections/a', {});
    await owner.client.post('/buckets/stage/collections/a/records', { data: { title: 'x' } });
    await setStatusOn(owner, '/buckets/stage/collections/a', 'to-sign');
    const history = (await owner.client.get('/buckets/prod/history')).json().data as { user_id: string; resource_name: string; action: string }[];
    const byPlugin = history.filter((entry) => entry.user_id === 'plugin:remote-settings');
    expect(byPlugin.map((e) => `${e.resource_name}:${e.action}`)).toEqual(expect.arrayContaining(['record:create', 'collection:update']));
    await world.app.close();
  });
});
