// Two `kinto start` processes on one PostgreSQL database (two nodes behind a load balancer)
// behave as one service: timestamps, data, permissions and caches are shared.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../helpers/databases.ts';
import { basicAuth } from '../helpers/load.ts';
import { freePort, postgresIni, runKinto, spawnKinto, waitUntilServing, type KintoProcess } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 240_000 });

const ALICE = basicAuth('alice');
const ACCOUNTS = `multiauth.policies = account basicauth
multiauth.policy.account.use = kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy
kinto.includes = kinto.plugins.accounts
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
kinto.paginate_by = 2
`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
const nodes: { process: KintoProcess; base: string }[] = [];

async function send(node: number, method: string, path: string, body?: unknown, headers: Record<string, string> = ALICE) {
  const response = await fetch(`${nodes[node].base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  database = await createTestDatabase();
  const iniPath = join(mkdtempSync(join(tmpdir(), 'kinto-nodes-')), 'kinto.ini');
  // The accounts policy must come first: its settings replace the basic-auth-only ones.
  writeFileSync(iniPath, postgresIni(database.url).replace(/multiauth\.policies = basicauth\n/, ACCOUNTS));
  const migrated = await runKinto(['migrate', '--ini', iniPath]);
  expect(migrated.code, migrated.stderr).toBe(0);
  for (let index = 0; index < 2; index++) {
    const port = await freePort();
    const process = spawnKinto(['start', '--ini', iniPath, '--port', String(port)]);
    nodes.push({ process, base: `http://127.0.0.1:${port}/v1` });
  }
  await Promise.all(nodes.map((node) => waitUntilServing(`${node.base}/__lbheartbeat__`, node.process)));
  expect(nodes[0].process.pid).not.toBe(nodes[1].process.pid);
  await send(0, 'PUT', '/buckets/b');
  await send(1, 'PUT', '/buckets/b/collections/c');
});

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.process.stop()));
  await database?.drop();
});

describe('two server processes on one database', () => {
  it('hand out unique timestamps to concurrent writes, and each sees the other’s writes', async () => {
    const writes = Array.from({ length: 30 }, (_, i) => send(i % 2, 'POST', '/buckets/b/collections/c/records', { data: { i } }));
    const created = await Promise.all(writes);
    expect(created.map((r) => r.status)).toEqual(Array(30).fill(201));
    const stamps = created.map((r) => r.body.data.last_modified as number);
    expect(new Set(stamps).size).toBe(30);
    for (const node of [0, 1]) {
      const listed = await send(node, 'HEAD', '/buckets/b/collections/c/records');
      expect(listed.headers.get('total-records')).toBe('30');
      expect(listed.headers.get('etag')).toBe(`"${Math.max(...stamps)}"`);
    }
  });

  it('apply a write made on one node to the next read on the other (If-Match across nodes)', async () => {
    const put = await send(0, 'PUT', '/buckets/b/collections/c/records/shared', { data: { n: 1 } });
    const etag = put.headers.get('etag')!;
    const patched = await send(1, 'PATCH', '/buckets/b/collections/c/records/shared', { data: { n: 2 } }, { ...ALICE, 'if-match': etag });
    expect(patched.status).toBe(200);
    const stale = await send(0, 'PATCH', '/buckets/b/collections/c/records/shared', { data: { n: 3 } }, { ...ALICE, 'if-match': etag });
    expect(stale.status).toBe(412);
    expect((await send(0, 'GET', '/buckets/b/collections/c/records/shared')).body.data.n).toBe(2);
  });

  it('share permissions: access granted on one node is honoured by the other', async () => {
    const bob = basicAuth('bob');
    const bobId = (await send(1, 'GET', '/', undefined, bob)).body.user.id;
    expect((await send(1, 'GET', '/buckets/b/collections/c/records', undefined, bob)).status).toBe(403);
    await send(0, 'PUT', '/buckets/b/groups/readers', { data: { members: [bobId] } });
    await send(0, 'PATCH', '/buckets/b/collections/c', { permissions: { read: ['/buckets/b/groups/readers'] } });
    expect((await send(1, 'GET', '/buckets/b/collections/c/records', undefined, bob)).status).toBe(200);
  });

  it('share the cache: a password changed on one node no longer opens the other', async () => {
    const anonymous = {};
    expect((await send(0, 'PUT', '/accounts/carol', { data: { password: 'first' } }, anonymous)).status).toBe(201);
    const first = basicAuth('carol', 'first');
    // Both nodes remember the successful login (accounts cache)...
    for (const node of [0, 1]) expect((await send(node, 'GET', '/', undefined, first)).body.user.id).toBe('account:carol');
    expect((await send(0, 'PATCH', '/accounts/carol', { data: { password: 'second' } }, first)).status).toBe(200);
    // ...and both forget it once the password changed (basic auth then takes the request).
    for (const node of [0, 1]) {
      expect((await send(node, 'GET', '/', undefined, first)).body.user.id).not.toBe('account:carol');
      expect((await send(node, 'GET', '/', undefined, basicAuth('carol', 'second'))).body.user.id).toBe('account:carol');
    }
  });

  it('share pagination tokens: a page started on one node continues on the other', async () => {
    const first = await send(0, 'GET', '/buckets/b/collections/c/records?_sort=last_modified');
    expect(first.body.data).toHaveLength(2);
    const next = first.headers.get('next-page')!;
    const path = new URL(next).pathname.replace(/^\/v1/, '') + new URL(next).search;
    const second = await send(1, 'GET', path);
    expect(second.status).toBe(200);
    expect(second.body.data).toHaveLength(2);
    expect(second.body.data[0].last_modified).toBeGreaterThan(first.body.data[1].last_modified);
  });
});
