import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestSmtpServer } from './smtp.ts';
import { emailerMetadata, emailerWorld, smtpSettings, type EmailerWorld } from './helpers.ts';

const smtp = new TestSmtpServer();
let world: EmailerWorld;

beforeAll(async () => {
  await smtp.start();
});
afterAll(() => smtp.stop());
afterEach(async () => {
  await world?.app.close();
  smtp.clear();
});

async function setUp(collectionHooks: Record<string, unknown>[] | null, bucketHooks: Record<string, unknown>[] | null = null) {
  world = await emailerWorld(smtpSettings(smtp.port));
  const bucket = await world.alice.put('/buckets/blog', bucketHooks ? { data: emailerMetadata(...bucketHooks) } : {});
  expect(bucket.statusCode, bucket.body).toBe(201);
  const collection = await world.alice.put('/buckets/blog/collections/articles', collectionHooks ? { data: emailerMetadata(...collectionHooks) } : {});
  expect(collection.statusCode, collection.body).toBe(201);
  await world.settled();
  smtp.clear();
  world.logs.length = 0;
}

describe('record notifications', () => {
  it('sends the templated mail to the recipients once the record is created', async () => {
    await setUp([
      {
        resource_name: 'record',
        action: 'create',
        sender: 'Kinto <noreply@example.com>',
        subject: '{action}d on {bucket_id}/{collection_id}',
        template: '{user_id} {action}d {resource_name} {record_id} ({id}) at {uri} from {client_address}, {user_agent}; {root_url} {settings[project_name]}',
        recipients: ['Alice <alice@example.com>', 'bob@example.com'],
      },
    ]);
    const created = await world.alice.post('/buckets/blog/collections/articles/records', { data: { id: 'hello', title: 'Hi' } }, { 'user-agent': 'tests/1.0' });
    expect(created.statusCode).toBe(201);
    const [mail] = await smtp.waitFor(1);
    const userId = (await world.alice.get('/')).json().user.id;
    expect(mail.headers.subject).toBe('created on blog/articles');
    expect(mail.headers.from).toBe('Kinto <noreply@example.com>');
    expect(mail.headers.to).toBe('Alice <alice@example.com>, bob@example.com');
    expect(mail.rcptTo).toEqual(['alice@example.com', 'bob@example.com']);
    expect(mail.mailFrom).toBe('noreply@example.com');
    expect(mail.body).toBe(
      `${userId} created record hello (hello) at /buckets/blog/collections/articles/records from 127.0.0.1, tests/1.0; http://localhost/v1/ kinto`,
    );
  });

  it('uses the default subject and sender, and leaves unknown placeholders as written', async () => {
    await setUp([{ template: 'Record {id}: {unknown} {settings[userid_hmac_secret]} {{literal}}', recipients: ['a@example.com'] }]);
    await world.alice.put('/buckets/blog/collections/articles/records/r1', { data: {} });
    const [mail] = await smtp.waitFor(1);
    expect(mail.headers.subject).toBe('New message');
    expect(mail.headers.from).toBe('kinto@example.com');
    expect(mail.body).toBe('Record r1: {unknown} {settings[userid_hmac_secret]} {literal}');
  });

  it('filters hooks on action, resource, ids and regular expressions', async () => {
    await setUp([
      { resource_name: 'record', action: 'update', subject: 'record update', template: '', recipients: ['a@example.com'] },
      { resource_name: 'collection', subject: 'collection {action}', template: '', recipients: ['a@example.com'] },
      { record_id: 'special', subject: 'special {action}', template: '', recipients: ['a@example.com'] },
      { record_id: '^(?!special$)', action: 'delete', subject: 'other deleted', template: '', recipients: ['a@example.com'] },
      { event: 'kinto_remote_settings.signer.events.ReviewRequested', subject: 'review', template: '', recipients: ['a@example.com'] },
    ]);
    const records = '/buckets/blog/collections/articles/records';
    await world.alice.put(`${records}/special`, { data: {} });
    await world.alice.put(`${records}/plain`, { data: {} });
    await world.alice.patch(`${records}/plain`, { data: { a: 1 } });
    await world.alice.delete(`${records}/plain`);
    await world.alice.patch('/buckets/blog/collections/articles', { data: { description: 'x' } });
    await world.settled();
    expect(smtp.received.map((mail) => mail.headers.subject)).toEqual(['special create', 'record update', 'other deleted', 'collection update']);
  });

  it('sends nothing when the transaction is rolled back, one mail per record of a batch', async () => {
    await setUp(null, [{ resource_name: 'record', subject: 'Created {bucket_id}/{collection_id}/{id}.', template: '', recipients: ['a@example.com'] }]);
    const batch = await world.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { ...{ authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` }, 'content-type': 'application/json' },
      payload: JSON.stringify({
        defaults: { method: 'PUT', path: '/buckets/blog/collections/articles/records/1' },
        requests: [{ body: { data: {} } }, { path: '/buckets/blog/collections/articles/records/2', body: { data: {} } }],
      }),
    });
    expect(batch.statusCode, batch.body).toBe(200);
    await smtp.waitFor(2);
    expect(smtp.received.map((mail) => mail.headers.subject).sort()).toEqual(['Created blog/articles/1.', 'Created blog/articles/2.']);
    smtp.clear();
    // A failed If-Match: nothing is written, nothing is sent.
    const refused = await world.alice.put('/buckets/blog/collections/articles/records/3', { data: {} }, { 'if-match': '"1"' });
    expect(refused.statusCode).toBe(412);
    await world.settled();
    expect(smtp.received).toEqual([]);
  });

  it('uses the bucket hooks when the collection has none, the collection ones otherwise', async () => {
    await setUp([{ subject: 'from collection', template: '', recipients: ['c@example.com'] }], [{ subject: 'from bucket', template: '', recipients: ['b@example.com'] }]);
    await world.alice.put('/buckets/blog/collections/articles/records/a', { data: {} });
    await world.alice.put('/buckets/blog/collections/other', { data: {} });
    await world.alice.put('/buckets/blog/collections/other/records/a', { data: {} });
    await world.settled();
    expect(smtp.received.map((mail) => mail.headers.subject)).toEqual(['from collection', 'from bucket', 'from bucket']);
  });

  it('sends a mail when a configured collection is deleted', async () => {
    await setUp([{ resource_name: 'collection', action: 'delete', subject: 'Collection {bucket_id}/{collection_id} was deleted', template: '(no body)', recipients: ['a@example.com'] }]);
    expect((await world.alice.delete('/buckets/blog/collections/articles')).statusCode).toBe(200);
    const [mail] = await smtp.waitFor(1);
    expect(mail.headers.subject).toBe('Collection blog/articles was deleted');
    expect(mail.body).toBe('(no body)');
  });
});

describe('group recipients', () => {
  it('expand to the members that look like addresses, without their prefix', async () => {
    await setUp([{ template: 'Changed', recipients: ['/buckets/blog/groups/{collection_id}-reviewers', 'x@example.com'] }]);
    const members = ['ldap:rev@example.com', 'account:bob', 'portier:Some One <one@example.com>', 'fxa:225689876'];
    const group = await world.alice.put('/buckets/blog/groups/articles-reviewers', { data: { members } });
    expect(group.statusCode, group.body).toBe(201);
    await world.alice.put('/buckets/blog/collections/articles/records/a', { data: {} });
    const [mail] = await smtp.waitFor(1);
    expect(mail.rcptTo).toEqual(['x@example.com', 'rev@example.com', 'one@example.com']);
  });

  it('send nothing when no member is an address', async () => {
    await setUp([{ subject: 'groups', template: '', recipients: ['/buckets/blog/groups/devs'] }, { subject: 'missing', template: '', recipients: ['/buckets/blog/groups/nobody'] }]);
    await world.alice.put('/buckets/blog/groups/devs', { data: { members: ['account:bob'] } });
    await world.alice.put('/buckets/blog/collections/articles/records/a', { data: {} });
    await world.settled();
    expect(smtp.received).toEqual([]);
  });
});

describe('mail failures', () => {
  it('are logged and never fail the write (SMTP server down)', async () => {
    const down = new TestSmtpServer();
    await down.start();
    const port = down.port;
    await down.stop();
    world = await emailerWorld(smtpSettings(port, { 'mail.password': 'top-secret-password', 'mail.username': 'kinto' }));
    await world.alice.put('/buckets/blog', { data: emailerMetadata({ template: 'x', recipients: ['a@example.com'] }) });
    const created = await world.alice.put('/buckets/blog/collections/articles', { data: {} });
    expect(created.statusCode).toBe(201);
    await world.settled();
    const failure = world.logs.find((line) => line.msg === 'Could not send notifications');
    expect(failure).toMatchObject({ level: 50, recipients: ['a@example.com'] });
    expect(JSON.stringify(failure)).toContain('ECONNREFUSED');
    expect(JSON.stringify(world.logs)).not.toContain('top-secret-password');
  });

  it('are logged when the server requires STARTTLS and does not offer it', async () => {
    world = await emailerWorld(smtpSettings(smtp.port, { 'mail.tls': 'true' }));
    await world.alice.put('/buckets/blog', { data: emailerMetadata({ template: 'x', recipients: ['a@example.com'] }) });
    expect((await world.alice.put('/buckets/blog/collections/articles', { data: {} })).statusCode).toBe(201);
    await world.settled();
    expect(world.logs.some((line) => line.msg === 'Could not send notifications')).toBe(true);
    expect(smtp.received).toEqual([]);
  });

  it('a broken template or filter only loses its own mail', async () => {
    await setUp([
      { subject: 'broken', template: 'unbalanced } brace', recipients: ['a@example.com'] },
      { subject: 'bad regexp', id: '^(', template: '', recipients: ['a@example.com'] },
      { subject: 'fine', template: '', recipients: ['a@example.com'] },
    ]);
    expect((await world.alice.put('/buckets/blog/collections/articles/records/a', { data: {} })).statusCode).toBe(201);
    await world.settled();
    expect(smtp.received.map((mail) => mail.headers.subject)).toEqual(['fine']);
    expect(world.logs.filter((line) => line.msg?.startsWith('kinto-emailer hook ignored'))).toHaveLength(2);
  });
});

describe('authentication', () => {
  it('logs in with mail.username and mail.password', async () => {
    const secured = await new TestSmtpServer({ credentials: { user: 'kinto', pass: 's3cret' } }).start();
    try {
      world = await emailerWorld(smtpSettings(secured.port, { 'mail.username': 'kinto', 'mail.password': 's3cret' }));
      await world.alice.put('/buckets/blog', { data: emailerMetadata({ template: 'x', recipients: ['a@example.com'] }) });
      await world.alice.put('/buckets/blog/collections/articles', { data: {} });
      const [mail] = await secured.waitFor(1);
      expect(mail.user).toBe('kinto');
    } finally {
      await secured.stop();
    }
  });
});
