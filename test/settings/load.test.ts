import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it, expect } from 'vitest';

import { DEFAULT_SETTINGS } from '../../core/settings/defaults.ts';
import { loadConfig, nativeValue, Settings, SettingsError } from '../../core/settings/load.ts';
import type { LoadOptions } from '../../core/settings/load.ts';

const PYTHON_INI = `[app:main]
use = egg:kinto
kinto.userid_hmac_secret = a-long-random-secret
multiauth.policies = account basicauth
multiauth.policy.account.use = kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
kinto.includes = kinto.plugins.accounts
                 kinto.plugins.default_bucket
                 kinto.plugins.flush
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
kinto.bucket_create_principals = system.Authenticated
kinto.flush_endpoint_enabled = true
kinto.experimental_collection_schema_validation = true
kinto.experimental_permissions_endpoint = true
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = 8888
`;

const LOGGING = `
[loggers]
keys = root, kinto

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[logger_kinto]
level = DEBUG
handlers = console
qualname = kinto
propagate = 0

[handler_console]
class = kinto.core.StreamHandlerWithRequestID
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)-5.5s [%(name)s][%(threadName)s] %(message)s
datefmt = %Y-%m-%d %H:%M:%S
`;

function load(iniText: string, options: LoadOptions = {}) {
  return loadConfig({ env: {}, ...options, iniText });
}

