/** Entries only the Python server understood, and settings nothing reads: one warning each. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { FIXTURES, MEMORY_INI, start } from './helpers.ts';

const warningsOf = (lines: string) => loadConfig({ iniText: `${MEMORY_INI}${lines}\n`, env: {} }).warnings;

describe('Python-only settings', () => {
  it('each give one warning saying why they are ignored', () => {
    const warnings = warningsOf(
      [
        'pyramid.debug_notfound = true',
        'pyramid.includes = pyramid_debugtoolbar',
        'tm.annotate_user = false',
        'kinto.json_renderer = ultrajson',
        'kinto.newrelic_config = /etc/newrelic.ini',
        'kinto.profiler_enabled = true',
        'kinto.initialization_sequence = kinto.core.initialization.setup_storage',
        'kinto.record_id_generator = myproject.generators.Ids',
        'multiauth.authorization_policy = myproject.authz.Policy',
      ].join('\n'),
    );
    expect(warnings).toEqual([
      "Setting 'pyramid.debug_notfound' is ignored: it configures Pyramid, the Python web framework.",
      "Setting 'pyramid.includes' is ignored: it configures Pyramid, the Python web framework.",
      "Setting 'tm.annotate_user' is ignored: it configures pyramid_tm (Python transactions); requests use one transaction each.",
      "Setting 'kinto.json_renderer' is ignored: responses are always serialised by this server (canonical JSON).",
      "Setting 'kinto.newrelic_config' is ignored: the New Relic Python agent is not available; use Sentry, StatsD or Prometheus.",
      "Setting 'kinto.profiler_enabled' is ignored: the Python profiler is not available; run Node with --cpu-prof instead.",
      "Setting 'kinto.initialization_sequence' is ignored: it lists Python start-up functions; the start-up steps are fixed.",
      "Setting 'kinto.record_id_generator' is ignored: it names Python code ('myproject.generators.Ids'); the built-in kinto.views.RelaxedUUID is used.",
      "Setting 'multiauth.authorization_policy' is ignored: it names Python code ('myproject.authz.Policy'); the built-in kinto.authorization.AuthorizationPolicy is used.",
    ]);
  });

  it("are silent when they name Kinto's built-in behaviour", () => {
    const warnings = warningsOf(
      'kinto.bucket_id_generator = kinto.views.NameGenerator\nkinto.settings_prefix = kinto\n' +
        'multiauth.groupfinder = kinto.core.authorization.groupfinder\nkinto.statsd_backend = kinto.core.statsd',
    );
    expect(warnings).toEqual([]);
  });

  it('cover multiauth options nothing reads', () => {
    const warnings = warningsOf(
      [
        'multiauth.policies = basicauth',
        'multiauth.policy.basicauth.realm = Kinto',
        'multiauth.policy.ldap.use = kinto_ldap.authentication.LDAPBasicAuthAuthenticationPolicy',
        'multiauth.policy.ldap.realm = LDAP',
        'multiauth.debug = true',
      ].join('\n'),
    );
    expect(warnings).toEqual([
      "Setting 'multiauth.policy.basicauth.realm' is ignored: kinto.core.authentication.BasicAuthAuthenticationPolicy has no option 'realm'.",
      "Setting 'multiauth.debug' is ignored: it is a pyramid_multiauth (Python) option.",
      "Settings 'multiauth.policy.ldap.*' are ignored: 'ldap' is not listed in multiauth.policies.",
    ]);
  });

  it('cover sections and server options of the Python WSGI stack', () => {
    const warnings = loadConfig({
      env: {},
      iniText:
        '[app:main]\nuse = egg:kinto_dist\n[server:main]\nuse = egg:gunicorn#main\nhost = 0.0.0.0\nport = 8000\nworkers = 4\n' +
        '[uwsgi]\nprocesses = 3\n[filter:translogger]\nuse = egg:Paste#translogger\n',
    }).warnings;
    expect(warnings).toEqual([
      '[app:main] use = egg:kinto_dist is ignored: this server always runs Kinto.',
      '[server:main] use = egg:gunicorn#main is ignored: the HTTP server is built in (only host and port are read).',
      '[server:main] workers is ignored: the built-in HTTP server only reads host and port.',
      'Section [uwsgi] is ignored: it configures uWSGI, a Python server.',
      'Section [filter:translogger] is ignored: this server does not read it.',
    ]);
  });

  it('do not stop the server, and each warning is logged once at start-up', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({ iniText: `${MEMORY_INI}pyramid.reload_templates = true\n`, env: {} });
    const app = await buildApp(config, { logger: { level: 'warn', stream } });
    await app.ready();
    const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40);
    expect(logged.map((entry) => entry.msg)).toEqual([
      "Setting 'pyramid.reload_templates' is ignored: it configures Pyramid, the Python web framework.",
    ]);
    await app.close();
    const again = await buildApp(config);
    expect(again.kinto.config.warnings).toHaveLength(1);
    await again.close();
  });
});

describe('settings nothing reads', () => {
  it('name a likely typo', async () => {
    const app = await start({ iniText: `${MEMORY_INI}kinto.bath_max_requests = 5\n` });
    expect(app.kinto.config.warnings).toEqual([
      "Setting 'kinto.bath_max_requests' is ignored: neither the core nor an included plugin reads it (check its spelling).",
    ]);
  });

  it("name the plugin that is not included, once per plugin", async () => {
    const app = await start({
      iniText: `${MEMORY_INI}kinto.history.exclude_user_ids = bob\nkinto.history.auto_trim_max_count = 10\nkinto.flush_endpoint_enabled = true\n`,
    });
    expect(app.kinto.config.warnings).toEqual([
      "Settings 'kinto.history.exclude_user_ids', 'kinto.history.auto_trim_max_count' are ignored: plugin 'history' (kinto.plugins.history) is not included (kinto.includes).",
      "Setting 'kinto.flush_endpoint_enabled' is ignored: plugin 'flush' (kinto.plugins.flush) is not included (kinto.includes).",
    ]);
  });

  it("name a setting a plugin does not declare in its namespace", async () => {
    const app = await start({
      iniText: `${MEMORY_INI}kinto.includes = ${FIXTURES}greeter-plugin.ts\nkinto.greeter.gretting = hi\n`,
    });
    expect(app.kinto.config.warnings).toEqual([
      "Setting 'kinto.greeter.gretting' is ignored: plugin 'greeter' has no such setting (check its spelling).",
    ]);
  });

  it('are quiet for settings with a resource in their name and for included plugins', async () => {
    const app = await start({
      iniText:
        `${MEMORY_INI}kinto.includes = kinto.plugins.flush kinto.plugins.history\nkinto.flush_endpoint_enabled = true\n` +
        'kinto.history.auto_trim_max_count = 10\nkinto.blog.record_cache_expires_seconds = 60\n' +
        'kinto.plural_record_delete_enabled = false\nkinto.group_write_principals = system.Authenticated\n',
    });
    expect(app.kinto.config.warnings).toEqual([]);
  });
});
