/**
 * The whole Remote Settings loop through HTTP, checked as Firefox checks it: editors
 * change a workspace collection, a reviewer approves, clients poll the monitor and the
 * collection changesets and verify the signature with an independent verifier.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeSignerFixtures, SIGNER_ID, type SignerFixtures } from './fixtures.ts';
import { expectStatus, localSignerSettings, signerWorld, type Actor, type SignerWorld } from './helpers.ts';
import { signedMessage, verifiedLeafKey, verifyWithKey, type SignatureEntry } from './verifier.ts';

const WORKSPACE = '/buckets/main-workspace/collections/cfr';
const PREVIEW = '/buckets/main-preview/collections/cfr';
const MAIN = '/buckets/main/collections/cfr';
const MONITOR = '/buckets/monitor/collections/changes/changeset';

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

interface Roles {
  world: SignerWorld;
  admin: Actor;
  editor: Actor;
  reviewer: Actor;
  stranger: Actor;
}

/** Mozilla's layout: main-workspace → main-preview → main, review enforced, watched by the monitor. */
async function remoteSettings(): Promise<Roles> {
  const world = await signerWorld(localSignerSettings(fixtures), {
    'kinto.signer.to_review_enabled': 'true',
    'kinto.changes.resources': '/buckets/main /buckets/main-preview',
    'kinto.changes.since_max_age_days': '-1',
  });
  const [admin, editor, reviewer, stranger] = await Promise.all(['admin', 'editor', 'reviewer', 'stranger'].map((n) => world.actor(n)));
  await expectStatus(admin.client.put('/buckets/main-workspace', {}), 201);
  await expectStatus(admin.client.put(WORKSPACE, {}), 201);
  await expectStatus(admin.client.put('/buckets/main-workspace/groups/cfr-editors', { data: { members: [editor.id] } }), 200);
  await expectStatus(admin.client.put('/buckets/main-workspace/groups/cfr-reviewers', { data: { members: [reviewer.id] } }), 200);
  return { world, admin, editor, reviewer, stranger };
}

interface Changeset {
  metadata: { signatures: SignatureEntry[]; signature: SignatureEntry; last_modified: number };
  timestamp: number;
  changes: { id: string; last_modified: number; deleted?: boolean; [field: string]: unknown }[];
}

/** What a Firefox client does: fetch the changeset, the x5u chain, verify every signature. */
async function verifyAsFirefox(world: SignerWorld, collection: string, records?: Changeset['changes']): Promise<Changeset> {
  const changeset = (await expectStatus(world.anonymous.get(`${collection}/changeset?_expected=0`), 200)).json() as Changeset;
  expect(changeset.metadata.signatures.length).toBeGreaterThan(0);
  const message = signedMessage(records ?? changeset.changes, changeset.timestamp);
  for (const signature of changeset.metadata.signatures) {
    const x5u = new URL(signature.x5u);
    expect(x5u.host).toBe('settings.example.org');
    const chain = await expectStatus(world.anonymous.get(x5u.pathname), 200);
    const leafKey = verifiedLeafKey(chain.body, fixtures.rootPem, signature.signer_id);
    expect(verifyWithKey(message, signature.signature, leafKey)).toBe(true);
  }
  return changeset;
}

const setStatus = (actor: Actor, value: string) => actor.client.patch(WORKSPACE, { data: { status: value } });

