import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ALICE, BOB, basic, client, makeApp, type Client } from '../helpers/app.ts';
import { expectError, expectInvalid, ids, userIdOf } from '../helpers/protocol.ts';

const GROUPS = '/buckets/beers/groups';
const MODERATORS = `${GROUPS}/moderators`;

let app: FastifyInstance;
let alice: Client;
let bob: Client;

beforeEach(async () => {
  app = await makeApp();
  alice = client(app, ALICE);
  bob = client(app, BOB);
  await alice.put('/buckets/beers', {});
});
afterEach(() => app.close());

async function principalsOf(api: Client): Promise<string[]> {
  return (await api.get('/')).json().user.principals;
}

describe('groups', () => {
  it('are created with members and listed', async () => {
    const created = await alice.put(MODERATORS, { data: { members: ['fxa:user'] } });
    expect(created.statusCode).toBe(201);
    expect(created.json().data).toMatchObject({ id: 'moderators', members: ['fxa:user'] });
    const list = await alice.get(GROUPS);
    expect(list.json().data[0].members).toEqual(['fxa:user']);
  });

  it('can be posted without id', async () => {
    const response = await alice.post(GROUPS, { data: { members: ['fxa:user'] } });
    expect(response.statusCode).toBe(201);
    expect(response.json().data.id).toHaveLength(8);
  });

  it('members default to [] when data has none; PATCH keeps them', async () => {
    const created = await alice.put(MODERATORS, { data: { alias: 'admins' } });
    expect(created.json().data.members).toEqual([]);
    await alice.put(MODERATORS, { data: { members: ['fxa:user'] } });
    const patched = await alice.patch(MODERATORS, { data: { alias: 'mods' } });
    expect(patched.json().data).toMatchObject({ alias: 'mods', members: ['fxa:user'] });
  });

  it('can be created with only permissions, then patched with only permissions', async () => {
    const created = await alice.put(MODERATORS, { permissions: { write: ['github:me'] } });
    expect(created.statusCode).toBe(201);
    const patched = await alice.patch(MODERATORS, { permissions: { read: ['github:you'] } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().permissions.read).toEqual(['github:you']);
  });

  it('can be put with an empty body', async () => {
    const response = await app.inject({ method: 'PUT', url: `/v1${GROUPS}/simple`, headers: ALICE });
    expect(response.statusCode).toBe(201);
  });

  it('rejects system.Everyone and groups as members', async () => {
    const everyone = await alice.put(MODERATORS, { data: { members: ['fxa:a', 'system.Everyone'] } });
    const body = expectInvalid(everyone, 'body', 'data.members.1');
    expect(body.message).toBe("data.members.1 in body: 'system.Everyone' is not a valid user ID.");
    const nested = await alice.put(MODERATORS, { data: { members: ['/buckets/beers/groups/admins'] } });
    expect(expectInvalid(nested, 'body', 'data.members.0').message).toContain(
      "'/buckets/beers/groups/admins' is not a valid user ID.",
    );
  });

  it('rejects members that are not a list of strings', async () => {
    expectInvalid(await alice.put(MODERATORS, { data: { members: 'fxa:user' } }), 'body');
    expectInvalid(await alice.put(MODERATORS, { data: { members: [1] } }), 'body');
  });

  it('rejects create permissions and odd names', async () => {
    expectInvalid(await alice.put(MODERATORS, { permissions: { 'group:create': ['x'] } }), 'body');
    expectInvalid(await alice.put(`${GROUPS}/__mods__`, {}), 'path');
  });

  it('unknown bucket is a 403, unknown group a 404 with details', async () => {
    expectError(await alice.get('/buckets/sodas/groups'), 403, 121);
    const body = expectError(await alice.get(`${GROUPS}/blah`), 404, 110);
    expect(body.details).toEqual({ id: 'blah', resource_name: 'group' });
  });

  it('recreating after deletion answers 201, also with If-None-Match: *', async () => {
    await alice.put(MODERATORS, {});
    expect((await alice.delete(MODERATORS)).statusCode).toBe(200);
    expect((await alice.put(MODERATORS, {}, { 'if-none-match': '*' })).statusCode).toBe(201);
  });

  it('does not mix with a collection named "groups"', async () => {
    await alice.put(`${GROUPS}/test`, {});
    await alice.put('/buckets/beers/collections/groups', {});
    await alice.post('/buckets/beers/collections/groups/records', { data: {} });
    expect(ids(await alice.get(GROUPS))).toEqual(['test']);
  });
});

describe('group membership', () => {
  it('adds the group URI to members principals, and removes it on update or deletion', async () => {
    const bobId = await userIdOf(bob);
    await alice.put(MODERATORS, { data: { members: [bobId] } });
    expect(await principalsOf(bob)).toContain(MODERATORS);
    await alice.patch(MODERATORS, { data: { members: ['fxa:other'] } });
    expect(await principalsOf(bob)).not.toContain(MODERATORS);
    await alice.put(MODERATORS, { data: { members: [bobId] } });
    expect(await principalsOf(bob)).toContain(MODERATORS);
    await alice.delete(MODERATORS);
    expect(await principalsOf(bob)).not.toContain(MODERATORS);
  });

  it('plural DELETE removes every group from principals', async () => {
    const bobId = await userIdOf(bob);
    await alice.put(MODERATORS, { data: { members: [bobId] } });
    await alice.put(`${GROUPS}/reviewers`, { data: { members: [bobId] } });
    await alice.delete(GROUPS);
    const principals = await principalsOf(bob);
    expect(principals.filter((p) => p.startsWith('/buckets/'))).toEqual([]);
  });

  it('a group with system.Authenticated reaches every authenticated user', async () => {
    await alice.put(`${GROUPS}/reviewers`, { data: { members: ['system.Authenticated'] } });
    expect(await principalsOf(client(app, basic('zoe')))).toContain(`${GROUPS}/reviewers`);
  });

  it('grants what the group is granted', async () => {
    const bobId = await userIdOf(bob);
    await alice.put('/buckets/beers/collections/barley', { permissions: { read: [MODERATORS] } });
    expectError(await bob.get('/buckets/beers/collections/barley'), 403, 121);
    await alice.put(MODERATORS, { data: { members: [bobId] } });
    expect((await bob.get('/buckets/beers/collections/barley')).statusCode).toBe(200);
  });
});
