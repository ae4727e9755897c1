// The `kinto` command run as operators run it: a child process per command, on one
// PostgreSQL database; what it did is checked through the server itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp, PACKAGE_VERSION } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { client } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { basicAuth } from '../helpers/load.ts';
import { CLI, NODE, postgresIni, ROOT, runKinto } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const ACCOUNTS = `multiauth.policies = account basicauth
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
kinto.includes = kinto.plugins.accounts
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let iniPath: string;

/** Runs a command in a pseudo-terminal (util-linux `script`), typing `input`. */
function inTerminal(args: string[], input: string): string {
  const command = [NODE, CLI, ...args].map((part) => `'${part}'`).join(' ');
  return execFileSync('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: ROOT, input, encoding: 'utf8', timeout: 120_000 });
}

/** The server as configured by `ini`, in this process, to look at what a command did. */
async function withServer<T>(ini: string, work: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const app = await buildApp(loadConfig({ iniPath: ini, env: {} }));
  await app.ready();
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

async function userId(ini: string, user: string, password: string): Promise<string | undefined> {
  return withServer(ini, async (app) => (await client(app, basicAuth(user, password)).get('/')).json().user?.id);
}

beforeAll(async () => {
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'kinto-cli-'));
  iniPath = join(dir, 'kinto.ini');
  writeFileSync(iniPath, postgresIni(database.url).replace(/multiauth\.policies = basicauth\n/, ACCOUNTS));
  const migrated = await runKinto(['migrate', '--ini', iniPath]);
  expect(migrated.code, migrated.stderr).toBe(0);
});

afterAll(async () => {
  await database?.drop();
});

describe('kinto version', () => {
  it('prints the version', async () => {
    expect((await runKinto(['version'])).stdout.trim()).toBe(PACKAGE_VERSION);
    expect((await runKinto(['--version'])).stdout.trim()).toBe(PACKAGE_VERSION);
  });
});

describe('kinto init', () => {
  it('writes a commented PostgreSQL configuration from flags, that migrate accepts, and never overwrites it', async () => {
    const path = join(dir, 'pg', 'kinto.ini');
    const created = await runKinto(['init', '--ini', path, '--backend', 'postgresql', '--database-url', database.url]);
    expect(created.code, created.stderr).toBe(0);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(`kinto.storage_url = ${database.url}`);
    expect(text.split('\n').filter((line) => line.startsWith('#')).length).toBeGreaterThan(20);
    const settings = loadConfig({ iniPath: path, env: {} }).settings;
    expect(settings.str('storage_backend')).toBe('kinto.core.storage.postgresql');
    expect(settings.str('cache_backend')).toBe('kinto.core.cache.postgresql');
    expect(settings.str('userid_hmac_secret')).toMatch(/^[0-9a-f]{64}$/);
    const dryRun = await runKinto(['migrate', '--dry-run', '--ini', path]);
    expect(dryRun.stdout).toContain('storage: version 2 -> 2 (up to date)');

    const again = await runKinto(['init', '--ini', path, '--backend', 'memory']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`${path} already exists.`);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('uses the embedded engine, stored next to the file, when nothing is asked (no terminal)', async () => {
    const path = join(dir, 'embedded', 'kinto.ini');
    expect((await runKinto(['init', '--ini', path])).code).toBe(0);
    const settings = loadConfig({ iniPath: path, env: {} }).settings;
    expect(settings.str('storage_backend')).toBe('pglite');
    expect(settings.str('storage_url')).toBe(join(dir, 'embedded', 'data'));
  });

  it('asks for the backends and the database on a terminal', () => {
    const path = join(dir, 'asked.ini');
    const screen = inTerminal(['init', '--ini', path], '1\n2\npostgresql://kinto@db.example/kinto\n');
    expect(screen).toContain('Select the backend you would like to use');
    const settings = loadConfig({ iniPath: path, env: {} }).settings;
    expect(settings.str('storage_url')).toBe('postgresql://kinto@db.example/kinto');
    expect(settings.str('cache_backend')).toBe('kinto.core.cache.memory');
  });
});

describe('kinto create-user', () => {
  it('creates an account that can log in, and resets its password', async () => {
    const created = await runKinto(['create-user', '--ini', iniPath, '-u', 'admin', '-p', 'first']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("Creating user 'admin'");
    expect(await userId(iniPath, 'admin', 'first')).toBe('account:admin');
    expect((await runKinto(['create-user', '--ini', iniPath, '-u', 'admin', '-p', 'second'])).code).toBe(0);
    expect(await userId(iniPath, 'admin', 'first')).not.toBe('account:admin');
    expect(await userId(iniPath, 'admin', 'second')).toBe('account:admin');
    // The account may change itself (write permission on its own object).
    const own = await withServer(iniPath, async (app) => (await client(app, basicAuth('admin', 'second')).get('/accounts/admin')).json());
    expect(own.permissions.write).toContain('account:admin');
  });

  it('reads the answers from stdin without a terminal, and hides the password on one', async () => {
    expect((await runKinto(['create-user', '--ini', iniPath], { input: 'piped\nfrom-stdin\n' })).code).toBe(0);
    expect(await userId(iniPath, 'piped', 'from-stdin')).toBe('account:piped');
    const screen = inTerminal(['create-user', '--ini', iniPath, '-u', 'typed'], 'typed-secret\ntyped-secret\n');
    const afterPrompt = screen.slice(screen.indexOf('Please enter a password'));
    expect(afterPrompt).not.toContain('typed-secret');
    expect(await userId(iniPath, 'typed', 'typed-secret')).toBe('account:typed');
  });

  it("fails with Kinto's exit codes: 52 without the accounts plugin, 51 read-only, 53 aborted", async () => {
    const plain = join(dir, 'plain.ini');
    writeFileSync(plain, postgresIni(database.url));
    const missing = await runKinto(['create-user', '--ini', plain, '-u', 'x', '-p', 'y']);
    expect([missing.code, missing.stderr.trim()]).toEqual([52, 'Cannot create a user when the accounts plugin is not installed.']);
    const readonly = join(dir, 'readonly.ini');
    writeFileSync(readonly, readFileSync(iniPath, 'utf8').replace('[app:main]', '[app:main]\nkinto.readonly = true'));
    expect((await runKinto(['create-user', '--ini', readonly, '-u', 'x', '-p', 'y'])).code).toBe(51);
    expect((await runKinto(['create-user', '--ini', iniPath], { input: '' })).code).toBe(53);
  });
});

describe('maintenance commands', () => {
  it('purge-deleted removes tombstones, keeping max-retained per collection', async () => {
    const tombstones = await withServer(iniPath, async (app) => {
      const alice = client(app, basicAuth('alice'));
      await alice.put('/buckets/purge', {});
      await alice.put('/buckets/purge/collections/c', {});
      for (let i = 0; i < 5; i++) await alice.put(`/buckets/purge/collections/c/records/r${i}`, { data: {} });
      await alice.delete('/buckets/purge/collections/c/records');
      return (await alice.get('/buckets/purge/collections/c/records?_since=0')).json().data as { id: string }[];
    });
    expect(tombstones).toHaveLength(5);
    // The list comes newest first: the two newest tombstones are kept.
    const newest = tombstones.slice(0, 2).map((t) => t.id).sort();
    const kept = await runKinto(['purge-deleted', '--ini', iniPath, 'record', '2']);
    expect(kept.stdout).toContain('Purged 3 tombstones (keeping 2 per parent and resource).');
    expect(kept.stderr).not.toContain('Purging');
    const left = await withServer(iniPath, async (app) =>
      (await client(app, basicAuth('alice')).get('/buckets/purge/collections/c/records?_since=0')).json().data,
    );
    expect(left.map((t: { id: string }) => t.id).sort()).toEqual(newest);
    expect((await runKinto(['purge-deleted', '--ini', iniPath])).stdout).toContain('Purged 2 tombstones.');
  });

  it('purge-deleted shows its progress on a terminal', () => {
    expect(inTerminal(['purge-deleted', '--ini', iniPath, 'record', 'group'], '')).toContain('Purging tombstones: 2/2');
  });

  it('flush-cache empties the cache backend', async () => {
    await withServer(iniPath, (app) => app.kinto.cache.set('operator-key', 'value', 600));
    const flushed = await runKinto(['flush-cache', '--ini', iniPath]);
    expect(flushed.stdout.trim()).toBe('Cache has been cleared.');
    expect(await withServer(iniPath, (app) => app.kinto.cache.get('operator-key'))).toBeNull();
  });

  it('delete-collection removes a collection, its records and their permissions for good', async () => {
    const bob = basicAuth('bob');
    await withServer(iniPath, async (app) => {
      const alice = client(app, basicAuth('alice'));
      const bobId = (await client(app, bob).get('/')).json().user.id;
      await alice.put('/buckets/old', {});
      await alice.put('/buckets/old/collections/gone', { permissions: { read: [bobId] } });
      await alice.put('/buckets/old/collections/gone/records/r1', { data: {}, permissions: { write: [bobId] } });
      await alice.put('/buckets/old/collections/kept', {});
    });
    expect((await runKinto(['delete-collection', '--ini', iniPath, '-b', 'nope', '-c', 'gone'])).code).toBe(32);
    expect((await runKinto(['delete-collection', '--ini', iniPath, '-b', 'old', '-c', 'nope'])).code).toBe(33);
    const deleted = await runKinto(['delete-collection', '--ini', iniPath, '--bucket', 'old', '--collection', 'gone']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('1 record(s) were deleted.');
    await withServer(iniPath, async (app) => {
      const alice = client(app, basicAuth('alice'));
      const collections = (await alice.get('/buckets/old/collections?_since=0')).json().data;
      expect(collections.map((c: { id: string }) => c.id)).toEqual(['kept']);
      const acl = await app.kinto.permission.getObjectsPermissions([
        '/buckets/old/collections/gone',
        '/buckets/old/collections/gone/records/r1',
      ]);
      expect(acl).toEqual([{}, {}]);
      expect(await app.kinto.storage.list('record', '/buckets/old/collections/gone', { includeDeleted: true })).toEqual([]);
    });
  });
});

describe('plugin commands', () => {
  it('run the sub-commands of the plugins the INI file includes, and list them in the help', async () => {
    const ini = join(dir, 'greeter.ini');
    const plugin = join(ROOT, 'test/config/fixtures/greeter-plugin.ts');
    writeFileSync(ini, `[app:main]\nkinto.includes = ${plugin}\nkinto.storage_backend = memory\nkinto.permission_backend = memory\nkinto.cache_backend = memory\n`);
    expect((await runKinto(['greet', '--ini', ini])).code).toBe(3);
    expect((await runKinto(['greet', '--ini', ini, 'world'])).code).toBe(0);
    expect((await runKinto(['--help', '--ini', ini])).stdout).toMatch(/greet \[args\.\.\.\] +Prints a greeting\./);
    const unknown = await runKinto(['greet']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'greet'");
  });
});
