/** The plugin contract: declared settings handed typed, public settings, migrations, commands. */
import { afterAll, describe, expect, it } from 'vitest';
import { closeBackends, migrateBackends, openBackends } from '../../core/backends.ts';
import { definePlugin } from '../../core/plugin.ts';
import { pluginCommands, pluginMigrations, resolvePlugins, type PluginPlan } from '../../core/plugins.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import greeter, { GREETER_SETTINGS } from './fixtures/greeter-plugin.ts';
import { FIXTURES, MEMORY_INI, hello, start } from './helpers.ts';

const INCLUDE_GREETER = `${MEMORY_INI}kinto.includes = ${FIXTURES}greeter-plugin.ts\n`;

async function greeting(lines = '', env: Record<string, string> = {}): Promise<string> {
  const app = await start({ iniText: `${INCLUDE_GREETER}${lines}`, env });
  return (await app.inject('/v1/__greeting__')).json().text;
}

describe('declared plugin settings', () => {
  it('reach register typed, with their defaults', async () => {
    expect(await greeting()).toBe('hello world');
    const lines = 'kinto.greeter.greeting = hi\ngreeter.repeat = 2\nkinto.greeter.loud = yes\nkinto.greeter.audience = ann\n  bob\n';
    expect(await greeting(lines)).toBe('HI HI ANN AND BOB');
  });

  it('can be set from the environment like core settings, KINTO_ winning', async () => {
    expect(await greeting('', { GREETER_REPEAT: '2', KINTO_GREETER_GREETING: 'hey' })).toBe('hey hey world');
    expect(await greeting('kinto.greeter.greeting = hi\n', { GREETER_GREETING: 'yo', KINTO_GREETER_GREETING: 'hey' })).toBe(
      'hey world',
    );
  });

  it('are readable typed anywhere in the plugin, and stored normalized', async () => {
    const app = await start({ iniText: `${INCLUDE_GREETER}kinto.greeter.repeat = 3\nkinto.greeter.style = fancy\n` });
    const values = GREETER_SETTINGS.read(app.kinto.settings);
    const repeat: number = values.repeat;
    const audience: string[] = values.audience;
    const style: 'plain' | 'fancy' = values.style;
    expect({ repeat, audience, style, loud: values.loud }).toEqual({ repeat: 3, audience: ['world'], style: 'fancy', loud: false });
    expect(app.kinto.settings.get('greeter.loud')).toBe(false);
    expect(app.kinto.settings.get('greeter.repeat')).toBe(3);
  });

  it('marked public are shown in the hello view, with the capabilities', async () => {
    const app = await start({ iniText: `${INCLUDE_GREETER}kinto.greeter.greeting = salut\nkinto.greeter.style = fancy\n` });
    const body = await hello(app);
    expect(body.settings).toEqual({
      batch_max_requests: 25,
      readonly: false,
      explicit_permissions: true,
      'greeter.greeting': 'salut',
    });
    expect(body.capabilities.greeter).toEqual({ description: 'Greets.', url: 'https://example.com/greeter', style: 'fancy' });
  });
});

describe('plugins without the new fields', () => {
  it('keep working, and an entry named twice loads once', async () => {
    const app = await start({
      iniText: `${MEMORY_INI}kinto.includes = flush kinto.plugins.flush kinto.plugins.default_bucket\nkinto.flush_endpoint_enabled = true\n`,
    });
    expect(Object.keys((await hello(app)).capabilities).sort()).toEqual(['default_bucket', 'flush_endpoint']);
    expect((await app.inject({ method: 'POST', url: '/v1/__flush__' })).statusCode).toBe(202);
  });
});

async function planFor(lines: string): Promise<PluginPlan> {
  return resolvePlugins(loadConfig({ iniText: `${INCLUDE_GREETER}${lines}`, env: {} }));
}

describe('plugin migrations', () => {
  const database = createTestDatabase();
  afterAll(async () => (await database).drop());

  it('are applied by `migrate` on the storage database, and required by the server', async () => {
    const { url } = await database;
    const plan = await resolvePlugins(
      loadConfig({ iniText: INCLUDE_GREETER, env: { KINTO_STORAGE_BACKEND: 'kinto.core.storage.postgresql', KINTO_STORAGE_URL: url } }),
    );
    expect(pluginMigrations(plan).map((component) => component.component)).toEqual(['greeter']);
    const steps = await migrateBackends(plan.settings, false, pluginMigrations(plan));
    expect(steps.map(({ component, from, to }) => ({ component, from, to }))).toEqual([
      { component: 'storage', from: 0, to: expect.any(Number) },
      { component: 'greeter', from: 0, to: 1 },
    ]);
    await closeBackends(await openBackends(plan.settings, pluginMigrations(plan)));
    const newer = [{ component: 'greeter', migrations: [...greeter.migrations![0].migrations, { version: 2, name: 'more', sql: 'SELECT 1' }] }];
    await expect(openBackends(plan.settings, newer)).rejects.toThrow(
      "The greeter database schema is out of date (version 1, expected 2): run 'kinto migrate --ini <file>' first",
    );
  });
});

describe('plugin commands', () => {
  it('are collected from the included plugins', async () => {
    const plan = await planFor('');
    const command = pluginCommands(plan).get('greet');
    expect(command?.description).toBe('Prints a greeting.');
    const context = { config: loadConfig({ env: {} }), openBackends: () => Promise.reject(new Error('unused')) };
    expect(await command!.run(['you'], context)).toBe(0);
  });

  it('may not be claimed by two plugins', async () => {
    const plan = await planFor('');
    // The same command object shared by two plugins (one bundling the other) is one command.
    const shared = definePlugin({ name: 'bundle', cli: greeter.cli, register() {} });
    const bundled: PluginPlan = { ...plan, plugins: [...plan.plugins, { entry: 'bundle', plugin: shared }] };
    expect([...pluginCommands(bundled).keys()]).toEqual(['greet']);
    const other = { name: 'greet', description: 'Another greeting.', run: () => 0 };
    const copycat = definePlugin({ name: 'copycat', cli: [other], register() {} });
    const both: PluginPlan = { ...plan, plugins: [...plan.plugins, { entry: 'copycat', plugin: copycat }] };
    expect(() => pluginCommands(both)).toThrow("Plugin 'copycat' adds the command 'greet', already added by another plugin");
  });
});
