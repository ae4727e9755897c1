import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSignerFixtures, type SignerFixtures } from './fixtures.ts';
import { expectStatus, localSignerSettings, signerWorld, type Actor, type SignerWorld } from './helpers.ts';

const SOURCE = '/buckets/alice/collections/scid';
const DESTINATION = '/buckets/alice/collections/dcid';
const PREVIEW = '/buckets/preview/collections/pcid';
const ISO8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

interface Signoff {
  world: SignerWorld;
  owner: Actor;
  other: Actor;
}

/** The reference's SignoffWebTest: both users editors and reviewers, a source with 2 records. */
async function signoff(settings: Record<string, string> = {}): Promise<Signoff> {
  const world = await signerWorld(localSignerSettings(fixtures), { 'kinto.signer.resources': `${SOURCE} -> ${DESTINATION}` }, settings);
  const owner = await world.actor('tarte');
  const other = await world.actor('sam');
  await expectStatus(owner.client.put('/buckets/alice', { permissions: { write: ['system.Authenticated'] } }), 201);
  for (const group of ['scid-editors', 'scid-reviewers']) {
    await expectStatus(owner.client.put(`/buckets/alice/groups/${group}`, { data: { members: [owner.id, other.id] } }), 201);
  }
  await expectStatus(owner.client.put(SOURCE, {}), 201);
  await expectStatus(owner.client.post(`${SOURCE}/records`, { data: { title: 'hello' } }), 201);
  await expectStatus(owner.client.post(`${SOURCE}/records`, { data: { id: 'in-french', title: 'bonjour' } }), 201);
  return { world, owner, other };
}

const status = async (actor: Actor, uri = SOURCE) => (await actor.client.get(uri)).json().data.status;
const setStatus = (actor: Actor, value: string, uri = SOURCE) => actor.client.patch(uri, { data: { status: value } });

describe('collection status', () => {
  let s: Signoff;
  afterEach(() => s.world.app.close());

  it('starts signed, goes work-in-progress on record changes, signed again on to-sign', async () => {
    s = await signoff();
    expect(await status(s.owner)).toBe('work-in-progress');
    await expectStatus(setStatus(s.owner, 'to-sign'), 200);
    expect(await status(s.owner)).toBe('signed');
    await s.owner.client.post(`${SOURCE}/records`, { data: { title: 'Hallo' } });
    expect(await status(s.owner)).toBe('work-in-progress');
  });

  it('refuses unknown values, `signed`, and removing the status', async () => {
    s = await signoff();
    const married = await expectStatus(setStatus(s.owner, 'married'), 400);
    expect(married.json()).toEqual({ code: 400, errno: 109, error: 'Bad Request', message: "Invalid status 'married'" });
    expect((await expectStatus(setStatus(s.owner, 'signed'), 400)).json().message).toBe("Cannot set status to 'signed'");
    expect(await status(s.owner)).toBe('work-in-progress');
    await expectStatus(setStatus(s.owner, 'to-sign'), 200);
    const removed = await expectStatus(s.owner.client.put(SOURCE, { data: {} }), 400);
    expect(removed.json().message).toBe('Cannot remove status');
    expect((await expectStatus(s.owner.client.put(SOURCE, { data: { status: '' } }), 400)).json().message).toBe("Invalid status ''");
    // Keeping `signed` as it is, or changing other fields, is fine.
    await expectStatus(setStatus(s.owner, 'signed'), 200);
    await expectStatus(s.owner.client.patch(SOURCE, { data: { author: 'dali' } }), 200);
  });

  it('can be set back to work-in-progress, or to review again once signed', async () => {
    s = await signoff();
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    await expectStatus(setStatus(s.owner, 'work-in-progress'), 200);
    await expectStatus(setStatus(s.owner, 'to-sign'), 200);
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    expect(await status(s.owner)).toBe('to-review');
  });

  it('re-signs on to-resign, even if never reviewed, restoring the status', async () => {
    s = await signoff();
    const before = (await s.owner.client.get(SOURCE)).json().data;
    await expectStatus(setStatus(s.owner, 'to-resign'), 200);
    const after = (await s.owner.client.get(SOURCE)).json().data;
    expect(after.status).toBe('work-in-progress');
    expect(after.last_signature_date > before.last_signature_date).toBe(true);
    expect(after.last_review_date).toBeUndefined();
    expect(after.last_review_request_date).toBeUndefined();
  });
});

