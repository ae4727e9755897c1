/** Environment overrides (`KINTO_*`, then unprefixed names) over the INI and the declared defaults. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/settings/load.ts';
import { MEMORY_INI, hello, start } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kinto-env-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('environment overrides', () => {
  it('reach the running server: hello settings, includes and plugin settings', async () => {
    const app = await start({
      iniText: `${MEMORY_INI}kinto.batch_max_requests = 10\n`,
      env: {
        KINTO_BATCH_MAX_REQUESTS: '50',
        KINTO_READONLY: 'true',
        KINTO_INCLUDES: 'kinto.plugins.flush',
        KINTO_FLUSH_ENDPOINT_ENABLED: 'true',
      },
    });
    const body = await hello(app);
    expect(body.settings).toEqual({ batch_max_requests: 50, readonly: true, explicit_permissions: true });
    expect(body.capabilities).toHaveProperty('flush_endpoint');
  });

  it('convert values by the declared type, keeping text settings as written', () => {
    const { settings } = loadConfig({
      iniText: MEMORY_INI,
      env: {
        KINTO_PROJECT_VERSION: '1.0',
        KINTO_PROJECT_NAME: '"quoted"',
        KINTO_HTTP_HOST: 'null',
        KINTO_PAGINATE_BY: '',
        KINTO_HEARTBEAT_TIMEOUT_SECONDS: '2.5',
        KINTO_CORS_ORIGINS: 'https://a.example\nhttps://b.example',
        KINTO_EXPLICIT_PERMISSIONS: 'off',
      },
    });
    expect(settings.get('project_version')).toBe('1.0');
    expect(settings.get('project_name')).toBe('quoted');
    expect(settings.get('http_host')).toBeNull();
    expect(settings.get('paginate_by')).toBeNull();
    expect(settings.get('heartbeat_timeout_seconds')).toBe(2.5);
    expect(settings.list('cors_origins')).toEqual(['https://a.example', 'https://b.example']);
    expect(settings.get('explicit_permissions')).toBe(false);
  });

  it('apply to INI-only settings (multiauth, resource-specific) but never invent settings', () => {
    const { settings } = loadConfig({
      iniText: `${MEMORY_INI}kinto.blog_record_cache_expires_seconds = 10\nmultiauth.policies = basicauth\n`,
      env: { KINTO_BLOG_RECORD_CACHE_EXPIRES_SECONDS: '60', MULTIAUTH_POLICIES: 'account basicauth', KINTO_NOT_A_SETTING: 'x' },
    });
    expect(settings.get('blog_record_cache_expires_seconds')).toBe(60);
    expect(settings.list('multiauth.policies')).toEqual(['account', 'basicauth']);
    expect(settings.has('not_a_setting')).toBe(false);
  });

  it('choose the file (KINTO_INI) and the port (PORT)', async () => {
    const iniPath = join(scratch, 'env.ini');
    writeFileSync(iniPath, `${MEMORY_INI}kinto.project_name = from-file\n[server:main]\nhost = 127.0.0.1\nport = 8000\n`);
    const app = await start({ env: { KINTO_INI: iniPath, PORT: '9000' } });
    const body = await hello(app);
    expect(body.project_name).toBe('from-file');
    expect(body.config.path).toBe(iniPath);
    expect(app.kinto.config.server).toEqual({ host: '127.0.0.1', port: 9000 });
  });
});
