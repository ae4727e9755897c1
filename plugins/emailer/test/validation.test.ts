import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailerMetadata, emailerWorld, type EmailerWorld } from './helpers.ts';

let world: EmailerWorld;
beforeAll(async () => {
  // No SMTP server: the hooks written here never match a mail that could be sent.
  world = await emailerWorld({ 'kinto.includes': 'kinto_emailer', 'mail.port': '1' });
  await world.alice.put('/buckets/b', {});
});
afterAll(() => world.app.close());

const valid = () => ({
  template: '{user_id} requested review on {uri}.',
  recipients: ['me@you.com', 'My friend alice <alice@wonderland.com>', '<t.h.i.s+that@some.crazy.moderndomainnameyouknow>'],
});

async function putCollection(data: unknown) {
  return world.alice.put('/buckets/b/collections/c', { data });
}

async function expectInvalid(data: unknown, message: string) {
  const response = await putCollection(data);
  expect(response.statusCode, response.body).toBe(400);
  expect(response.json()).toMatchObject({ code: 400, errno: 107, error: 'Invalid parameters', message: `body: ${message}` });
}

describe('kinto-emailer metadata validation', () => {
  it('accepts addresses, groups of the bucket, empty hooks and templates', async () => {
    expect((await putCollection(emailerMetadata(valid()))).statusCode).toBe(201);
    expect((await putCollection(emailerMetadata({ ...valid(), recipients: ['/buckets/b/groups/g'] }))).statusCode).toBe(200);
    expect((await putCollection(emailerMetadata())).statusCode).toBe(200);
    expect((await putCollection(emailerMetadata({ ...valid(), template: '' }))).statusCode).toBe(200);
  });

  it('refuses missing hooks or template, empty or invalid recipients', async () => {
    await expectInvalid({ 'kinto-emailer': {} }, 'Missing "hooks".');
    await expectInvalid({ 'kinto-emailer': 'hooks' }, 'Missing "hooks".');
    await expectInvalid({ 'kinto-emailer': { hooks: {} } }, 'Invalid "hooks": a list is expected.');
    await expectInvalid(emailerMetadata({ recipients: ['a@b.c'] }), 'Missing "template".');
    await expectInvalid(emailerMetadata({ ...valid(), template: 3 }), 'Invalid "template": a string is expected.');
    await expectInvalid(emailerMetadata({ ...valid(), subject: ['x'] }), 'Invalid "subject": a string is expected.');
    await expectInvalid(emailerMetadata({ ...valid(), recipients: [] }), 'Empty list of recipients.');
    await expectInvalid(emailerMetadata({ template: '' }), 'Empty list of recipients.');
    await expectInvalid(emailerMetadata({ ...valid(), recipients: ['ok@b.c', '<fe@gmail.com', 'haha@haha@com'] }), 'Invalid recipients <fe@gmail.com, haha@haha@com');
    await expectInvalid(emailerMetadata({ ...valid(), recipients: ['/buckets/b/group/g'] }), 'Invalid recipients /buckets/b/group/g');
    await expectInvalid(emailerMetadata({ ...valid(), recipients: [42] }), 'Invalid recipients 42');
  });

  it('refuses groups of another bucket', async () => {
    await expectInvalid(emailerMetadata({ ...valid(), recipients: ['/buckets/plop/groups/g'] }), 'Invalid bucket for groups /buckets/plop/groups/g');
    await expectInvalid(emailerMetadata({ ...valid(), recipients: ['/buckets/bb/groups/g'] }), 'Invalid bucket for groups /buckets/bb/groups/g');
  });

  it('validates bucket metadata too, created with POST or PUT', async () => {
    const posted = await world.alice.post('/buckets', { data: { id: 'other', 'kinto-emailer': {} } });
    expect(posted.statusCode).toBe(400);
    expect(posted.json().message).toBe('body: Missing "hooks".');
    const patched = await world.alice.patch('/buckets/b', { data: emailerMetadata({ ...valid(), recipients: ['/buckets/x/groups/g'] }) });
    expect(patched.json().message).toBe('body: Invalid bucket for groups /buckets/x/groups/g');
    expect((await world.alice.patch('/buckets/b', { data: emailerMetadata({ ...valid(), recipients: ['/buckets/b/groups/g'] }) })).statusCode).toBe(200);
    // Nothing was written by the refused requests.
    expect((await world.alice.get('/buckets/other')).statusCode).toBe(403);
  });
});