describe('review enforced (to_review_enabled)', () => {
  let s: Signoff;
  afterEach(() => s.world.app.close());

  it('needs a review before signing, by someone else', async () => {
    s = await signoff({ 'kinto.signer.to_review_enabled': 'true' });
    expect((await expectStatus(setStatus(s.owner, 'to-sign'), 400)).json().message).toBe('Collection not under review');
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    const self = await expectStatus(setStatus(s.owner, 'to-sign'), 403);
    expect(self.json()).toEqual({ code: 403, errno: 121, error: 'Forbidden', message: 'Last editor cannot review' });
    expect(await status(s.owner)).toBe('to-review');
    await expectStatus(setStatus(s.other, 'to-sign'), 200);
    expect(await status(s.owner)).toBe('signed');
    expect((await expectStatus(setStatus(s.other, 'to-sign'), 400)).json().message).toBe('Collection already signed');
  });

  it('lets only editors request reviews and only reviewers approve', async () => {
    s = await signoff({ 'kinto.signer.to_review_enabled': 'true' });
    const editor = await s.world.actor('emo');
    const reviewer = await s.world.actor('ray');
    await s.owner.client.put('/buckets/alice/groups/scid-editors', { data: { members: [editor.id] } });
    await s.owner.client.put('/buckets/alice/groups/scid-reviewers', { data: { members: [reviewer.id] } });
    const notEditor = await expectStatus(setStatus(reviewer, 'to-review'), 403);
    expect(notEditor.json()).toEqual({ code: 403, errno: 121, error: 'Forbidden', message: 'Not in scid-editors group' });
    await expectStatus(setStatus(editor, 'to-review'), 200);
    expect((await expectStatus(setStatus(editor, 'to-sign'), 403)).json().message).toBe('Not in scid-reviewers group');
    await expectStatus(setStatus(reviewer, 'to-sign'), 200);
    expect(await status(s.owner)).toBe('signed');
  });

  it('lets anybody with write permission re-sign', async () => {
    s = await signoff({ 'kinto.signer.to_review_enabled': 'true' });
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    await expectStatus(setStatus(s.other, 'to-sign'), 200);
    const writer = await s.world.actor('walter');
    const etag = (await s.owner.client.head(`${DESTINATION}/records`)).headers.etag;
    await expectStatus(setStatus(writer, 'to-resign'), 200);
    expect(await status(s.owner)).toBe('signed');
    expect((await s.owner.client.head(`${DESTINATION}/records`)).headers.etag).toBe(etag);
  });

  it('re-signs with pending changes without publishing them', async () => {
    s = await signoff({ 'kinto.signer.to_review_enabled': 'true' });
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    await expectStatus(setStatus(s.other, 'to-sign'), 200);
    await s.owner.client.post(`${SOURCE}/records`, { data: { title: 'pending change' } });
    const before = (await s.owner.client.get(DESTINATION)).json().data.signatures[0].signature;
    await expectStatus(setStatus(s.owner, 'to-resign'), 200);
    expect(await status(s.owner)).toBe('work-in-progress');
    expect((await s.owner.client.get(DESTINATION)).json().data.signatures[0].signature).not.toBe(before);
    expect((await s.owner.client.get(`${DESTINATION}/records`)).json().data).toHaveLength(2);
  });
});

describe('tracking fields', () => {
  let s: Signoff;
  afterEach(() => s.world.app.close());

  it('records who edited, requested, reviewed and signed, and when', async () => {
    s = await signoff();
    const fields = (await s.owner.client.get(SOURCE)).json().data;
    expect(fields.last_edit_by).toBe(s.owner.id);
    expect(fields.last_edit_date).toMatch(ISO8601);
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    const requested = (await s.owner.client.get(SOURCE)).json().data;
    expect(requested.last_review_request_by).toBe(s.owner.id);
    expect(requested.last_review_request_date).toMatch(ISO8601);
    await expectStatus(setStatus(s.other, 'to-sign'), 200);
    const signed = (await s.owner.client.get(SOURCE)).json().data;
    expect(signed.last_review_by).toBe(s.other.id);
    expect(signed.last_signature_by).toBe(s.other.id);
    expect(signed.last_review_date).toMatch(ISO8601);
    await expectStatus(setStatus(s.owner, 'to-resign'), 200);
    const refreshed = (await s.owner.client.get(SOURCE)).json().data;
    expect(refreshed.last_review_by).toBe(s.other.id);
    expect(refreshed.last_signature_by).toBe(s.owner.id);
    expect(refreshed.last_signature_date).not.toBe(refreshed.last_review_date);
  });

  it('cannot be changed nor removed by users', async () => {
    s = await signoff();
    await expectStatus(setStatus(s.owner, 'to-review'), 200);
    await expectStatus(setStatus(s.other, 'to-sign'), 200);
    const current = (await s.owner.client.get(SOURCE)).json().data;
    const fields = ['last_edit_by', 'last_edit_date', 'last_review_request_by', 'last_review_request_date', 'last_review_by', 'last_review_date', 'last_signature_by', 'last_signature_date'];
    for (const field of fields) {
      expect(current[field]).toBeDefined();
      const changed = await expectStatus(s.owner.client.patch(SOURCE, { data: { [field]: 'changed' } }), 400);
      const name = field.toUpperCase();
      expect(changed.json()).toMatchObject({ errno: 109, message: `Cannot change <TRACKING_FIELDS.${name}: '${field}'>` });
      const { [field]: _removed, ...rest } = current;
      await expectStatus(s.owner.client.put(SOURCE, { data: rest }), 400);
    }
  });

  it('keeps the editor comment sent with a review request, resets it otherwise', async () => {
    s = await signoff();
    await expectStatus(s.owner.client.patch(SOURCE, { data: { status: 'to-review', last_editor_comment: 'please check' } }), 200);
    expect((await s.owner.client.get(SOURCE)).json().data.last_editor_comment).toBe('please check');
  });
});

describe('floats', () => {
  let s: Signoff;
  afterEach(() => s.world.app.close());

  it('are refused in source records, with their path', async () => {
    s = await signoff();
    for (const [data, path] of [[{ a: 3.14 }, 'a'], [{ a: { b: 41.5 } }, 'a.b'], [{ a: [{ b: 0.1 }] }, 'a.0.b'], [{ x: 1, y: 0.5 }, 'x.y']] as const) {
      const refused = await expectStatus(s.owner.client.post(`${SOURCE}/records`, { data }), 400);
      expect(refused.json()).toMatchObject({ errno: 109, message: `field contains float value (tip: use integer or string), '${path}'` });
    }
    await expectStatus(s.owner.client.post('/buckets/alice/collections/other/records', { data: { a: 1.5 } }), 404);
  });

  it('are accepted with allow_floats', async () => {
    s = await signoff({ 'kinto.signer.allow_floats': 'true' });
    await expectStatus(s.owner.client.post(`${SOURCE}/records`, { data: { a: 3.14 } }), 201);
  });
});
