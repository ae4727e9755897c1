import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { client, type Client } from '../../../test/helpers/app.ts';
import { basicAuth, iniWith, makeAccountsApp } from './helpers.ts';

const hmac = (secret: string, message: string) => createHmac('sha256', secret).update(message).digest('hex');
const CACHE_KEY = (user: string) => hmac('a-long-random-secret', `accounts:${user}:verified`);

describe('accounts: creation', () => {
  let app: FastifyInstance;
  let anonymous: Client;
  beforeEach(async () => {
    app = await makeAccountsApp();
    anonymous = client(app);
  });
  afterEach(() => app.close());

  it('advertises the accounts capability', async () => {
    const hello = await anonymous.get('/');
    expect(hello.json().capabilities.accounts).toEqual({
      description: 'Manage user accounts.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/accounts.html',
      validation_enabled: false,
    });
  });

  it('lets anyone create an account with PUT, owned by the account and stored hashed', async () => {
    const created = await anonymous.put('/accounts/alice', { data: { password: '123456', age: 42 } });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.data).toMatchObject({ id: 'alice', age: 42 });
    expect(body.data.password).toMatch(/^\$2[aby]\$12\$.{53}$/);
    expect(body.permissions).toEqual({ write: ['account:alice'] });
    const stored = await app.kinto.storage.get('account', 'alice', 'alice');
    expect(stored?.password).toBe(body.data.password);
  });

  it('lets anyone create an account with POST, with an email as id', async () => {
    const created = await anonymous.post('/accounts', { data: { id: 'alice+test@example.com', password: '12éé6' } });
    expect(created.statusCode).toBe(201);
    const hello = await client(app, basicAuth('alice+test@example.com', '12éé6')).get('/');
    expect(hello.json().user.id).toBe('account:alice+test@example.com');
  });

  it('requires an id on POST and a password', async () => {
    const noId = await anonymous.post('/accounts', { data: { password: 'pass' } });
    expect(noId.statusCode).toBe(400);
    expect(noId.json().message).toBe('data.id in body: Required');
    expect(noId.json().details[0]).toMatchObject({ location: 'body', name: 'data.id' });
    const noPassword = await anonymous.post('/accounts', { data: { id: 'me' } });
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json().details[0]).toMatchObject({ location: 'body', name: 'data.password' });
    expect((await anonymous.put('/accounts/me', { data: { password: 42 } })).statusCode).toBe(400);
    expect((await anonymous.put('/accounts/-bad', { data: { password: 'x' } })).statusCode).toBe(400);
  });

  it('refuses to create an existing account anonymously, returns it to its owner', async () => {
    await anonymous.post('/accounts', { data: { id: 'me', password: 'bouh' } });
    expect((await anonymous.post('/accounts', { data: { id: 'me', password: 'other' } })).statusCode).toBe(401);
    expect((await anonymous.put('/accounts/me', { data: { password: 'other' } })).statusCode).toBe(401);
    const again = await client(app, basicAuth('me', 'bouh')).post('/accounts', { data: { id: 'me', password: 'bouh' } });
    expect(again.statusCode).toBe(200);
  });

  it('refuses ids that do not match the path', async () => {
    const response = await anonymous.put('/accounts/alice', { data: { id: 'bob', password: 'bouh' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('does not match');
  });
});

describe('accounts: authentication', () => {
  let app: FastifyInstance;
  beforeEach(async () => {
    app = await makeAccountsApp();
    await client(app).put('/accounts/alice', { data: { password: '123456' } });
  });
  afterEach(() => app.close());

  it('authenticates Basic credentials of an account as account:<username>', async () => {
    const hello = await client(app, basicAuth('alice', '123456')).get('/');
    expect(hello.json().user.id).toBe('account:alice');
    expect((await client(app, basicAuth('alice', '123456')).get('/accounts/alice')).statusCode).toBe(200);
  });

  it('falls back on the next policy with a wrong password', async () => {
    const hello = await client(app, basicAuth('alice', 'wrong')).get('/');
    expect(hello.json().user.id).toMatch(/^basicauth:/);
    expect((await client(app, basicAuth('alice', 'wrong')).get('/accounts/alice')).statusCode).toBe(403);
  });

  it('remembers a verified login as an HMAC of the password, refreshing its lifetime', async () => {
    const alice = client(app, basicAuth('alice', '123456'));
    await alice.get('/');
    const key = CACHE_KEY('alice');
    const cached = await app.kinto.cache.get(key);
    expect(cached).toBe(hmac(key, '123456'));
    expect(JSON.stringify(cached)).not.toContain('123456');
    await app.kinto.cache.expire(key, 10);
    await alice.get('/');
    expect(await app.kinto.cache.ttl(key)).toBeGreaterThanOrEqual(20);
    const wrong = await client(app, basicAuth('alice', 'blah')).get('/');
    expect(wrong.json().user.id).not.toBe('account:alice');
  });

  it('refuses the old password after a change and keeps the hash on metadata changes', async () => {
    const alice = client(app, basicAuth('alice', '123456'));
    const before = (await alice.get('/accounts/alice')).json().data.password;
    const patched = await alice.patch('/accounts/alice', { data: { age: 'captain' } });
    expect(patched.json().data).toMatchObject({ age: 'captain', password: before });
    // Any update forgets the cached login (Kinto), which the next request verifies again.
    expect(await app.kinto.cache.get(CACHE_KEY('alice'))).toBeNull();
    expect((await alice.get('/')).json().user.id).toBe('account:alice');

    expect((await alice.put('/accounts/alice', { data: { password: 'bouh' } })).statusCode).toBe(200);
    expect(await app.kinto.cache.get(CACHE_KEY('alice'))).toBeNull();
    expect((await alice.get('/')).json().user.id).toMatch(/^basicauth:/);
    const renewed = await client(app, basicAuth('alice', 'bouh')).get('/accounts/alice');
    expect(renewed.statusCode).toBe(200);
    expect(renewed.json().data.password).not.toBe(before);
  });

  it('forgets the cached login when the account is deleted', async () => {
    const alice = client(app, basicAuth('alice', '123456'));
    await alice.get('/');
    expect(await app.kinto.cache.get(CACHE_KEY('alice'))).not.toBeNull();
    expect((await alice.delete('/accounts/alice')).statusCode).toBe(200);
    expect(await app.kinto.cache.get(CACHE_KEY('alice'))).toBeNull();
    expect((await alice.get('/')).json().user.id).toMatch(/^basicauth:/);
  });
});

describe('accounts: only policy', () => {
  let app: FastifyInstance;
  beforeEach(async () => {
    app = await makeAccountsApp(iniWith({ 'multiauth.policies': 'account' }));
    await client(app).put('/accounts/alice', { data: { password: '123456' } });
  });
  afterEach(() => app.close());

  it('answers 401 to a wrong or an old password', async () => {
    expect((await client(app, basicAuth('alice', 'nope')).get('/accounts/alice')).statusCode).toBe(401);
    const alice = client(app, basicAuth('alice', '123456'));
    await alice.put('/accounts/alice', { data: { password: 'bouh' } });
    const old = await alice.get('/accounts/alice');
    expect(old.statusCode).toBe(401);
    expect([old.headers['www-authenticate']].flat()).toContain('Basic realm="Realm"');
    expect((await client(app, basicAuth('alice', 'bouh')).get('/accounts/alice')).statusCode).toBe(200);
  });

  it('answers 401 once the account is deleted', async () => {
    const alice = client(app, basicAuth('alice', '123456'));
    await alice.delete('/accounts/alice');
    expect((await alice.get('/accounts/alice')).statusCode).toBe(401);
  });
});

describe('accounts: permissions', () => {
  let app: FastifyInstance;
  let alice: Client;
  beforeEach(async () => {
    app = await makeAccountsApp();
    await client(app).put('/accounts/alice', { data: { password: '123456' } });
    await client(app).put('/accounts/bob', { data: { password: 'azerty' } });
    alice = client(app, basicAuth('alice', '123456'));
  });
  afterEach(() => app.close());

  it('refuses anonymous reads', async () => {
    const list = await client(app).get('/accounts');
    expect(list.statusCode).toBe(401);
    expect(list.json()).toEqual({ code: 401, errno: 999, error: 'Cannot read accounts.' });
    expect((await client(app).get('/accounts/alice')).statusCode).toBe(401);
  });

  it('lists only the caller account and hides the others', async () => {
    const list = await alice.get('/accounts');
    expect(list.json().data.map((a: { id: string }) => a.id)).toEqual(['alice']);
    expect((await alice.get('/accounts/bob')).statusCode).toBe(403);
    expect((await alice.get('/accounts/jeanine')).statusCode).toBe(403);
    expect((await alice.patch('/accounts/bob', { data: { password: 'x' } })).statusCode).toBe(403);
    expect((await alice.delete('/accounts/bob')).statusCode).toBe(403);
  });

  it('refuses to create or modify another account', async () => {
    for (const response of [
      await alice.put('/accounts/carol', { data: { password: 'x' } }),
      await alice.put('/accounts/bob', { data: { password: 'x' } }),
      await alice.post('/accounts', { data: { id: 'carol', password: 'x' } }),
    ]) {
      expect(response.statusCode).toBe(400);
      expect(response.json().details).toEqual([
        { location: 'body', name: 'data.id', description: 'Username and account ID do not match.' },
      ]);
    }
    const noId = await alice.post('/accounts', { data: { password: 'x' } });
    expect(noId.statusCode).toBe(400);
    expect(noId.json().details[0]).toMatchObject({ name: 'data.id', description: 'Accounts must have an ID.' });
    expect((await alice.patch('/accounts/alice', { data: { id: 'bob' } })).statusCode).toBe(400);
  });

  it('lists the account in the permissions endpoint, with account:create on root', async () => {
    const response = await alice.get('/permissions');
    const entries = response.json().data as { uri: string; permissions: string[] }[];
    const account = entries.find((e) => e.uri === '/accounts/alice');
    expect(account).toEqual({
      account_id: 'alice',
      id: 'alice',
      permissions: ['read', 'write'],
      resource_name: 'account',
      uri: '/accounts/alice',
    });
    expect(entries.find((e) => e.uri === '/')?.permissions.sort()).toEqual(['account:create', 'bucket:create']);
  });
});

describe('accounts: administrators', () => {
  let app: FastifyInstance;
  let admin: Client;
  const setUp = async (ini?: string) => {
    app = await makeAccountsApp(ini);
    await client(app).put('/accounts/admin', { data: { password: '123456' } });
    await client(app).put('/accounts/bob', { data: { password: '987654' } });
    admin = client(app, basicAuth('admin', '123456'));
  };
  afterEach(() => app.close());

  it('create accounts for others, owned by those accounts', async () => {
    await setUp();
    const put = await admin.put('/accounts/alice', { data: { password: 'bouh' } });
    expect(put.statusCode).toBe(201);
    expect(put.json().permissions).toEqual({ write: ['account:alice'] });
    expect((await admin.post('/accounts', { data: { id: 'carol', password: 'c' } })).statusCode).toBe(201);
    const alice = await client(app, basicAuth('alice', 'bouh')).get('/accounts/alice');
    expect(alice.json().permissions).toEqual({ write: ['account:alice'] });
    expect((await client(app, basicAuth('carol', 'c')).delete('/accounts/carol')).statusCode).toBe(200);
    expect((await admin.post('/accounts', { data: { password: 'c' } })).json().message).toBe('data.id in body: Required');
  });

  it('read, modify and delete other accounts', async () => {
    await setUp();
    expect((await admin.get('/accounts/bob')).json().data.id).toBe('bob');
    await admin.patch('/accounts/bob', { data: { password: 'bouh' } });
    expect((await client(app, basicAuth('bob', '987654')).get('/')).json().user.id).toMatch(/^basicauth:/);
    expect((await client(app, basicAuth('bob', 'bouh')).get('/')).json().user.id).toBe('account:bob');
    expect((await admin.delete('/accounts/bob')).statusCode).toBe(200);
    expect((await client(app, basicAuth('bob', 'bouh')).get('/')).json().user.id).toMatch(/^basicauth:/);
  });

  it('list every account when also in account_read_principals', async () => {
    await setUp(iniWith({ 'kinto.account_read_principals': 'account:admin' }));
    await client(app).put('/accounts/alice', { data: { password: 'azerty' } });
    const list = await admin.get('/accounts');
    expect(list.json().data.map((a: { id: string }) => a.id).sort()).toEqual(['admin', 'alice', 'bob']);
  });

  it('list only what they own with account_write_principals alone (as Kinto)', async () => {
    await setUp();
    const list = await admin.get('/accounts');
    expect(list.json().data.map((a: { id: string }) => a.id)).toEqual(['admin']);
  });

  it('delete all accounts, which forgets their cached logins', async () => {
    await setUp();
    const bob = client(app, basicAuth('bob', '987654'));
    await bob.get('/');
    expect((await admin.delete('/accounts')).statusCode).toBe(200);
    expect(await app.kinto.cache.get(CACHE_KEY('bob'))).toBeNull();
    expect((await bob.get('/')).json().user.id).toMatch(/^basicauth:/);
  });
});

describe('accounts: start-up checks', () => {
  it('requires the accounts policy in multiauth', async () => {
    const ini = iniWith({ 'multiauth.policies': 'basicauth', 'multiauth.policy.account.use': 'x.Other' });
    await expect(makeAccountsApp(ini)).rejects.toThrow(/Account policy missing/);
  });

  it('refuses basicauth before the accounts policy', async () => {
    await expect(makeAccountsApp(iniWith({ 'multiauth.policies': 'basicauth account' }))).rejects.toThrow(
      /'basicauth' should not be mentioned before 'account'/,
    );
  });

  it('refuses account creators that are not account writers', async () => {
    const ini = iniWith({ 'kinto.account_create_principals': 'account:admin account:boss' });
    await expect(makeAccountsApp(ini)).rejects.toThrow(/Affected users: \['account:boss'\]/);
  });

  it('accepts the short policy class name', async () => {
    const app = await makeAccountsApp(iniWith({ 'multiauth.policy.account.use': 'kinto.plugins.accounts.AccountsPolicy' }));
    await client(app).put('/accounts/alice', { data: { password: 'a' } });
    expect((await client(app, basicAuth('alice', 'a')).get('/')).json().user.id).toBe('account:alice');
    await app.close();
  });
});
