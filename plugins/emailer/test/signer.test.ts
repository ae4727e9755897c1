import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basic, client } from '../../../test/helpers/app.ts';
import { makeSignerFixtures, type SignerFixtures } from '../../signer/test/fixtures.ts';
import { expectStatus, localSignerSettings } from '../../signer/test/helpers.ts';
import { emailerMetadata, emailerWorld, smtpSettings, type EmailerWorld } from './helpers.ts';
import { TestSmtpServer } from './smtp.ts';

const SOURCE = '/buckets/main-workspace/collections/certs';

const smtp = new TestSmtpServer();
let fixtures: SignerFixtures;
let world: EmailerWorld;
beforeAll(async () => {
  fixtures = makeSignerFixtures();
  await smtp.start();
});
afterAll(async () => {
  fixtures.remove();
  await smtp.stop();
});
afterEach(async () => {
  await world.app.close();
  smtp.clear();
});

const review = (type: string, subject: string) => ({
  event: `kinto_remote_settings.signer.events.${type}`,
  subject,
  template: '{event}: {changes_count} change(s) in {uri} by {user_id}. {comment}',
  recipients: ['me@you.com', '/buckets/main-workspace/groups/{collection_id}-reviewers'],
});

async function actor(name: string) {
  const actorClient = client(world.app, basic(name));
  return { client: actorClient, id: (await actorClient.get('/')).json().user.id as string };
}

describe('signer review events', () => {
  it('send the hooks of the review requests, approvals and rejections', async () => {
    world = await emailerWorld(localSignerSettings(fixtures), smtpSettings(smtp.port), {
      'kinto.includes': 'kinto_emailer kinto_remote_settings',
      'kinto.signer.resources': `${SOURCE} -> /buckets/main/collections/certs`,
      'kinto.signer.to_review_enabled': 'true',
    });
    const editor = await actor('editor');
    const reviewer = await actor('reviewer');
    const hooks = emailerMetadata(
      review('ReviewRequested', '{user_id} requested review on {bucket_id}/{collection_id}.'),
      review('ReviewApproved', 'Approved {collection_id}'),
      review('ReviewRejected', 'Rejected {collection_id}'),
    );
    await expectStatus(editor.client.put('/buckets/main-workspace', { data: hooks, permissions: { write: ['system.Authenticated'] } }), 201);
    await editor.client.put('/buckets/main-workspace/groups/certs-editors', { data: { members: [editor.id] } });
    await editor.client.put('/buckets/main-workspace/groups/certs-reviewers', { data: { members: [reviewer.id, 'ldap:rev@example.com'] } });
    await expectStatus(editor.client.put(SOURCE, {}), 201);
    await expectStatus(editor.client.post(`${SOURCE}/records`, { data: { title: 'hello' } }), 201);
    await world.settled();
    expect(smtp.received).toEqual([]);

    await expectStatus(editor.client.patch(SOURCE, { data: { status: 'to-review' } }), 200);
    const [requested] = await smtp.waitFor(1);
    expect(requested.headers.subject).toBe(`${editor.id} requested review on main-workspace/certs.`);
    expect(requested.rcptTo).toEqual(['me@you.com', 'rev@example.com']);
    // Without a preview collection the signer counts no changes on review requests (Python's None).
    expect(requested.body).toBe(`kinto_remote_settings.signer.events.ReviewRequested: None change(s) in ${SOURCE} by ${editor.id}. `);

    await expectStatus(reviewer.client.patch(SOURCE, { data: { status: 'to-sign' } }), 200);
    const approved = (await smtp.waitFor(2))[1];
    expect(approved.headers.subject).toBe('Approved certs');
    expect(approved.body).toBe(`kinto_remote_settings.signer.events.ReviewApproved: 1 change(s) in ${SOURCE} by ${reviewer.id}. {comment}`);

    await expectStatus(editor.client.post(`${SOURCE}/records`, { data: { title: 'again' } }), 201);
    await expectStatus(editor.client.patch(SOURCE, { data: { status: 'to-review' } }), 200);
    await expectStatus(reviewer.client.patch(SOURCE, { data: { status: 'work-in-progress', last_reviewer_comment: 'Not yet' } }), 200);
    const mails = await smtp.waitFor(4);
    expect(mails.map((mail) => mail.headers.subject).slice(2)).toEqual([`${editor.id} requested review on main-workspace/certs.`, 'Rejected certs']);
    expect(mails[3].body).toContain('Not yet');
    await world.settled();
    expect(smtp.received).toHaveLength(4);
  });
});