function loadError(options: LoadOptions): SettingsError {
  try {
    loadConfig({ env: {}, ...options });
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

const scratch = mkdtempSync(join(tmpdir(), 'kinto-settings-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('loadConfig with an INI written for the Python server', () => {
  const { settings, server, warnings } = load(PYTHON_INI + LOGGING);

  it('stores kinto settings unprefixed and keeps other namespaces as-is', () => {
    expect(settings.get('userid_hmac_secret')).toBe('a-long-random-secret');
    expect(settings.get('kinto.userid_hmac_secret')).toBe('a-long-random-secret');
    expect(settings.has('use')).toBe(false);
    expect(settings.keys()).not.toContain('kinto.storage_backend');
    expect(settings.list('multiauth.policies')).toEqual(['account', 'basicauth']);
    expect(settings.withPrefix('multiauth.policy.')).toEqual({
      'account.use': 'kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy',
      'basicauth.use': 'kinto.core.authentication.BasicAuthAuthenticationPolicy',
    });
  });

  it('reads multi-line includes as a list and JSON-looking values as booleans', () => {
    expect(settings.list('includes')).toEqual([
      'kinto.plugins.accounts',
      'kinto.plugins.default_bucket',
      'kinto.plugins.flush',
    ]);
    expect(settings.get('flush_endpoint_enabled')).toBe(true);
    expect(settings.get('experimental_collection_schema_validation')).toBe(true);
    expect(settings.get('experimental_permissions_endpoint')).toBe(true);
    expect(settings.str('account_write_principals')).toBe('account:admin');
    expect(settings.str('storage_backend')).toBe('kinto.core.storage.memory');
  });

  it('fills absent settings with defaults and reads the server section', () => {
    expect(settings.get('batch_max_requests')).toBe(25);
    expect(settings.get('paginate_by')).toBeNull();
    expect(settings.get('http_api_version')).toBe('1.23');
    expect(settings.get('retry_after_seconds')).toBe(3);
    expect(server).toEqual({ host: '127.0.0.1', port: 8888 });
    expect(warnings).toEqual([]);
  });
});

describe('loadConfig values', () => {
  it('converts INI values like Kinto native_value', () => {
    const { settings } = load('[app:main]\nkinto.batch_max_requests = 10\nkinto.readonly = false\nkinto.paginate_by =\nx = null\nq = "quoted"\n');
    expect(settings.get('batch_max_requests')).toBe(10);
    expect(settings.get('readonly')).toBe(false);
    // Declared as an optional integer: an empty value is stored as null.
    expect(settings.get('paginate_by')).toBeNull();
    expect(settings.optionalInt('paginate_by')).toBeNull();
    expect(settings.get('x')).toBeNull();
    expect(settings.get('q')).toBe('quoted');
  });

  it('keeps JSON arrays, objects and imprecise integers as raw strings', () => {
    expect(nativeValue('[1, 2]')).toBe('[1, 2]');
    expect(nativeValue('{"a": 1}')).toBe('{"a": 1}');
    expect(nativeValue('12345678901234567890')).toBe('12345678901234567890');
    expect(nativeValue('1.5')).toBe(1.5);
    expect(nativeValue('not json')).toBe('not json');
  });

  it('ignores [DEFAULT] keys and PasteDeploy directives as app settings but interpolates them', () => {
    const { settings } = load('[DEFAULT]\nroot = /srv\n[app:main]\nuse = egg:kinto\nset debug = true\nget secret = root\nkinto.storage_url = %(root)s/db\n');
    expect(settings.has('root')).toBe(false);
    expect(settings.has('set debug')).toBe(false);
    expect(settings.get('secret')).toBe('/srv');
    expect(settings.get('storage_url')).toBe('/srv/db');
  });

  it('accepts both spellings of a setting with the same value and rejects different ones', () => {
    expect(load('[app:main]\nreadonly = true\nkinto.readonly = true\n').settings.get('readonly')).toBe(true);
    const error = loadError({ iniText: '[app:main]\nbatch_max_requests = 10\nkinto.batch_max_requests = 20\n' });
    expect(error.message).toBe("Settings 'batch_max_requests', 'kinto.batch_max_requests' are in conflict.");
  });

  it('follows a [pipeline:main] to its app and fails without any app section', () => {
    const { settings } = load('[pipeline:main]\npipeline = egg:foo#bar\n    kinto\n[app:kinto]\nkinto.readonly = true\n');
    expect(settings.get('readonly')).toBe(true);
    expect(loadError({ iniText: '[server:main]\nport = 1\n' }).message).toContain('No [app:main] section');
  });

  it('applies programmatic overrides last, unprefixed and converted', () => {
    const { settings } = loadConfig({
      iniText: '[app:main]\nkinto.readonly = false\n',
      env: { KINTO_READONLY: 'false' },
      overrides: { 'kinto.readonly': true, batch_max_requests: '7' },
    });
    expect(settings.get('readonly')).toBe(true);
    expect(settings.get('batch_max_requests')).toBe(7);
  });
});

describe('loadConfig environment overrides', () => {
  it('overrides defaults and INI values from KINTO_ variables, JSON-decoded', () => {
    const { settings } = load('[app:main]\nkinto.storage_url = postgresql://ini\n', {
      env: { KINTO_BATCH_MAX_REQUESTS: '10', KINTO_STORAGE_URL: 'postgresql://env', KINTO_READONLY: 'true', KINTO_HTTP_HOST: 'null' },
    });
    expect(settings.get('batch_max_requests')).toBe(10);
    expect(settings.get('storage_url')).toBe('postgresql://env');
    expect(settings.get('readonly')).toBe(true);
    expect(settings.get('http_host')).toBeNull();
  });

  it('reads the unprefixed variable, and the KINTO_ one wins over it', () => {
    const only = loadConfig({ env: { STORAGE_BACKEND: 'kinto.core.storage.postgresql' } });
    expect(only.settings.get('storage_backend')).toBe('kinto.core.storage.postgresql');
    const both = loadConfig({ env: { STORAGE_URL: 'unprefixed', KINTO_STORAGE_URL: 'prefixed' } });
    expect(both.settings.get('storage_url')).toBe('prefixed');
  });

  it('maps dots and dashes to underscores for other namespaces', () => {
    const { settings } = load('[app:main]\nmultiauth.policies = basicauth\nkinto.user-data_delete_principals = system.Everyone\n', {
      env: { MULTIAUTH_POLICIES: 'account', KINTO_USER_DATA_DELETE_PRINCIPALS: 'account:admin' },
    });
    expect(settings.get('multiauth.policies')).toBe('account');
    expect(settings.get('user-data_delete_principals')).toBe('account:admin');
  });

  it('does not create settings from variables that match no known setting', () => {
    const { settings } = loadConfig({ env: { KINTO_SOMETHING_UNKNOWN: '1', HOME: '/root' } });
    expect(settings.has('something_unknown')).toBe(false);
    expect(settings.has('home')).toBe(false);
  });

  it('takes the port from PORT and rejects invalid ports', () => {
    expect(load(PYTHON_INI, { env: { PORT: '9999' } }).server).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(loadConfig({ env: {} }).server).toEqual({ host: '0.0.0.0', port: 8888 });
    expect(loadError({ env: { PORT: 'eighty' } }).message).toContain('Invalid server port');
    expect(loadError({ env: { PORT: '70000' } }).message).toContain('Invalid server port');
  });

  it('resolves the %(http_port)s placeholder of `kinto init` files', () => {
    expect(load('[server:main]\nhost = localhost\nport = %(http_port)s\n[app:main]\n').server.port).toBe(8888);
  });
});

describe('loadConfig files', () => {
  const path = join(scratch, 'kinto.ini');
  const text = '[app:main]\nkinto.storage_url = sqlite://%(here)s/db\n';
  writeFileSync(path, text);

  it('reads the file, interpolates %(here)s and reports its hash and modification time', () => {
    const loaded = loadConfig({ iniPath: path, env: {} });
    expect(loaded.iniPath).toBe(path);
    expect(loaded.settings.get('storage_url')).toBe(`sqlite://${scratch}/db`);
    expect(loaded.iniHash).toBe(createHash('sha256').update(text).digest('hex'));
    expect(loaded.iniModified).toBe(statSync(path).mtime.toISOString());
  });

  it('falls back to KINTO_INI, and to pure defaults without any file', () => {
    expect(loadConfig({ env: { KINTO_INI: path } }).iniPath).toBe(path);
    const bare = loadConfig({ env: {} });
    expect(bare).toMatchObject({ iniPath: null, iniHash: null, iniModified: null });
    expect(bare.settings.toJSON()).toEqual(DEFAULT_SETTINGS);
  });

  it('fails clearly when the requested file does not exist', () => {
    const missing = join(scratch, 'nope.ini');
    expect(loadError({ iniPath: missing }).message).toBe(`Configuration file not found: ${missing}`);
    expect(loadError({ env: { KINTO_INI: missing } }).message).toBe(`Configuration file not found: ${missing}`);
  });

  it('reports INI syntax errors with the file name', () => {
    const broken = join(scratch, 'broken.ini');
    writeFileSync(broken, '[app:main]\nno delimiter here\n');
    expect(loadError({ iniPath: broken }).message).toContain(`${broken}, line 2`);
  });
});

describe('Settings accessors', () => {
  const settings = new Settings({
    'kinto.count': '12',
    number: 5,
    bad: 'twelve',
    float: 2.5,
    empty: '',
    none: null,
    yes: 'Yes',
    off: 'off',
    one: 1,
    flag: true,
    items: ' a  b\n c ',
    'plugin.x.use': 'module',
    'plugin.x.level': 3,
    'plugin.y': 'other',
  });

  it('converts integers and names the setting when it cannot', () => {
    expect(settings.int('count')).toBe(12);
    expect(settings.int('number')).toBe(5);
    expect(settings.int('missing', 4)).toBe(4);
    expect(settings.int('none', 4)).toBe(4);
    expect(settings.optionalInt('empty')).toBeNull();
    expect(settings.optionalInt('number')).toBe(5);
    expect(() => settings.int('bad')).toThrow(new SettingsError('Setting \'bad\' must be an integer, got "twelve"'));
    expect(() => settings.int('float')).toThrow(SettingsError);
    expect(() => settings.int('missing')).toThrow(/missing/);
  });

  it('reads booleans like Pyramid asbool', () => {
    expect(settings.bool('yes')).toBe(true);
    expect(settings.bool('off')).toBe(false);
    expect(settings.bool('one')).toBe(true);
    expect(settings.bool('flag')).toBe(true);
    expect(settings.bool('bad')).toBe(false);
    expect(settings.bool('missing')).toBe(false);
    expect(settings.bool('missing', true)).toBe(true);
  });

  it('reads strings, lists and prefixed groups', () => {
    expect(settings.str('number')).toBe('5');
    expect(settings.str('none', 'dflt')).toBe('dflt');
    expect(settings.list('items')).toEqual(['a', 'b', 'c']);
    expect(settings.list('empty')).toEqual([]);
    expect(settings.withPrefix('plugin.x.')).toEqual({ use: 'module', level: 3 });
    expect(settings.withPrefix('kinto.plugin.')).toEqual({ 'x.use': 'module', 'x.level': 3, y: 'other' });
  });

  it('is frozen and serialises to a plain object', () => {
    expect(Object.isFrozen(settings)).toBe(true);
    const json = settings.toJSON();
    json.count = 'changed';
    expect(settings.get('count')).toBe('12');
    expect(JSON.parse(JSON.stringify(settings)).count).toBe('12');
    expect(settings.keys()).toEqual([...settings.keys()].sort());
  });
});
