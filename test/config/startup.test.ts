/** Real configuration files start the server unchanged; what they load and advertise. */
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { MemoryCache } from '../../core/cache/memory.ts';
import { MemoryPermission } from '../../core/permission/memory.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { MemoryStorage } from '../../core/storage/memory.ts';
import { BASE_INI } from '../helpers/app.ts';
import { FIXTURES, hello, start, startError } from './helpers.ts';

const REPOSITORY_INI = new URL('../../config/kinto.ini', import.meta.url).pathname;
function memoryBackends() {
  return { storage: new MemoryStorage(), permission: new MemoryPermission(), cache: new MemoryCache() };
}

// Left out: kinto_remote_settings needs a signer (Autograph), kinto_emailer would write the
// fixture's debug mails to ./mail.
const NOT_SHIPPED_RS = 'kinto_emailer kinto_remote_settings';

describe('the INI of the test helpers', () => {
  it('loads without warnings and advertises basic auth, schemas and the permissions endpoint', async () => {
    expect(loadConfig({ iniText: BASE_INI, env: {} }).warnings).toEqual([]);
    const app = await start({ iniText: BASE_INI });
    const body = await hello(app);
    expect(Object.keys(body.capabilities).sort()).toEqual(['basicauth', 'permissions_endpoint', 'schema']);
    expect(body.settings).toEqual({ batch_max_requests: 25, readonly: false, explicit_permissions: true });
    expect(app.kinto.config.warnings).toEqual([]);
  });
});

describe('config/kinto.ini', () => {
  it('loads without warnings, with its plugins and the embedded engine', async () => {
    const config = loadConfig({ iniPath: REPOSITORY_INI, env: {} });
    expect(config.warnings).toEqual([]);
    expect(config.settings.get('storage_backend')).toBe('pglite');
    expect(config.settings.list('includes')).toEqual([
      'kinto.plugins.accounts',
      'kinto.plugins.default_bucket',
    ]);
    expect(config.server).toEqual({ host: '127.0.0.1', port: 8888 });
    expect(config.logging).toEqual({ level: null, loggers: {}, handlers: {} });
  });

  it('starts unchanged (on memory engines, the embedded one boots slowly) and advertises its plugins', async () => {
    const app = await buildApp(loadConfig({ iniPath: REPOSITORY_INI, env: {} }), { backends: memoryBackends() });
    await app.ready();
    const body = await hello(app);
    expect(Object.keys(body.capabilities).sort()).toEqual([
      'accounts', 'basicauth', 'default_bucket', 'permissions_endpoint', 'schema',
    ]);
    expect(body.config.path).toBe(REPOSITORY_INI);
    expect(app.kinto.config.warnings).toEqual([]);
    await app.close();
  });
});

describe('a file written by `kinto init` for the Python server', () => {
  const iniPath = `${FIXTURES}kinto-init.ini`;

  it('starts as written, with the admin plugin (its help page, no build configured)', async () => {
    const app = await start({ iniPath });
    const body = await hello(app);
    expect(Object.keys(body.capabilities).sort()).toEqual(['accounts', 'admin', 'default_bucket']);
    expect(app.kinto.config.warnings).toEqual([
      'The account plugin works really poorly with the memory backend because accounts are flushed at each startup.',
    ]);
    expect(app.kinto.config.server).toEqual({ host: '127.0.0.1', port: 8888 });
  });

  it('maps its logging levels to pino levels', () => {
    const { logging } = loadConfig({ iniPath, env: {} });
    expect(logging).toEqual({ level: 'info', loggers: { kinto: 'debug' }, handlers: { console: 'trace' } });
  });
});

describe('a Remote Settings configuration', () => {
  const iniPath = `${FIXTURES}remote-settings.ini`;

  it('starts with the shipped plugins and one warning per plugin whose settings are ignored', async () => {
    const app = await start({ iniPath, env: { KINTO_IGNORED_INCLUDES: NOT_SHIPPED_RS } });
    const body = await hello(app);
    expect(body.project_name).toBe('Remote Settings DEV');
    expect(body.capabilities).toHaveProperty('history');
    expect(body.capabilities).toHaveProperty('accounts');
    // Its local.ini includes the flush plugin, which is all Kinto 26 needs to serve __flush__.
    expect(body.capabilities).toHaveProperty('flush_endpoint');
    const warnings = app.kinto.config.warnings;
    for (const skipped of NOT_SHIPPED_RS.split(' ')) {
      expect(warnings).toContain(`Plugin '${skipped}' of kinto.includes is skipped: it is listed in kinto.ignored_includes.`);
    }
    expect(body.capabilities).toHaveProperty('attachments');
    expect(body.capabilities).toHaveProperty('admin');
    expect(warnings).toContain(
      "Settings 'mail.default_sender', 'mail.debug_mailer' are ignored: plugin 'emailer' (kinto_emailer) is not included (kinto.includes).",
    );
    expect(warnings).toContain(
      "Setting 'kinto.statsd_url' is ignored: plugin 'statsd' (kinto.plugins.statsd) is not included (kinto.includes).",
    );
    expect(warnings.filter((w) => w.includes('signer'))).toHaveLength(1);
    expect(warnings.some((w) => w.includes('history.exclude_resources'))).toBe(false);
  });

  it('keeps history settings for the history plugin and reads the logging levels', () => {
    const config = loadConfig({ iniPath, env: {} });
    expect(config.settings.list('history.exclude_resources')).toEqual(['/buckets/main-preview', '/buckets/main']);
    expect(config.logging).toEqual({ level: 'warn', loggers: { kinto: 'info' }, handlers: { console: 'trace' } });
    expect(config.warnings).toEqual([]);
  });
});

describe('injected backends', () => {
  it('leave the configuration checks in place', async () => {
    const config = loadConfig({ iniText: `${BASE_INI}kinto.includes = kinto_megaphone\n`, env: {} });
    await expect(buildApp(config, { backends: memoryBackends() })).rejects.toThrow("plugin 'kinto_megaphone' is not available yet");
  });
});