describe('Remote Settings end to end', () => {
  let r: Roles;
  beforeEach(async () => {
    r = await remoteSettings();
  });
  afterEach(() => r.world.app.close());

  it('publishes reviewed changes that clients verify with the certificate chain', async () => {
    const data = [
      { id: 'b-record', title: 'Ünïcödé ❤ \u{1F600}', nested: { z: 1, a: [3, 1, 2], 'clé': 'é' } },
      { id: 'a-record', escapes: 'quote " backslash \\ newline \n tab \t slash / del \u007f', big: 9007199254740991 },
    ];
    for (const record of data) await expectStatus(r.editor.client.put(`${WORKSPACE}/records/${record.id}`, { data: record }), 201);
    await expectStatus(setStatus(r.editor, 'to-review'), 200);
    const preview = await verifyAsFirefox(r.world, PREVIEW);
    expect(preview.changes).toHaveLength(2);
    await expectStatus(setStatus(r.reviewer, 'to-sign'), 200);
    const main = await verifyAsFirefox(r.world, MAIN);
    expect(main.changes.map((c) => c.id).sort()).toEqual(['a-record', 'b-record']);
    expect(main.metadata.signature.signer_id).toBe(SIGNER_ID);
    expect(main.changes.find((c) => c.id === 'b-record')!.title).toBe('Ünïcödé ❤ \u{1F600}');
  });

  it('serves changesets with `_since` and tombstones that clients apply, then verify', async () => {
    await r.editor.client.put(`${WORKSPACE}/records/one`, { data: { n: 1 } });
    await r.editor.client.put(`${WORKSPACE}/records/two`, { data: { n: 2 } });
    await setStatus(r.editor, 'to-review');
    await setStatus(r.reviewer, 'to-sign');
    const first = await verifyAsFirefox(r.world, MAIN);

    // The client keeps its local copy, then syncs only what changed.
    await r.editor.client.delete(`${WORKSPACE}/records/one`);
    await r.editor.client.put(`${WORKSPACE}/records/three`, { data: { n: 3 } });
    await setStatus(r.editor, 'to-review');
    await setStatus(r.reviewer, 'to-sign');

    const monitor = (await r.world.anonymous.get(`${MONITOR}?_expected=0`)).json();
    const entry = monitor.changes.find((e: { bucket: string }) => e.bucket === 'main');
    const since = `${MAIN}/changeset?_expected=${entry.last_modified}&_since=${first.timestamp}`;
    const delta = (await expectStatus(r.world.anonymous.get(since), 200)).json() as Changeset;
    expect(delta.timestamp).toBe(entry.last_modified);
    expect(delta.changes.map((c) => `${c.id}${c.deleted ? ':deleted' : ''}`).sort()).toEqual(['one:deleted', 'three']);
    const local = new Map(first.changes.map((c) => [c.id, c]));
    for (const change of delta.changes) change.deleted ? local.delete(change.id) : local.set(change.id, change);
    const message = signedMessage([...local.values()], delta.timestamp);
    const signature = delta.metadata.signatures[0];
    const chain = (await r.world.anonymous.get(new URL(signature.x5u).pathname)).body;
    expect(verifyWithKey(message, signature.signature, verifiedLeafKey(chain, fixtures.rootPem, signature.signer_id))).toBe(true);
    // A tampered local copy does not verify.
    local.delete('two');
    expect(verifyWithKey(signedMessage([...local.values()], delta.timestamp), signature.signature, verifiedLeafKey(chain, fixtures.rootPem, SIGNER_ID))).toBe(false);
  });

  it('follows the monitor: `_expected`, CDN lifetimes, broadcasts', async () => {
    await r.editor.client.put(`${WORKSPACE}/records/one`, { data: { n: 1 } });
    await setStatus(r.editor, 'to-review');
    await setStatus(r.reviewer, 'to-sign');
    const monitor = (await r.world.anonymous.get(`${MONITOR}?_expected=0`)).json();
    expect(monitor.changes.map((e: { bucket: string; collection: string }) => `${e.bucket}/${e.collection}`).sort()).toEqual([
      'main-preview/cfr',
      'main/cfr',
    ]);
    const main = monitor.changes.find((e: { bucket: string }) => e.bucket === 'main');
    const stale = await r.world.anonymous.get(`${MONITOR}?_expected=${main.last_modified}&_since=${main.last_modified + 10}`);
    expect(stale.statusCode).toBe(204);
    const upToDate = await r.world.anonymous.get(`${MONITOR}?_expected=${main.last_modified}&_since=${monitor.timestamp}`);
    expect(upToDate.statusCode).toBe(200);
    expect(upToDate.json().changes).toEqual([]);
    const broadcast = (await r.world.anonymous.get('/__broadcasts__')).json();
    expect(broadcast.broadcasts['remote-settings/monitor_changes']).toBe(`"${main.last_modified}"`);
  });

  it('rejects, rolls back and re-signs', async () => {
    await r.editor.client.put(`${WORKSPACE}/records/one`, { data: { n: 1 } });
    await setStatus(r.editor, 'to-review');
    await setStatus(r.reviewer, 'to-sign');
    await r.editor.client.put(`${WORKSPACE}/records/one`, { data: { n: 'changed' } });
    await setStatus(r.editor, 'to-review');
    await expectStatus(r.reviewer.client.patch(WORKSPACE, { data: { status: 'work-in-progress', last_reviewer_comment: 'no' } }), 200);
    await expectStatus(setStatus(r.editor, 'to-rollback'), 200);
    expect((await r.editor.client.get(`${WORKSPACE}/records/one`)).json().data.n).toBe(1);
    await verifyAsFirefox(r.world, PREVIEW);
    const before = (await verifyAsFirefox(r.world, MAIN)).metadata;
    await expectStatus(setStatus(r.admin, 'to-resign'), 200);
    const after = (await verifyAsFirefox(r.world, MAIN)).metadata;
    expect(after.signature.signature).not.toBe(before.signature.signature);
    expect(after.last_modified).toBeGreaterThan(before.last_modified);
  });

  it('gives each role its permissions', async () => {
    await expectStatus(r.editor.client.post(`${WORKSPACE}/records`, { data: { n: 1 } }), 201);
    await expectStatus(r.reviewer.client.post(`${WORKSPACE}/records`, { data: { n: 2 } }), 201);
    await expectStatus(r.stranger.client.post(`${WORKSPACE}/records`, { data: { n: 3 } }), 403);
    await expectStatus(r.world.anonymous.get(`${WORKSPACE}/records`), 401);
    await expectStatus(setStatus(r.stranger, 'to-review'), 403);
    await expectStatus(setStatus(r.reviewer, 'to-review'), 403);
    await expectStatus(setStatus(r.editor, 'to-review'), 200);
    await expectStatus(setStatus(r.editor, 'to-sign'), 403);
    await expectStatus(setStatus(r.reviewer, 'to-sign'), 200);
    // Everybody reads the published collections; nobody writes them, not even the admin.
    await expectStatus(r.world.anonymous.get(`${MAIN}/records`), 200);
    await expectStatus(r.admin.client.post(`${MAIN}/records`, { data: {} }), 403);
    await expectStatus(r.admin.client.post(`${PREVIEW}/records`, { data: {} }), 403);
    await expectStatus(r.admin.client.delete(`${MAIN}/records`), 403);
    await expectStatus(r.admin.client.patch(MAIN, { data: { signature: null } }), 403);
    await expectStatus(r.admin.client.delete(MAIN), 403);
  });

  it('signs once when two approvals race', async () => {
    await r.editor.client.put(`${WORKSPACE}/records/one`, { data: { n: 1 } });
    await setStatus(r.editor, 'to-review');
    const second = await r.world.actor('second-reviewer');
    await r.admin.client.put('/buckets/main-workspace/groups/cfr-reviewers', { data: { members: [r.reviewer.id, second.id] } });
    const before = (await r.world.anonymous.get(MAIN)).json().data.last_modified;
    const results = await Promise.all([setStatus(r.reviewer, 'to-sign'), setStatus(second, 'to-sign')]);
    expect(results.map((res) => res.statusCode).sort()).toEqual([200, 400]);
    expect(results.find((res) => res.statusCode === 400)!.json().message).toBe('Collection already signed');
    expect((await r.world.anonymous.get(`${MAIN}/records`)).json().data).toHaveLength(1);
    expect((await r.world.anonymous.get(MAIN)).json().data.last_modified).toBeGreaterThan(before);
    await verifyAsFirefox(r.world, MAIN);
  });

  it('signs several collections in one batch', async () => {
    await r.admin.client.put('/buckets/main-workspace/collections/other', {});
    await r.admin.client.put('/buckets/main-workspace/groups/cfr-editors', { data: { members: [r.editor.id, r.admin.id] } });
    const response = await expectStatus(
      r.admin.client.post('/batch', {
        defaults: { method: 'POST' },
        requests: [
          { path: `/buckets/main-workspace/collections/cfr/records`, body: { data: { n: 1 } } },
          { path: `/buckets/main-workspace/collections/other/records`, body: { data: { n: 2 } } },
        ],
      }),
      200,
    );
    expect(response.json().responses.map((x: { status: number }) => x.status)).toEqual([201, 201]);
    const batch = await r.admin.client.post('/batch', {
      defaults: { method: 'PATCH', body: { data: { status: 'to-review' } } },
      requests: [{ path: WORKSPACE }, { path: '/buckets/main-workspace/collections/other' }],
    });
    expect(batch.json().responses?.map((x: { status: number }) => x.status), batch.body).toEqual([200, 200]);
    for (const cid of ['cfr', 'other']) {
      expect((await r.admin.client.get(`/buckets/main-workspace/collections/${cid}`)).json().data.status).toBe('to-review');
      await verifyAsFirefox(r.world, `/buckets/main-preview/collections/${cid}`);
    }
  });
});
