/** Every way a configuration stops the server, and the message the operator reads. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS } from '../../plugins/catalog.ts';
import { PLANNED_PLUGINS } from '../../plugins/known.ts';
import { FIXTURES, MEMORY_INI, start, startError } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kinto-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const withLines = (lines: string) => ({ iniText: `${MEMORY_INI}${lines}\n` });

describe('invalid values', () => {
  it('names the setting, what is expected and where the value comes from', async () => {
    expect(await startError(withLines('kinto.batch_max_requests = ten'))).toBe(
      `Setting 'batch_max_requests' must be an integer >= 0, got "ten" (from 'kinto.batch_max_requests' in the INI text)`,
    );
    expect(await startError(withLines('readonly = maybe'))).toBe(
      `Setting 'readonly' must be a boolean (true/false, yes/no, on/off, 1/0), got "maybe" (from 'readonly' in the INI text)`,
    );
    expect(await startError(withLines('kinto.backoff_percentage = 150'))).toBe(
      `Setting 'backoff_percentage' must be an integer between 0 and 100 or nothing, got 150 (from 'kinto.backoff_percentage' in the INI text)`,
    );
    expect(await startError(withLines('kinto.project_docs = docs'))).toBe(
      `Setting 'project_docs' must be a URL like https://kinto.readthedocs.io/, got "docs" (from 'kinto.project_docs' in the INI text)`,
    );
  });

  it('names the file, or the environment variable, the value came from', async () => {
    const iniPath = join(scratch, 'bad.ini');
    writeFileSync(iniPath, `${MEMORY_INI}kinto.heartbeat_timeout_seconds = soon\n`);
    expect(await startError({ iniPath })).toBe(
      `Setting 'heartbeat_timeout_seconds' must be a number >= 0, got "soon" (from 'kinto.heartbeat_timeout_seconds' in ${iniPath})`,
    );
    expect(await startError({ iniText: MEMORY_INI, env: { KINTO_BATCH_MAX_REQUESTS: 'lots' } })).toBe(
      `Setting 'batch_max_requests' must be an integer >= 0, got "lots" (from environment variable KINTO_BATCH_MAX_REQUESTS)`,
    );
  });

  it('lists every invalid setting at once', async () => {
    expect(await startError(withLines('kinto.readonly = perhaps\nkinto.paginate_by = some'))).toBe(
      '2 invalid settings:\n' +
        `  Setting 'readonly' must be a boolean (true/false, yes/no, on/off, 1/0), got "perhaps" (from 'kinto.readonly' in the INI text)\n` +
        `  Setting 'paginate_by' must be an integer >= 0 or nothing, got "some" (from 'kinto.paginate_by' in the INI text)`,
    );
  });

  it('checks settings whose name embeds a resource', async () => {
    expect(await startError(withLines('kinto.plural_bucket_post_enabled = perhaps'))).toContain(
      `Setting 'plural_bucket_post_enabled' must be a boolean`,
    );
    expect(await startError(withLines('kinto.blog.articles.record_cache_expires_seconds = 1h'))).toContain(
      `Setting 'blog.articles.record_cache_expires_seconds' must be an integer, got "1h"`,
    );
  });

  it('refuses an unknown backend, listing the accepted ones', async () => {
    const message = await startError({ iniText: '[app:main]\nkinto.cache_backend = kinto.core.cache.redis\n' });
    expect(message).toBe(
      "Setting 'cache_backend' must be one of kinto.core.cache.memory, kinto.core.cache.postgresql, " +
        'kinto.core.cache.pglite, kinto.core.cache.embedded, memory, postgresql, pglite, embedded; ' +
        `got "kinto.core.cache.redis" (from 'kinto.cache_backend' in the INI text)`,
    );
  });

  it('refuses both spellings of a setting with different values', async () => {
    expect(await startError(withLines('batch_max_requests = 10\nkinto.batch_max_requests = 20'))).toBe(
      "Settings 'batch_max_requests', 'kinto.batch_max_requests' are in conflict.",
    );
  });

  it('refuses logging levels Python would refuse', async () => {
    expect(await startError(withLines('[loggers]\nkeys = root\n[logger_root]\nlevel = LOUD'))).toBe(
      "[logger_root] level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG, NOTSET, got 'LOUD'",
    );
  });
});

describe('plugins that cannot be loaded', () => {
  const hint = 'remove it from kinto.includes, or list it in kinto.ignored_includes to start without it';

  it('names a plugin this server does not ship yet', async () => {
    expect(await startError(withLines('kinto.includes = kinto_megaphone'))).toBe(
      `kinto.includes: plugin 'kinto_megaphone' is not available yet in this server; ${hint}`,
    );
  });

  it('names an unknown plugin, package or file', async () => {
    expect(await startError(withLines('kinto.includes = kinto_pyramid_thing'))).toBe(
      `kinto.includes: unknown plugin 'kinto_pyramid_thing' (neither shipped with this server nor an installed npm package); ${hint}`,
    );
    const missing = join(scratch, 'missing-plugin.ts');
    expect(await startError(withLines(`kinto.includes = ${missing}`))).toBe(
      `kinto.includes: unknown plugin '${missing}' (no such file); ${hint}`,
    );
    expect(await startError(withLines(`kinto.includes = ${FIXTURES}not-a-plugin.ts`))).toBe(
      `kinto.includes: '${FIXTURES}not-a-plugin.ts' does not export a Kinto plugin (definePlugin) as default`,
    );
  });

  it('knows every Python plugin name of Kinto and its ecosystem', () => {
    const known = [...BUILTIN_PLUGINS, ...PLANNED_PLUGINS].flatMap((plugin) => [plugin.name, ...plugin.aliases]);
    const pythonNames = [
      'kinto.plugins.history', 'kinto_remote_settings', 'kinto_signer', 'kinto_attachment', 'kinto_elasticsearch',
      'kinto_ldap', 'kinto_fxa', 'kinto_changes', 'kinto.plugins.quotas', 'kinto.plugins.openid',
      'kinto.plugins.accounts', 'kinto.plugins.default_bucket', 'kinto.plugins.flush', 'kinto.plugins.admin',
      'kinto.plugins.prometheus', 'kinto.plugins.statsd', 'kinto_emailer',
    ];
    expect(pythonNames.filter((name) => !known.includes(name))).toEqual([]);
  });

  it('requires dependencies to be included before the plugin', async () => {
    const greeter = `${FIXTURES}greeter-plugin.ts`;
    const extras = `${FIXTURES}needs-greeter-plugin.ts`;
    const expected = "Plugin 'greeter_extras' requires plugin 'greeter': add it to kinto.includes before 'greeter_extras'";
    expect(await startError(withLines(`kinto.includes = ${extras}`))).toBe(expected);
    expect(await startError(withLines(`kinto.includes = ${extras} ${greeter}`))).toBe(expected);
    const app = await start(withLines(`kinto.includes = ${greeter} ${extras}`));
    expect(app.kinto.capabilities.has('greeter')).toBe(true);
  });

  it('refuses two plugins claiming one capability, and a plugin redeclaring a core setting', async () => {
    const greeter = `${FIXTURES}greeter-plugin.ts`;
    expect(await startError(withLines(`kinto.includes = ${greeter} ${FIXTURES}clashing-plugin.ts`))).toBe(
      "Plugin 'impostor': The capability 'greeter' is already registered",
    );
    expect(await startError(withLines(`kinto.includes = ${FIXTURES}core-setting-plugin.ts`))).toBe(
      "Plugin 'rogue' declares the setting 'readonly', already declared by the core",
    );
  });

  it("checks a plugin's own settings", async () => {
    const includes = `kinto.includes = ${FIXTURES}greeter-plugin.ts`;
    expect(await startError(withLines(`${includes}\nkinto.greeter.repeat = 0`))).toBe(
      `Setting 'greeter.repeat' must be an integer >= 1, got 0 (from 'kinto.greeter.repeat' in the INI text)`,
    );
    await expect(start(withLines(includes))).resolves.toBeDefined();
    expect(await startError({ ...withLines(includes), env: { GREETER_STYLE: 'baroque' } })).toBe(
      `Setting 'greeter.style' must be one of plain, fancy; got "baroque" (from environment variable GREETER_STYLE)`,
    );
  });
});

describe('the kinto command', () => {
  it('prints the configuration error on one line and exits with 1', () => {
    const iniPath = join(scratch, 'cli.ini');
    writeFileSync(iniPath, `${MEMORY_INI}kinto.readonly = maybe\n`);
    const node = new URL('../../node_modules/.bin/node', import.meta.url).pathname;
    const cli = new URL('../../core/cli.ts', import.meta.url).pathname;
    const result = spawnSync(node, [cli, 'start', '--ini', iniPath], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `Configuration error: Setting 'readonly' must be a boolean (true/false, yes/no, on/off, 1/0), got "maybe" (from 'kinto.readonly' in ${iniPath})`,
    );
  });
});
