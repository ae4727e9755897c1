/**
 * What a Kinto INI file may hold that only the Python server understood: Pyramid
 * and WSGI options, Python class names, agents and profilers. Such entries do not
 * stop this server; each gets one warning saying it is ignored and why.
 */
import type { IniSections } from './ini.ts';
import type { IniEntry } from './resolve.ts';
import type { Settings } from './settings.ts';
import { DEFAULT_AUTHORIZATION_POLICIES, DEFAULT_GROUPFINDER, POLICY_OPTIONS } from './catalog/backends.ts';

export interface PythonOnlyInput {
  readonly sections: IniSections;
  /** Name of the section the app settings came from (`app:main`). */
  readonly appSection: string | null;
  /** App settings given in the file, by unprefixed name. */
  readonly ini: ReadonlyMap<string, IniEntry>;
  /** The resolved settings (`multiauth.policies`, policy classes given by default). */
  readonly settings: Settings;
}

const PYTHON_NAMESPACES: readonly [string, string][] = [
  ['pyramid.', 'it configures Pyramid, the Python web framework'],
  ['pyramid_', 'it configures a Pyramid (Python) add-on'],
  ['tm.', 'it configures pyramid_tm (Python transactions); requests use one transaction each'],
  ['retry.', 'it configures pyramid_retry (Python)'],
  ['cornice.', 'it configures Cornice (Python)'],
  ['cornice_swagger.', 'it configures Cornice Swagger (Python)'],
  ['debugtoolbar.', 'it configures the Pyramid debug toolbar (Python)'],
];

const PYTHON_SETTINGS: Readonly<Record<string, string>> = {
  json_renderer: 'responses are always serialised by this server (canonical JSON)',
  newrelic_config: 'the New Relic Python agent is not available; use Sentry, StatsD or Prometheus',
  newrelic_env: 'the New Relic Python agent is not available; use Sentry, StatsD or Prometheus',
  profiler_enabled: 'the Python profiler is not available; run Node with --cpu-prof instead',
  profiler_dir: 'the Python profiler is not available; run Node with --cpu-prof instead',
  initialization_sequence: 'it lists Python start-up functions; the start-up steps are fixed',
  handle_exceptions: 'it configures Cornice (Python)',
  available_languages: 'it configures Pyramid translations (Python)',
};

/** Python dotted names with the value that keeps Kinto's built-in behaviour. */
const PYTHON_CLASSES: Readonly<Record<string, readonly string[]>> = {
  settings_prefix: ['kinto'],
  statsd_backend: ['kinto.core.statsd'],
  id_generator: ['kinto.core.storage.generators.UUID4'],
  bucket_id_generator: ['kinto.views.NameGenerator'],
  collection_id_generator: ['kinto.views.NameGenerator'],
  group_id_generator: ['kinto.views.NameGenerator'],
  record_id_generator: ['kinto.views.RelaxedUUID'],
  'multiauth.authorization_policy': DEFAULT_AUTHORIZATION_POLICIES,
  'multiauth.groupfinder': [DEFAULT_GROUPFINDER],
};

const KNOWN_MULTIAUTH = new Set(['multiauth.policies', 'multiauth.authorization_policy', 'multiauth.groupfinder']);
const LOGGING_SECTION = /^(loggers|handlers|formatters|logger_.+|handler_.+|formatter_.+)$/;
const SERVER_OPTIONS = new Set(['use', 'host', 'port']);
const KINTO_APPS = new Set(['egg:kinto', 'egg:kinto#main', 'call:kinto:main']);
const WAITRESS = new Set(['egg:waitress', 'egg:waitress#main']);

function ignored(written: string, why: string): string {
  return `Setting '${written}' is ignored: ${why}.`;
}

function settingWarning(key: string, entry: IniEntry): string | null {
  const namespace = PYTHON_NAMESPACES.find(([prefix]) => key.startsWith(prefix));
  if (namespace !== undefined) return ignored(entry.written, namespace[1]);
  if (Object.hasOwn(PYTHON_SETTINGS, key)) return ignored(entry.written, PYTHON_SETTINGS[key]);
  const builtin = PYTHON_CLASSES[key];
  if (builtin !== undefined && !builtin.includes(entry.text.trim())) {
    return ignored(entry.written, `it names Python code ('${entry.text.trim()}'); the built-in ${builtin[0]} is used`);
  }
  return null;
}

/** `multiauth.*` entries pyramid_multiauth read but nothing here does. */
function multiauthWarnings(input: PythonOnlyInput): string[] {
  const warnings: string[] = [];
  const unlisted = new Set<string>();
  const policies = input.settings.list('multiauth.policies');
  for (const [key, entry] of input.ini) {
    if (!key.startsWith('multiauth.') || KNOWN_MULTIAUTH.has(key)) continue;
    const option = /^multiauth\.policy\.([^.]+)\.(.+)$/.exec(key);
    if (option === null) {
      warnings.push(ignored(entry.written, 'it is a pyramid_multiauth (Python) option'));
    } else if (!policies.includes(option[1])) {
      unlisted.add(option[1]);
    } else if (option[2] !== 'use') {
      const use = input.settings.str(`multiauth.policy.${option[1]}.use`).trim();
      const known = POLICY_OPTIONS[use];
      if (known !== undefined && !known.includes(option[2])) {
        warnings.push(ignored(entry.written, `${use} has no option '${option[2]}'`));
      }
    }
  }
  for (const name of unlisted) {
    warnings.push(`Settings 'multiauth.policy.${name}.*' are ignored: '${name}' is not listed in multiauth.policies.`);
  }
  return warnings;
}

function sectionWarnings(input: PythonOnlyInput): string[] {
  const warnings: string[] = [];
  for (const [name, values] of input.sections) {
    if (name === input.appSection) {
      const use = values.get('use')?.trim();
      if (use !== undefined && !KINTO_APPS.has(use)) {
        warnings.push(`[${name}] use = ${use} is ignored: this server always runs Kinto.`);
      }
    } else if (name === 'server:main') {
      const use = values.get('use')?.trim();
      if (use !== undefined && !WAITRESS.has(use)) {
        warnings.push(`[server:main] use = ${use} is ignored: the HTTP server is built in (only host and port are read).`);
      }
      for (const key of values.keys()) {
        if (!SERVER_OPTIONS.has(key)) warnings.push(`[server:main] ${key} is ignored: the built-in HTTP server only reads host and port.`);
      }
    } else if (name !== 'DEFAULT' && name !== 'pipeline:main' && !LOGGING_SECTION.test(name)) {
      warnings.push(`Section [${name}] is ignored: ${name === 'uwsgi' ? 'it configures uWSGI, a Python server' : 'this server does not read it'}.`);
    }
  }
  return warnings;
}

/** Whether `key` is covered by the rules above (warned about here, or harmless). */
export function isPythonOnly(key: string): boolean {
  return (
    key.startsWith('multiauth.') ||
    PYTHON_NAMESPACES.some(([prefix]) => key.startsWith(prefix)) ||
    Object.hasOwn(PYTHON_SETTINGS, key) ||
    Object.hasOwn(PYTHON_CLASSES, key)
  );
}

/** One warning per Python-only entry of the file. */
export function pythonOnlyWarnings(input: PythonOnlyInput): string[] {
  const warnings: string[] = [];
  for (const [key, entry] of input.ini) {
    const warning = settingWarning(key, entry);
    if (warning !== null) warnings.push(warning);
  }
  return [...warnings, ...multiauthWarnings(input), ...sectionWarnings(input)];
}
