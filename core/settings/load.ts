/**
 * Builds the server configuration the way Kinto does at startup
 * (`load_default_settings` + `read_env`): INI `[app:main]` values, unprefixed,
 * filled with the declared defaults, converted and checked against the
 * declarations (core/settings/catalog), then overridden from the environment.
 * Entries only the Python server understood are reported in `warnings`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { CORE_DEFAULTS, coreSpecFor } from './catalog/index.ts';
import { parseIni, SettingsError } from './ini.ts';
import type { IniSections } from './ini.ts';
import { readLoggingLevels, type LoggingLevels } from './logging.ts';
import { pythonOnlyWarnings } from './python-only.ts';
import { resolveAll, unprefixedOverrides, type Env, type IniEntry, type SettingSources } from './resolve.ts';
import { Settings, unprefixed, type SettingValue } from './settings.ts';

export { SettingsError } from './ini.ts';
export { nativeValue } from './schema.ts';
export { Settings, unprefixed } from './settings.ts';
export type { SettingValue } from './settings.ts';
export type { LoggingLevels, PinoLevel } from './logging.ts';
export type { SettingSources } from './resolve.ts';

export interface LoadOptions {
  iniPath?: string;
  iniText?: string;
  env?: Record<string, string | undefined>;
  overrides?: Record<string, SettingValue>;
}

export interface ServerConfig {
  host: string;
  port: number;
}

export interface LoadedConfig {
  settings: Settings;
  server: ServerConfig;
  iniPath: string | null;
  iniHash: string | null;
  iniModified: string | null;
  /** Start-up warnings (ignored Python-only entries...), logged once the server is built. */
  warnings: string[];
  /** Levels of the INI logging sections, for the logger. */
  logging: LoggingLevels;
  /** Where settings came from, to resolve plugins' settings the same way. */
  sources: SettingSources;
}

const SETTINGS_PREFIX = 'kinto.';
const DEFAULT_SERVER: ServerConfig = Object.freeze({ host: '0.0.0.0', port: 8888 });
// `kinto init` writes `port = %(http_port)s`; `kinto start` supplies the value.
const DEFAULT_HTTP_PORT = '8888';
const INTEGER = /^[+-]?\d+$/;

/** Adds a warning unless the same one is already there (a config may build several apps). */
export function addWarning(config: Pick<LoadedConfig, 'warnings'>, warning: string): void {
  if (!config.warnings.includes(warning)) config.warnings.push(warning);
}

interface IniSource {
  path: string | null;
  text: string | null;
  hash: string | null;
  modified: string | null;
}

function readIniSource(options: LoadOptions, env: Env): IniSource {
  const requested = options.iniPath ?? env.KINTO_INI;
  const path = requested === undefined || requested === '' ? null : resolve(requested);
  if (options.iniText !== undefined) {
    return { path, text: options.iniText, hash: sha256(Buffer.from(options.iniText, 'utf8')), modified: null };
  }
  if (path === null) return { path: null, text: null, hash: null, modified: null };
  let bytes: Buffer;
  let modified: Date;
  try {
    bytes = readFileSync(path);
    modified = statSync(path).mtime;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SettingsError(`Configuration file not found: ${path}`);
    throw new SettingsError(`Cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  return { path, text, hash: sha256(bytes), modified: modified.toISOString() };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseSource(source: IniSource): IniSections {
  if (source.text === null) return new Map();
  const here = source.path === null ? process.cwd() : dirname(source.path);
  return parseIni(source.text, {
    here,
    fileName: source.path ?? undefined,
    vars: { http_port: DEFAULT_HTTP_PORT },
  });
}

/** The name of the `[app:main]` section, following a `[pipeline:main]` to its app like PasteDeploy. */
function findAppSection(sections: IniSections, source: IniSource): string | null {
  if (source.text === null) return null;
  for (const name of ['app:main', 'application:main']) if (sections.has(name)) return name;
  const pipeline = sections.get('pipeline:main')?.get('pipeline')?.split(/\s+/).filter(Boolean);
  const appName = pipeline?.at(-1);
  if (appName !== undefined && sections.has(`app:${appName}`)) return `app:${appName}`;
  throw new SettingsError(`No [app:main] section found in ${source.path ?? 'the INI text'}`);
}

/** App settings as PasteDeploy hands them to Kinto: raw strings, without `use`/globals. */
function appSettings(sections: IniSections, appSection: string | null): Map<string, string> {
  if (appSection === null) return new Map();
  const app = sections.get(appSection)!;
  const globals = sections.get('DEFAULT') ?? new Map<string, string>();
  const result = new Map<string, string>();
  for (const [key, value] of app) {
    // PasteDeploy drops these: `use` picks the app, `set`/`get` touch globals,
    // and keys also in [DEFAULT] are treated as globals.
    if (key === 'use' || key === 'require' || key === 'filter-with' || key.startsWith('set ')) continue;
    if (globals.has(key) || key === 'here' || key === '__file__') continue;
    if (key.startsWith('get ')) {
      const global = globals.get(value);
      if (global !== undefined) result.set(key.slice(4).trim(), global);
      continue;
    }
    result.set(key, value);
  }
  return result;
}

function checkConflicts(raw: Map<string, string>): void {
  for (const [key, value] of raw) {
    if (!key.startsWith(SETTINGS_PREFIX)) continue;
    const plain = unprefixed(key);
    const other = raw.get(plain);
    if (other !== undefined && other !== value) {
      throw new SettingsError(`Settings '${plain}', '${key}' are in conflict.`);
    }
  }
}

function iniEntries(raw: Map<string, string>): Map<string, IniEntry> {
  checkConflicts(raw);
  const entries = new Map<string, IniEntry>();
  for (const [written, text] of raw) entries.set(unprefixed(written), { written, text });
  return entries;
}

function serverConfig(sections: IniSections, env: Env): ServerConfig {
  const section = sections.get('server:main') ?? new Map<string, string>();
  const host = section.get('host') || DEFAULT_SERVER.host;
  const rawPort = env.PORT ?? section.get('port') ?? String(DEFAULT_SERVER.port);
  const port = Number(rawPort.trim());
  if (!INTEGER.test(rawPort.trim()) || port < 0 || port > 65535) {
    throw new SettingsError(`Invalid server port: ${JSON.stringify(rawPort)}`);
  }
  return Object.freeze({ host, port });
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const source = readIniSource(options, env);
  const sections = parseSource(source);
  const appSection = findAppSection(sections, source);
  const sources: SettingSources = {
    file: source.path,
    ini: iniEntries(appSettings(sections, appSection)),
    env,
    overrides: unprefixedOverrides(options.overrides ?? {}),
  };
  const settings = new Settings(resolveAll(sources, CORE_DEFAULTS, coreSpecFor));
  const warnings = pythonOnlyWarnings({ sections, appSection, ini: sources.ini, settings });
  const logging = readLoggingLevels(sections, warnings);
  return {
    settings,
    server: serverConfig(sections, env),
    iniPath: source.path,
    iniHash: source.hash,
    iniModified: source.modified,
    warnings,
    logging,
    sources,
  };
}
