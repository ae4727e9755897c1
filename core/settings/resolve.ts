/**
 * Where a setting's value comes from, Kinto's way (`load_default_settings` +
 * `read_env`): the declared default, then the INI file, then `NAME`, then
 * `KINTO_NAME` from the environment, then programmatic overrides. A setting that
 * has neither a default nor an INI entry is not looked up in the environment.
 */
import { SettingsError } from './ini.ts';
import { InvalidSettingValue, nativeValue, type SettingsGroup, type SettingSpec } from './schema.ts';
import { Settings, unprefixed, type SettingValue } from './settings.ts';

export type Env = Record<string, string | undefined>;

export interface IniEntry {
  /** The name as written in the file (`kinto.batch_max_requests`). */
  readonly written: string;
  readonly text: string;
}

/** Everything settings are resolved from, kept so plugins' settings resolve the same way later. */
export interface SettingSources {
  /** The INI file, for messages (null for INI text or no file). */
  readonly file: string | null;
  /** `[app:main]` entries by unprefixed name. */
  readonly ini: ReadonlyMap<string, IniEntry>;
  readonly env: Readonly<Env>;
  /** Programmatic overrides by unprefixed name (tests, CLI flags). */
  readonly overrides: Readonly<Record<string, SettingValue>>;
}

interface Candidate {
  /** A native value (defaults, non-text overrides)... */
  value?: SettingValue;
  /** ...or text to convert (INI, environment, text overrides). */
  text?: string;
  origin: string;
}

function envNames(key: string): string[] {
  const name = key.replace(/[.-]/g, '_').toUpperCase();
  return [name, `KINTO_${name}`];
}

function candidateOf(sources: SettingSources, key: string, fallback: SettingValue | undefined): Candidate | undefined {
  let found: Candidate | undefined = fallback === undefined ? undefined : { value: fallback, origin: 'default' };
  const entry = sources.ini.get(key);
  if (entry !== undefined) found = { text: entry.text, origin: `'${entry.written}' in ${sources.file ?? 'the INI text'}` };
  if (found !== undefined) {
    for (const name of envNames(key)) {
      const text = sources.env[name];
      if (text !== undefined) found = { text, origin: `environment variable ${name}` };
    }
  }
  if (Object.hasOwn(sources.overrides, key)) {
    const value = sources.overrides[key];
    found = typeof value === 'string' ? { text: value, origin: 'override' } : { value, origin: 'override' };
  }
  return found;
}

export type Resolution = { value: SettingValue; problem?: undefined } | { value?: undefined; problem: string };

/** The value of one setting, converted and checked by its declaration when it has one. */
export function resolveSetting(
  sources: SettingSources,
  key: string,
  fallback: SettingValue | undefined,
  spec: SettingSpec | undefined,
): Resolution | undefined {
  const found = candidateOf(sources, key, fallback);
  if (found === undefined) return undefined;
  const raw = found.text === undefined ? found.value! : spec === undefined ? nativeValue(found.text) : spec.fromText(found.text);
  if (spec === undefined) return { value: raw };
  try {
    return { value: spec.normalize(raw) };
  } catch (error) {
    if (!(error instanceof InvalidSettingValue)) throw error;
    const from = found.origin === 'default' ? 'its default' : found.origin;
    return { problem: `Setting '${key}' ${error.message} (from ${from})` };
  }
}

/** One start-up error listing every invalid setting. */
export function failOnProblems(problems: readonly string[]): void {
  if (problems.length === 1) throw new SettingsError(problems[0]);
  if (problems.length > 1) throw new SettingsError(`${problems.length} invalid settings:\n  ${problems.join('\n  ')}`);
}

/**
 * Every setting that exists (declared defaults, INI entries, overrides), resolved;
 * `specFor` gives the declaration of a name, if any.
 */
export function resolveAll(
  sources: SettingSources,
  defaults: Readonly<Record<string, SettingValue>>,
  specFor: (key: string) => SettingSpec | undefined,
): Record<string, SettingValue> {
  const keys = new Set([...Object.keys(defaults), ...sources.ini.keys(), ...Object.keys(sources.overrides)]);
  const values: Record<string, SettingValue> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const fallback = Object.hasOwn(defaults, key) ? defaults[key] : undefined;
    const resolved = resolveSetting(sources, key, fallback, specFor(key));
    if (resolved === undefined) continue;
    if (resolved.problem !== undefined) problems.push(resolved.problem);
    else values[key] = resolved.value;
  }
  failOnProblems(problems);
  return values;
}

/**
 * `base` plus the settings of `groups` (plugins), resolved from the same sources:
 * their defaults filled, environment read, values checked.
 */
export function extendSettings(base: Settings, sources: SettingSources, groups: readonly SettingsGroup[]): Settings {
  const values = base.toJSON();
  const problems: string[] = [];
  const apply = (key: string, spec: SettingSpec, fallback: SettingValue | undefined) => {
    const resolved = resolveSetting(sources, key, fallback, spec);
    if (resolved === undefined) return;
    if (resolved.problem !== undefined) problems.push(resolved.problem);
    else values[key] = resolved.value;
  };
  for (const group of groups) {
    for (const [key, spec] of group.entries()) apply(key, spec, spec.default);
    for (const key of [...sources.ini.keys(), ...Object.keys(sources.overrides)]) {
      const pattern = group.patterns.find((p) => p.pattern.test(key));
      if (pattern !== undefined && group.specFor(key) === pattern.spec) apply(key, pattern.spec, undefined);
    }
  }
  failOnProblems(problems);
  return new Settings(values);
}

/** Overrides by unprefixed name. */
export function unprefixedOverrides(overrides: Record<string, SettingValue>): Record<string, SettingValue> {
  return Object.fromEntries(Object.entries(overrides).map(([key, value]) => [unprefixed(key), value]));
}
